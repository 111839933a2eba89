"""Bad input: each gets its own clear answer, never a 500, and never costs a good event."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from tests.producer.conftest import Producer
from tests.producer.http_events import WRITE_KEY, basic_auth, track


def envelope(*events: Any) -> bytes:
    return json.dumps({"batch": list(events)}).encode()


def splice(good_before: dict, raw_event: bytes, good_after: dict) -> bytes:
    """A batch whose middle event is exactly `raw_event`, between two good events."""
    return (
        b'{"batch": ['
        + json.dumps(good_before).encode()
        + b", "
        + raw_event
        + b", "
        + json.dumps(good_after).encode()
        + b"]}"
    )


@pytest.mark.parametrize(
    ("raw_body", "status", "code", "message"),
    [
        (b"{not json", 400, "malformed_body", "the body is not valid JSON: Expecting property"),
        (b"[1, 2]", 400, "malformed_body", "the body must be a JSON object"),
        (b'"batch"', 400, "malformed_body", "the body must be a JSON object"),
        (b'{"events": []}', 400, "malformed_body", 'the body has no "batch"'),
        (b'{"batch": {"type": "track"}}', 400, "malformed_body", '"batch" must be a list'),
        (b'{"batch": null}', 400, "malformed_body", '"batch" must be a list'),
        (b'{"batch": []}', 400, "malformed_body", '"batch" is empty'),
        (b"", 400, "malformed_body", "the body is empty"),
        (b'{"batch": [' + b"[" * 5000 + b"]" * 5000 + b"]}", 400, "malformed_body",
         "the body is nested too deeply"),
        (b'{"batch": [{"type": "track"}], "sentAt": "yesterday"}', 400, "malformed_body",
         "sentAt: 'yesterday' is not an ISO-8601 date-time"),
        (b'{"batch": [{"type": "track"}], "context": [1]}', 400, "malformed_body",
         "context must be an object"),
        (b'{"batch": [{}], "context": {"ip": NaN}}', 400, "malformed_body",
         "context.ip: NaN is not a JSON number"),
        (b'{"batch": [{}], "context": {"n": 1e400}}', 400, "malformed_body",
         "the body holds a value that cannot be read: Number out of range"),
    ],
)  # fmt: skip
def test_a_body_that_cannot_be_read_is_400_saying_why(
    producer: Producer, raw_body: bytes, status: int, code: str, message: str
):
    answer = producer.post("/v1/batch", raw_body=raw_body)

    assert (answer.status, answer.body["success"], answer.body["code"]) == (status, False, code)
    assert answer.body["message"].startswith(message)
    assert producer.stream() == []


def test_a_body_over_the_limit_is_413(make_producer):
    producer = make_producer(max_batch_bytes=10_000)

    answer = producer.post("/v1/batch", {"batch": [track(i) for i in range(50)]})

    assert answer.status == 413
    assert answer.body["code"] == "body_too_large"
    assert answer.body["message"].startswith("the body is ")
    assert answer.body["message"].endswith("bytes; the limit is 10,000")


def test_a_batch_with_too_many_events_is_413(make_producer):
    producer = make_producer(max_batch_events=10)

    answer = producer.post("/v1/batch", {"batch": [track(i) for i in range(11)]})

    assert (answer.status, answer.body["message"]) == (
        413,
        "the batch has 11 events; the limit is 10",
    )
    assert producer.stream() == []


def test_a_gzip_bomb_is_413_without_inflating_it(producer: Producer):
    bomb = gzip.compress(b'{"batch": [' + b" " * 200_000_000 + b"]}")

    answer = producer.post("/v1/batch", raw_body=bomb, headers={"content-encoding": "gzip"})

    assert answer.status == 413
    assert answer.body["message"] == (
        "the body inflates to more than 512,000 bytes; the limit is 512,000"
    )


@pytest.mark.parametrize(
    ("raw_body", "message"),
    [
        (b"not gzip at all", "the body is not valid gzip"),
        (gzip.compress(envelope(track(1)))[:-12], "the gzip body is truncated"),
        (gzip.compress(envelope(track(1))) + b"junk", "the body has data after the end"),
    ],
)
def test_broken_gzip_is_400(producer: Producer, raw_body: bytes, message: str):
    answer = producer.post("/v1/batch", raw_body=raw_body, headers={"content-encoding": "gzip"})

    assert answer.status == 400
    assert answer.body["message"].startswith(message)


def test_an_unsupported_content_encoding_is_415(producer: Producer):
    answer = producer.post("/v1/batch", raw_body=b"x", headers={"content-encoding": "br"})

    assert (answer.status, answer.body["message"]) == (
        415,
        "Content-Encoding 'br' is not supported; send gzip or no encoding",
    )


def test_a_body_marked_base64_that_is_not_is_400(producer: Producer):
    event = {**_event_for(producer), "body": "@@not base64@@", "isBase64Encoded": True}

    answer = producer.send(event)

    assert (answer.status, answer.body["message"]) == (
        400,
        "the body is marked base64 but is not valid base64",
    )


def _event_for(producer: Producer) -> dict:
    from tests.producer.http_events import http_event

    return http_event("/v1/batch", {"batch": [track(1)]})


BAD_EVENTS: list[tuple[bytes, str, str, str | None]] = [
    # (the event as sent, field, reason, messageId named in the answer)
    (b'{"type": "track", "event": "X", "userId": "u", "messageId": "m-nan", "properties": '
     b'{"price": NaN}}', "properties.price", "NaN is not a JSON number; send a finite number "
     "or null", "m-nan"),
    (b'{"type": "track", "event": "X", "userId": "u", "properties": {"p": [1, -Infinity]}}',
     "properties.p[1]", "-Infinity is not a JSON number; send a finite number or null", None),
    (b'{"type": "track", "event": "X", "userId": "u", "properties": {"p": 1e400}}',
     "properties.p", "1e400 is not a JSON number; send a finite number or null", None),
    (b'{"type": "track", "event": "X", "userId": "u", "properties": {"p": "\xff\xfe"}}',
     "", "the event is not valid UTF-8 (byte 68 of the event)", None),
    (b'{"type": "track", "event": "X", "userId": "u", "properties": {"p": "\\ud800"}}',
     "properties.p", "holds a lone UTF-16 surrogate", None),
    (b'"just a string"', "", "an event must be a JSON object", None),
    (b'{"type": "purchase", "userId": "u"}', "type",
     "'purchase' is not one of alias, group, identify, page, screen, track", None),
    (b'{"type": "track", "event": "X"}', "userId",
     "userId or anonymousId is required (non-empty)", None),
    (b'{"type": "track", "event": "X", "userId": "", "anonymousId": null}', "userId",
     "userId or anonymousId is required (non-empty)", None),
    (b'{"type": "track", "event": "X", "userId": ["u"]}', "userId",
     "userId must be a string or an integer", None),
    (b'{"type": "track", "event": "X", "userId": 1.5}', "userId",
     "userId must be a string or an integer", None),
    (b'{"type": "track", "userId": "u"}', "event",
     "a track call needs the event name, a non-empty string", None),
    (b'{"type": "track", "event": "", "userId": "u"}', "event",
     "a track call needs the event name, a non-empty string", None),
    (b'{"type": "track", "event": "X", "userId": "u", "messageId": "\\ud800"}', "messageId",
     "holds a lone UTF-16 surrogate", "\ud800"),
    (b'{"type": "page", "userId": "u", "messageId": "' + b"m" * 101 + b'"}', "messageId",
     "messageId is 101 characters; the limit is 100", "m" * 100),
    (b'{"type": "page", "userId": "u", "messageId": 17}', "messageId",
     "messageId must be a non-empty string", None),
    (b'{"type": "page", "userId": "u", "timestamp": "27/11/2026"}', "timestamp",
     "'27/11/2026' is not an ISO-8601 date-time", None),
    (b'{"type": "page", "userId": "u", "originalTimestamp": 1732700000}', "originalTimestamp",
     "1732700000 is not an ISO-8601 date-time", None),
    (b'{"type": "page", "userId": "u", "sentAt": "2026-13-01T00:00:00Z"}', "sentAt",
     "'2026-13-01T00:00:00Z' is not an ISO-8601 date-time", None),
    (b'{"type": "page", "userId": "u", "originalTimestamp": "0001-01-01T00:00:00Z", '
     b'"sentAt": "9999-12-31T00:00:00Z"}', "timestamp",
     "the corrected timestamp falls outside years 1-9999", None),
    (b'{"type": "page", "userId": "u", "properties": "cheap"}', "properties",
     "properties must be an object", None),
    (b'{"type": "identify", "userId": "u", "traits": [1]}', "traits",
     "traits must be an object", None),
    (b'{"type": "page", "userId": "u", "context": 7}', "context", "context must be an object",
     None),
    (b'{"type": "page", "userId": "u", "p": ' + b"9" * 5000 + b"}", "",
     "a number cannot be read", None),
]  # fmt: skip


@pytest.mark.parametrize(("raw_event", "field", "reason", "message_id"), BAD_EVENTS)
def test_a_bad_event_is_rejected_alone_and_its_neighbours_are_stored(
    producer: Producer, raw_event: bytes, field: str, reason: str, message_id: str | None
):
    body = splice(track(1), raw_event, track(2))

    answer = producer.post("/v1/batch", raw_body=body)

    assert answer.status == 200
    assert answer.body["accepted"] == 2
    [rejected] = answer.body["rejected"]
    assert rejected["reason"].startswith(reason)
    assert rejected | {"reason": reason} == {
        "index": 1,
        "messageId": message_id,
        "field": field,
        "reason": reason,
    }
    assert sorted(event["messageId"] for event in producer.stream()) == ["msg-00001", "msg-00002"]


def test_an_oversize_event_is_rejected_alone(producer: Producer):
    big = track(3, properties={"blob": "x" * 33_000})

    answer = producer.post("/v1/batch", {"batch": [track(1), big, track(2)]})

    size = len(json.dumps(big))
    assert answer.body["rejected"] == [
        {
            "index": 1,
            "messageId": "msg-00003",
            "field": "",
            "reason": f"the event is {size:,} bytes; the limit is 32,768",
        }
    ]
    assert len(producer.stream()) == 2


def test_an_event_just_under_the_limit_is_accepted(producer: Producer):
    event = track(3)
    event["properties"] = {"blob": ""}
    event["properties"]["blob"] = "x" * (32_768 - len(json.dumps(event)))
    assert len(json.dumps(event)) == 32_768

    answer = producer.post("/v1/batch", {"batch": [event]})

    assert answer.body == {"success": True, "accepted": 1, "rejected": []}


def test_nan_written_by_pythons_json_costs_only_its_own_event(producer: Producer):
    """Python's json.dumps writes NaN, which strict JSON lacks; the body goes the slow path."""
    body = json.dumps({"batch": [track(1), track(2, properties={"price": float("nan")})]})

    answer = producer.post("/v1/batch", raw_body=body.encode())

    assert answer.body == {
        "success": True,
        "accepted": 1,
        "rejected": [
            {
                "index": 1,
                "messageId": "msg-00002",
                "field": "properties.price",
                "reason": "NaN is not a JSON number; send a finite number or null",
            }
        ],
    }
    assert [event["messageId"] for event in producer.stream()] == ["msg-00001"]


