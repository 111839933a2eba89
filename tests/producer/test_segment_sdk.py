"""segment-analytics-python 2.4.0 pointed at us works unchanged: its exact HTTP requests, captured
from a local server, go through the handler and every event lands in Kinesis once."""

from __future__ import annotations

import gzip as gzip_module
import json
from datetime import UTC, datetime

import pytest
from segment.analytics.client import Client

from tests.producer.conftest import RECEIVED_AT, Producer
from tests.producer.http_events import SITE, WRITE_KEY, api_request
from tests.producer.recording_server import CapturedRequest, recording_server

CLIENT_TIME = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)


def capture_sdk_requests(gzip: bool, monkeypatch: pytest.MonkeyPatch) -> list[CapturedRequest]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with recording_server() as (url, captured):
        client = Client(WRITE_KEY, host=url, gzip=gzip, upload_size=25, max_retries=0)
        for n in range(30):
            client.track(f"user-{n}", "Product Viewed", {"price": 9.5}, message_id=f"t-{n}")
        client.identify(42, {"plan": "pro"}, message_id="i-1")
        client.page(anonymous_id="anon-1", name="Home", properties={"path": "/"}, message_id="p-1")
        client.screen("user-1", name="Cart", timestamp=CLIENT_TIME, message_id="s-1")
        client.group("user-1", "group-9", {"name": "Acme"}, message_id="g-1")
        client.alias("anon-1", "user-1", message_id="a-1")
        client.flush()
        client.join()
    return captured


def skew_corrected(message_id: str, captured: list[CapturedRequest]) -> str:
    """receivedAt - (sentAt - timestamp), from the batch the SDK sent the event in."""
    for request in captured:
        body = request.body
        batch = json.loads(gzip_module.decompress(body) if body[:2] == b"\x1f\x8b" else body)
        for event in batch["batch"]:
            if event["messageId"] == message_id:
                sent_at = datetime.fromisoformat(batch["sentAt"])
                moment = RECEIVED_AT - (sent_at - datetime.fromisoformat(event["timestamp"]))
                return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    raise AssertionError(f"{message_id} was never sent")


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_every_event_the_sdk_sends_is_stored_once(
    producer: Producer, monkeypatch: pytest.MonkeyPatch, gzip: bool
):
    captured = capture_sdk_requests(gzip, monkeypatch)
    assert len(captured) >= 2
    assert all(("content-encoding" in request.headers) == gzip for request in captured)

    answers = [producer.send(api_request(r.method, r.path, r.headers, r.body)) for r in captured]

    assert [answer.status for answer in answers] == [200] * len(captured)
    assert sum(answer.body["accepted"] for answer in answers) == 35
    stored = {event["messageId"]: event for event in producer.stream()}
    assert sorted(stored) == sorted(
        [f"t-{n}" for n in range(30)] + ["i-1", "p-1", "s-1", "g-1", "a-1"]
    )
    assert {event["site"] for event in stored.values()} == {SITE}
    assert stored["i-1"]["userId"] == "42"
    assert stored["s-1"]["timestamp"] == skew_corrected("s-1", captured)
    assert stored["a-1"]["previousId"] == "anon-1"
    assert stored["t-3"]["context"]["library"]["name"] == "analytics-python"
