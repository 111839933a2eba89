"""Happy paths: what a client sends, what it is answered, and what lands in Kinesis."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.producer.conftest import Producer
from tests.producer.http_events import SITE, track
from tests.producer.kinesis_reader import read_shards

RECEIVED = "2026-11-27T16:35:46.123Z"


def test_a_batch_is_answered_200_and_every_event_is_in_the_stream_once(producer: Producer):
    events = [track(i) for i in range(300)]

    answer = producer.post("/v1/batch", {"batch": events, "sentAt": "2026-11-27T16:30:00.000Z"})

    assert answer.status == 200
    assert answer.body == {"success": True, "accepted": 300, "rejected": []}
    stored = producer.stream()
    assert sorted(event["messageId"] for event in stored) == [f"msg-{i:05d}" for i in range(300)]


def test_a_stored_event_is_the_sent_event_plus_the_server_fields(producer: Producer):
    sent = track(7, sentAt="2026-11-27T16:30:02.000Z")

    producer.post("/v1/batch", {"batch": [sent]})

    assert producer.stream() == [
        {
            "type": "track",
            "event": "Product Viewed",
            "userId": "user-7",
            "messageId": "msg-00007",
            "properties": {"product_id": "p-7", "price": 19.99},
            "context": {
                "library": {"name": "analytics-python", "version": "2.4.0"},
                "ip": "203.0.113.0",  # SOURCE_IP, truncated by default
            },
            "originalTimestamp": "2026-11-27T16:30:00.000Z",
            "sentAt": "2026-11-27T16:30:02.000Z",
            "timestamp": "2026-11-27T16:35:44.123Z",
            "receivedAt": RECEIVED,
            "site": SITE,
        }
    ]


@pytest.mark.parametrize("call", ["track", "page", "screen", "identify", "group", "alias"])
def test_each_single_call_stores_its_event_with_the_type_of_the_endpoint(
    producer: Producer, call: str
):
    event = {"userId": "u-1", "messageId": f"m-{call}", "event": "Signed Up"}

    answer = producer.post(f"/v1/{call}", event)

    assert (answer.status, answer.body) == (200, {"success": True, "accepted": 1, "rejected": []})
    [stored] = producer.stream()
    assert (stored["type"], stored["messageId"]) == (call, f"m-{call}")


def test_a_single_call_whose_type_contradicts_its_endpoint_is_rejected(producer: Producer):
    answer = producer.post("/v1/track", {"type": "page", "userId": "u", "messageId": "m-1"})

    assert answer.status == 400
    assert answer.body["rejected"] == [
        {
            "index": 0,
            "messageId": "m-1",
            "field": "type",
            "reason": "'page' does not match the endpoint /v1/track",
        }
    ]
    assert producer.stream() == []


def test_an_unknown_call_is_404(producer: Producer):
    answer = producer.post("/v1/purchase", {"userId": "u"})

    assert answer.status == 404


def test_gzip_and_base64_bodies_are_read(producer: Producer):
    answer = producer.post("/v1/batch", {"batch": [track(1), track(2)]}, gzipped=True)

    assert answer.body == {"success": True, "accepted": 2, "rejected": []}
    assert len(producer.stream()) == 2


def test_a_missing_message_id_gets_a_uuid4(producer: Producer):
    event = track(1)
    del event["messageId"]

    producer.post("/v1/batch", {"batch": [event]})

    [stored] = producer.stream()
    assert uuid.UUID(stored["messageId"]).version == 4


def test_numeric_ids_are_stored_as_strings_and_empty_ids_are_dropped(producer: Producer):
    event = track(1, userId=42, anonymousId="")

    producer.post("/v1/batch", {"batch": [event]})

    [stored] = producer.stream()
    assert stored["userId"] == "42"
    assert "anonymousId" not in stored


def test_the_write_key_never_reaches_the_stream(producer: Producer):
    body = {"batch": [track(1, writeKey="wk_leak")], "writeKey": "wk_test_7c1e"}

    producer.post("/v1/batch", body, write_key=None)

    [stored] = producer.stream()
    assert "writeKey" not in stored


def test_with_the_user_strategy_each_users_events_stay_on_one_shard_in_order(make_producer):
    producer: Producer = make_producer(partition_strategy="user", partition_buckets=16)
    events = [track(i, userId=f"user-{i % 7}", properties={"pad": "x" * 400}) for i in range(300)]

    answer = producer.post("/v1/batch", {"batch": events})

    assert answer.body["accepted"] == 300
    shard_of: dict[str, str] = {}
    order: dict[str, list[str]] = {}
    for shard, records in read_shards(producer.kinesis.client, producer.stream_name).items():
        for data in records:
            event = json.loads(data)
            assert shard_of.setdefault(event["userId"], shard) == shard
            order.setdefault(event["userId"], []).append(event["messageId"])
    for user, message_ids in order.items():
        assert message_ids == [e["messageId"] for e in events if e["userId"] == user]