def test_huge_integers_are_kept_exactly(producer: Producer):
    body = splice(track(1), b'{"type": "page", "userId": "u", "n": 123456789012345678901234567890}',
                  track(2))  # fmt: skip

    producer.post("/v1/batch", raw_body=body)

    [page] = [event for event in producer.stream() if event["type"] == "page"]
    assert page["n"] == 123456789012345678901234567890


def test_a_batch_where_every_event_is_bad_is_400_listing_each(producer: Producer):
    answer = producer.post("/v1/batch", {"batch": [{"type": "x"}, {"type": "track"}]})

    assert answer.status == 400
    assert answer.body["code"] == "all_events_rejected"
    assert [r["index"] for r in answer.body["rejected"]] == [0, 1]


def test_a_single_call_body_over_the_event_limit_is_413(producer: Producer):
    answer = producer.post("/v1/track", track(1, properties={"blob": "x" * 40_000}))

    assert answer.status == 413


def test_a_single_call_that_is_not_json_is_400(producer: Producer):
    answer = producer.post("/v1/track", raw_body=b"{nope")

    assert answer.status == 400
    assert answer.body["message"].startswith("the event is not valid JSON")


@pytest.mark.parametrize(
    ("headers", "body_key", "message"),
    [
        ({}, None, "no write key: send it as the HTTP Basic username or as writeKey in the body"),
        ({"authorization": basic_auth("wk_wrong")}, None, "the write key is not valid"),
        ({}, "wk_wrong", "the write key is not valid"),
        ({}, 12345, "writeKey must be a string"),
        ({"authorization": "Bearer abc"}, WRITE_KEY,
         "the Authorization header must be HTTP Basic with the write key as the username"),
        ({"authorization": "Basic %%%"}, None,
         "the Authorization header is not valid HTTP Basic (base64 of 'writeKey:')"),
        ({"authorization": basic_auth("")}, None,
         "no write key: send it as the HTTP Basic username or as writeKey in the body"),
        ({}, "\ud800", "the write key is not valid"),
    ],
)  # fmt: skip
def test_a_missing_or_wrong_write_key_is_401_and_nothing_is_stored(
    producer: Producer, headers: dict, body_key: Any, message: str
):
    body: dict[str, Any] = {"batch": [track(1)]}
    if body_key is not None:
        body["writeKey"] = body_key

    answer = producer.post("/v1/batch", body, write_key=None, headers=headers)

    assert (answer.status, answer.body) == (
        401,
        {"success": False, "code": "unauthorized", "message": message},
    )
    assert producer.stream() == []


