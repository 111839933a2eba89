"""The short paths the browser and mobile SDKs post to (/v1/t ... /v1/b) answer exactly as the
long names do, read text/plain bodies as JSON, and the SDK settings point the SDKs at us."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.producer.conftest import OTHER_WRITE_KEY, Producer
from tests.producer.http_events import SITE, WRITE_KEY, http_event, track

SHORT_TO_LONG = {
    "b": "batch",
    "t": "track",
    "p": "page",
    "i": "identify",
    "g": "group",
    "a": "alias",
    "s": "screen",
}
TEXT_PLAIN = {"content-type": "text/plain"}


def valid_event(call: str) -> dict[str, Any]:
    """A valid event for the single call `call`."""
    event = track(1, type=call, messageId="m-1")
    if call != "track":
        event.pop("event")
    if call == "alias":
        event["previousId"] = "anon-1"
    return event


def answer_of(producer: Producer, path: str, body: Any, **options: Any) -> tuple[int, Any]:
    answer = producer.post(path, body, **options)
    body = dict(answer.body or {})
    body.pop("message", None)
    return answer.status, body


def answers(
    make_producer, path: str, bodies: list[Any], **options: Any
) -> tuple[list[tuple[int, Any]], Producer]:
    """The answers of a fresh producer (the handler serves the latest one made) to `bodies`."""
    producer: Producer = make_producer(max_batch_events=3)
    return [answer_of(producer, path, body, **options) for body in bodies], producer


@pytest.mark.parametrize("short", sorted(set(SHORT_TO_LONG) - {"b"}))
def test_a_single_call_short_path_is_its_long_name(make_producer, short: str):
    long_name = SHORT_TO_LONG[short]
    good = valid_event(long_name)
    bodies = [
        good,
        {**good, "type": "page" if long_name != "page" else "track"},  # contradicts the path
        {**good, "properties": {"pad": "x" * 40_000}},  # over the event limit
    ]

    via_short, producer = answers(make_producer, f"/v1/{short}", bodies, headers=TEXT_PLAIN)
    via_long, _ = answers(make_producer, f"/v1/{long_name}", bodies)

    assert via_short == via_long
    assert [status for status, _ in via_short] == [200, 400, 413]
    [stored] = producer.stream()
    assert (stored["type"], stored["site"]) == (long_name, SITE)


def test_b_is_batch_with_the_same_limits(make_producer):
    bodies = [
        {"batch": batch} for batch in ([track(1), track(2)], [track(i) for i in range(4)], [])
    ]

    via_short, producer = answers(make_producer, "/v1/b", bodies, headers=TEXT_PLAIN)
    via_long, _ = answers(make_producer, "/v1/batch", bodies)

    assert via_short == via_long
    assert [status for status, _ in via_short] == [200, 413, 400]
    assert sorted(e["messageId"] for e in producer.stream()) == ["msg-00001", "msg-00002"]


def test_the_browser_sdks_standard_request_is_stored(producer: Producer):
    """As recorded from analytics-next 1.84.3: text/plain, write key in body and Basic auth,
    sentAt in the event, userId null for an anonymous shopper."""
    body = {
        "timestamp": "2026-11-27T16:30:00.000Z",
        "integrations": {},
        "event": "Product Viewed",
        "type": "track",
        "properties": {"price": 9.5},
        "context": {"page": {"path": "/"}, "library": {"name": "analytics.js"}},
        "messageId": "ajs-next-1796126715770-d35ccc24",
        "anonymousId": "5352d35c-cc24-4271-9dab-133f54e51c14",
        "writeKey": WRITE_KEY,
        "userId": None,
        "sentAt": "2026-11-27T16:30:00.006Z",
        "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []},
    }

    answer = producer.post("/v1/t", body, headers=TEXT_PLAIN)

    assert answer.status == 200
    [stored] = producer.stream()
    assert stored["messageId"] == "ajs-next-1796126715770-d35ccc24"
    assert "writeKey" not in stored


@pytest.mark.parametrize(
    ("in_body", "in_header"),
    [(True, False), (False, True), (True, True)],
    ids=["key-in-body", "basic-auth", "both"],
)
def test_mobile_sdk_batches_land_once(producer: Producer, in_body: bool, in_header: bool):
    """analytics-swift/-kotlin: the queued file as the body of POST /v1/b, JSON, utf-8."""
    events = [track(i, messageId=f"ios-{i}") for i in range(25)]
    body: dict[str, Any] = {"batch": events, "sentAt": "2026-11-27T16:30:05.000Z"}
    if in_body:
        body["writeKey"] = WRITE_KEY
    answer = producer.post(
        "/v1/b",
        raw_body=json.dumps(body).encode(),
        write_key=WRITE_KEY if in_header else None,
        headers={"content-type": "application/json; charset=utf-8"},
    )

    assert answer.status == 200
    assert answer.body["accepted"] == 25
    copies = Counter(event["messageId"] for event in producer.stream())
    assert copies == Counter(f"ios-{i}" for i in range(25))


def test_an_unknown_short_path_is_404(producer: Producer):
    for path in ("/v1/x", "/v1/m", "/v1/tr"):
        assert producer.post(path, track(1)).status == 404
    assert producer.stream() == []


def settings_event(write_key: str, **headers: str) -> dict[str, Any]:
    return http_event(
        f"/v1/projects/{write_key}/settings",
        raw_body=b"",
        method="GET",
        write_key=None,
        headers=headers,
    )


def test_sdk_settings_point_the_sdk_at_the_host_they_came_from(producer: Producer):
    answer = producer.send(settings_event(WRITE_KEY, **{"x-forwarded-proto": "https"}))

    assert answer.status == 200
    segment = answer.body["integrations"]["Segment.io"]
    assert segment["apiKey"] == WRITE_KEY
    assert segment["apiHost"] == "api.example.com/v1"
    assert segment["protocol"] == "https"
    assert answer.body["metrics"]["sampleRate"] == 0, "no SDK telemetry goes to Segment"
    assert list(answer.body["integrations"]) == ["Segment.io"]


def test_sdk_settings_of_an_unknown_key_are_404(producer: Producer):
    answer = producer.send(settings_event("wk_nobody"))

    assert answer.status == 404
    assert answer.body["code"] == "unknown_write_key"


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(write_key=st.sampled_from([WRITE_KEY, OTHER_WRITE_KEY, "wk_nobody", "x"]))
def test_sdk_settings_never_show_another_key(producer: Producer, write_key: str):
    answer = producer.send(settings_event(write_key))

    text = json.dumps(answer.body)
    for other in {WRITE_KEY, OTHER_WRITE_KEY} - {write_key}:
        assert other not in text
    assert SITE not in text and "site-other" not in text
