"""`riptide collector` as a client sees it: HTTP in, events in the stream out.

Each test starts the real server (uvicorn, worker processes) on a free loopback port against
moto, sends browser-like load from many concurrent connections and reads the whole stream back
with aws-kinesis-agg. No timings are asserted: loads are bounded in time, checks are on counts.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from typing import Any

import pytest
import urllib3

from producer import handler
from riptide.contract import HEALTH_PATH, Env
from riptide.ingest.service import IngestService
from tests.collector.conftest import WRITE_KEY
from tests.producer.http_events import PRODUCER, api_request
from tools.local.aws import MotoServer, process_environment
from tools.local.collector_load import read_stream
from tools.local.faults import KinesisThrottle
from tools.local.http_load import HttpLoadPlan, LoadResult, run_http_load

http = urllib3.PoolManager(retries=False, timeout=30.0)


def basic(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def track(message_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Product Viewed", "anonymousId": "a-1", **fields} | {
        "messageId": message_id
    }


def assert_accepted_once(moto: MotoServer, stream: str, load: LoadResult) -> None:
    """Every event answered 200 is in the stream exactly once."""
    in_stream = read_stream(moto.client("kinesis"), stream).message_ids
    assert load.accepted_message_ids, "the load got no event accepted"
    missing = [m for m in load.accepted_message_ids if in_stream[m] == 0]
    twice = [m for m in load.accepted_message_ids if in_stream[m] > 1]
    assert (missing, twice) == ([], [])


def test_concurrent_single_event_requests_share_records_and_each_lands_once(moto, start_collector):
    collector, resources = start_collector(collector_linger_ms=50)

    load = run_http_load(collector.url, HttpLoadPlan(WRITE_KEY, duration_seconds=3, connections=48))

    assert set(load.statuses) == {200}
    assert_accepted_once(moto, resources.stream_name, load)
    figures = read_stream(moto.client("kinesis"), resources.stream_name)
    assert figures.events == load.requests
    assert figures.records < figures.events / 2  # requests shared records
    assert collector.stop() == 0


# ([GET ]path, body, headers): requests whose answers must be exactly the Lambda producer's.
SAME_ANSWERS = {
    "single call": ("/v1/track", json.dumps(track("m-1")).encode(), {}),
    "batch with a bad event": (
        "/v1/batch",
        json.dumps({"batch": [track("m-2"), {"type": "track", "messageId": "m-3"}]}).encode(),
        {},
    ),
    "gzip batch": (
        "/v1/batch",
        gzip.compress(json.dumps({"batch": [track("m-4"), track("m-5")]}).encode()),
        {"content-encoding": "gzip"},
    ),
    "write key in the body": (
        "/v1/page",
        json.dumps({**track("m-6"), "type": "page", "writeKey": WRITE_KEY}).encode(),
        {"authorization": None},
    ),
    "unknown write key": ("/v1/track", b"{}", {"authorization": basic("wk_nope")}),
    "no write key": ("/v1/track", json.dumps(track("m-7")).encode(), {"authorization": None}),
    "not json": ("/v1/batch", b"{not json", {}),
    "empty batch": ("/v1/batch", b'{"batch": []}', {}),
    "single event over the limit": (
        "/v1/track",
        json.dumps(track("m-8", properties={"pad": "x" * 40_000})).encode(),
        {},
    ),
    "unknown call": ("/v1/nope", json.dumps(track("m-10")).encode(), {}),
    "short path of a single call": ("/v1/t", json.dumps(track("m-11")).encode(), {}),
    "short path of a batch, text/plain as analytics-next sends it": (
        "/v1/b",
        json.dumps({"batch": [track("m-12")], "writeKey": WRITE_KEY}).encode(),
        {"content-type": "text/plain", "authorization": None},
    ),
    "SDK settings": (
        f"GET /v1/projects/{WRITE_KEY}/settings",
        b"",
        {"host": "api.example.com", "x-forwarded-proto": "https"},
    ),
    "SDK settings of an unknown key": (
        "GET /v1/projects/wk_nope/settings",
        b"",
        {"host": "api.example.com", "x-forwarded-proto": "https"},
    ),
    "brotli": ("/v1/batch", b"\x00", {"content-encoding": "br"}),
    "type contradicting the endpoint": (
        "/v1/identify",
        json.dumps(track("m-9")).encode(),
        {},
    ),
}


@pytest.fixture
def lambda_producer(moto, resources, monkeypatch) -> Any:
    """The Lambda handler in this process, on the same moto, with the stack's environment."""
    environment = {
        **process_environment(moto),
        Env.STREAM_NAME: resources.stream_name,
        Env.WRITE_KEYS_SECRET_ARN: resources.write_keys_secret_arn,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    service = IngestService.from_env(handler.metrics, handler.logger, handler.tracer)
    monkeypatch.setattr(handler, "service", lambda: service)

    def answer(
        method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        response = handler.handler(
            api_request(method, path, headers, body), PRODUCER.frozen_context()
        )
        return (
            response["statusCode"],
            json.loads(response["body"]),
            response["headers"].get("Retry-After"),
        )

    return answer


@pytest.mark.parametrize("case", SAME_ANSWERS)
def test_the_collector_answers_exactly_as_the_lambda_producer(
    case, start_collector, lambda_producer
):
    collector, _ = start_collector(workers=1)
    route, body, extra = SAME_ANSWERS[case]
    method, _, path = route.rpartition(" ")
    method = method or "POST"
    headers = {"content-type": "application/json", "authorization": basic(WRITE_KEY)}
    headers.update(extra)
    headers = {name: value for name, value in headers.items() if value is not None}

    response = http.request(method, collector.url + path, body=body or None, headers=headers)

    assert (
        response.status,
        json.loads(response.data),
        response.headers.get("Retry-After"),
    ) == lambda_producer(method, path, body, headers)


def test_health_unknown_paths_and_cors_preflight(start_collector):
    collector, _ = start_collector(workers=1)

    health = http.request("GET", collector.url + HEALTH_PATH)
    unknown = http.request("POST", collector.url + "/v1/nope", body=b"{}")
    preflight = http.request(
        "OPTIONS",
        collector.url + "/v1/batch",
        headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"},
    )

    assert (health.status, json.loads(health.data)) == (200, {"status": "ok"})
    assert unknown.status == 404
    assert "/v1/batch" in json.loads(unknown.data)["message"]
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_under_throttling_and_partial_failures_every_200_lands_once_and_errors_say_when(
    moto, start_collector
):
    """Fault injection: the KinesisThrottle proxy throttles whole PutRecords calls and fails
    some records of others; the publish budget is short so failures reach the clients."""
    with KinesisThrottle(moto.endpoint_url, call_share=0.3, record_share=0.3, seed=3) as throttle:
        throttle.turn_on()
        collector, resources = start_collector(
            kinesis_endpoint_url=throttle.url, collector_publish_budget_seconds=0.05
        )
        load = run_http_load(
            collector.url,
            HttpLoadPlan(WRITE_KEY, duration_seconds=3, connections=32, events_per_request=3),
        )
        throttle.turn_off()

    assert throttle.records_failed > 0 and throttle.calls_throttled > 0
    assert load.statuses[200] > 0
    assert set(load.statuses) <= {200, 429}
    assert load.statuses[429] > 0
    assert_accepted_once(moto, resources.stream_name, load)


def test_a_throttled_answer_says_when_to_come_back(moto, start_collector):
    with KinesisThrottle(moto.endpoint_url, call_share=1.0, record_share=0.0) as throttle:
        throttle.turn_on()
        collector, _ = start_collector(
            kinesis_endpoint_url=throttle.url, collector_publish_budget_seconds=0.05, workers=1
        )
        response = http.request(
            "POST",
            collector.url + "/v1/track",
            body=json.dumps(track("m-throttled")).encode(),
            headers={"authorization": basic(WRITE_KEY)},
        )

    assert response.status == 429
    assert json.loads(response.data)["code"] == "kinesis_throttled"
    assert response.headers["Retry-After"] == "1"
    assert response.headers["X-RateLimit-Reset"] == "1"


def test_sigterm_mid_load_loses_no_accepted_event(moto, start_collector):
    # A long linger: at SIGTERM, accepted events are still waiting to be flushed.
    collector, resources = start_collector(collector_linger_ms=1000)
    results: list[LoadResult] = []
    sender = threading.Thread(
        target=lambda: results.append(
            run_http_load(
                collector.url, HttpLoadPlan(WRITE_KEY, duration_seconds=4, connections=32)
            )
        )
    )
    sender.start()
    while not collector.cpu_seconds():  # until the server has taken some requests
        time.sleep(0.05)
    time.sleep(1.0)

    exit_code = collector.stop()
    sender.join()

    assert exit_code == 0
    (load,) = results
    assert load.statuses[200] > 0
    assert_accepted_once(moto, resources.stream_name, load)


def test_only_the_configured_origins_may_read_answers(start_collector):
    collector, _ = start_collector(workers=1, cors_allow_origins="https://shop.example.com")
    body = json.dumps(track("m-cors")).encode()
    headers = {"authorization": basic(WRITE_KEY)}

    allowed = http.request(
        "POST", collector.url + "/v1/track", body=body,
        headers={**headers, "Origin": "https://shop.example.com"},
    )  # fmt: skip
    other = http.request(
        "POST", collector.url + "/v1/track", body=body,
        headers={**headers, "Origin": "https://evil.example.net"},
    )  # fmt: skip

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "Access-Control-Allow-Origin" not in other.headers