def test_the_write_key_in_the_body_is_enough(producer: Producer):
    answer = producer.post(
        "/v1/batch", {"batch": [track(1)], "writeKey": WRITE_KEY}, write_key=None
    )

    assert answer.status == 200


def test_write_keys_are_never_logged(producer: Producer, capsys: pytest.CaptureFixture[str]):
    producer.post("/v1/batch", {"batch": [track(1), {"type": "x"}]})
    producer.post("/v1/batch", {"batch": [track(1)]}, write_key="wk_guess_0001")

    output = capsys.readouterr()
    assert WRITE_KEY not in output.out + output.err
    assert "wk_guess_0001" not in output.out + output.err


def test_a_batch_level_sent_at_of_nan_is_named(producer: Producer):
    answer = producer.post("/v1/batch", raw_body=b'{"batch": [{}], "sentAt": NaN}')

    assert (answer.status, answer.body["message"]) == (
        400,
        "sentAt: NaN is not an ISO-8601 date-time",
    )


def test_a_batch_context_cannot_inflate_events_past_the_event_limit(producer: Producer):
    body = {"batch": [track(1), track(2)], "context": {"blob": "x" * 40_000}}

    answer = producer.post("/v1/batch", body)

    assert answer.status == 400
    assert [(r["index"], r["field"]) for r in answer.body["rejected"]] == [
        (0, "context"),
        (1, "context"),
    ]
    assert answer.body["rejected"][0]["reason"].startswith("with the batch context merged in")
    assert producer.stream() == []
