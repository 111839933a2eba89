"""HTTP in, profiles out: events posted to the producer's handler reach the stream (moto), the
profile consumer's handler applies the stream's records to a real store, and the read API's
handler answers with the profiles, for read keys only, and deletes them for admin keys."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from context import handler as context_handler
from profiles import handler as profiles_handler
from riptide.ingest.write_keys import WriteKeyRegistry
from riptide.profiles import ProfileStore
from riptide.profiles.reads import MAX_IDS, ProfileReads
from riptide.store import SiteKeys
from tests.producer.conftest import (  # noqa: F401 (fixtures)
    SITE,
    Producer,
    aws,
    kinesis,
    make_producer,
    producer,
    secrets,
)
from tests.producer.http_events import DOMAIN, track
from tests.profiles.conftest import LIMITS, profile_consumer
from tools.lambda_kit.context import FunctionSpec
from tools.lambda_kit.http_api import payload_v2_event
from tools.lambda_kit.kinesis import StreamRecord, kinesis_event

PROFILES = FunctionSpec("riptide-profiles")
CONTEXT = FunctionSpec("riptide-context", memory_mb=512)
READ_KEY = "rk_test_51f0"
ADMIN_KEY = "ak_test_9e3d"


@pytest.fixture
def store(store_client: Any) -> Iterator[ProfileStore]:
    """The store, without any key left from an earlier run for the producer's fixed site."""
    pattern = SiteKeys(SITE).prefix.replace("{", "\\{") + "*"
    for key in store_client.scan_iter(match=pattern):
        store_client.delete(key)
    yield ProfileStore(store_client, LIMITS)


@pytest.fixture
def api(store: ProfileStore, aws: None, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    client = boto3.client("secretsmanager")
    arns = {}
    for kind, key in (("read", READ_KEY), ("admin", ADMIN_KEY)):
        name = f"riptide/{kind}-keys-{uuid.uuid4().hex}"
        arns[kind] = client.create_secret(Name=name, SecretString=json.dumps({key: SITE}))["ARN"]

    def registry(kind: str) -> WriteKeyRegistry:
        return WriteKeyRegistry(arns[kind], lambda: client, 300, kind=kind)

    reads = ProfileReads(store, registry("read"), registry("admin"))
    consumer = profile_consumer(store)
    monkeypatch.setattr(context_handler, "reads", lambda: reads)
    monkeypatch.setattr(profiles_handler, "profile_consumer", lambda: consumer)


def consume_stream(producer: Producer) -> list[dict[str, Any]]:  # noqa: F811
    """Hand every shard's records to the profile consumer's handler, as the event source
    mapping does; its answers."""
    client = producer.kinesis.client
    answers = []
    for shard in client.list_shards(StreamName=producer.stream_name)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=producer.stream_name,
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        records = client.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
        if records:
            event = kinesis_event([stream_record(shard["ShardId"], r) for r in records])
            answers.append(profiles_handler.handler(event, PROFILES.frozen_context()))
    return answers


def stream_record(shard_id: str, record: dict[str, Any]) -> StreamRecord:
    return StreamRecord(
        shard_id=shard_id,
        sequence_number=record["SequenceNumber"],
        partition_key=record["PartitionKey"],
        data=record["Data"],
        arrival=record["ApproximateArrivalTimestamp"].timestamp(),
    )


def get(path: str, key: str | None = READ_KEY, method: str = "GET") -> tuple[int, Any]:
    headers = [] if key is None else [("authorization", f"Bearer {key}")]
    event = payload_v2_event(
        method=method,
        raw_path=path,
        headers=headers,
        body=b"",
        source_ip="198.51.100.7",
        domain_name=DOMAIN,
    )
    response = context_handler.handler(event, CONTEXT.frozen_context())
    return response["statusCode"], json.loads(response["body"])


def shop(producer: Producer) -> None:  # noqa: F811
    anon = {"anonymousId": "anon-7"}
    batch = [
        track(0, event="Product Viewed", userId=None, **anon,
              properties={"product_id": "p1", "category": "shoes", "price": 40.0}),
        track(1, event="Product Added", userId=None, **anon,
              properties={"product_id": "p1", "category": "shoes", "price": 40.0,
                          "quantity": 1}),
        {"type": "identify", "userId": "dana", **anon, "traits": {"plan": "pro"},
         "messageId": "m-identify"},
    ]  # fmt: skip
    for event in batch:
        if event.get("userId") is None:
            event.pop("userId", None)
    assert producer.post("/v1/batch", {"batch": batch}).status == 200


def test_posted_events_show_in_the_profile_by_either_id(
    producer: Producer,  # noqa: F811
    api: None,
) -> None:
    shop(producer)
    assert all(answer == {"batchItemFailures": []} for answer in consume_stream(producer))

    status, by_user = get("/v1/profiles/dana")
    assert status == 200
    assert get("/v1/profiles/anon-7") == (200, by_user)
    assert by_user["profileId"] == "u:dana" and by_user["anonymousIds"] == ["anon-7"]
    assert by_user["traits"] == {"plan": "pro"}
    assert by_user["cart"]["items"][0]["productId"] == "p1"
    assert by_user["cart"]["lastChangedAt"] == "2026-11-27T16:35:46.123Z"  # as received
    assert "ip" not in json.dumps(by_user)


def test_consuming_the_stream_again_changes_no_profile(
    producer: Producer,  # noqa: F811
    api: None,
) -> None:
    shop(producer)
    consume_stream(producer)
    before = get("/v1/profiles/dana")

    consume_stream(producer)

    assert get("/v1/profiles/dana") == before


def test_bulk_read_answers_each_id(producer: Producer, api: None) -> None:  # noqa: F811
    shop(producer)
    consume_stream(producer)

    status, body = get("/v1/profiles?ids=dana,anon-7,nobody")

    assert status == 200
    assert body["profiles"]["nobody"] is None
    assert body["profiles"]["dana"] == body["profiles"]["anon-7"]
    too_many = ",".join(f"id{n}" for n in range(MAX_IDS + 1))
    assert get(f"/v1/profiles?ids={too_many}")[0] == 400


def test_reads_need_a_read_key_of_the_site(producer: Producer, api: None) -> None:  # noqa: F811
    shop(producer)
    consume_stream(producer)

    assert get("/v1/profiles/dana", key=None)[0] == 401
    assert get("/v1/profiles/dana", key="wk_test_7c1e")[0] == 401
    assert get("/v1/profiles/dana", key=ADMIN_KEY)[0] == 401
    assert get("/v1/profiles/nobody")[0] == 404


def test_an_admin_key_deletes_the_profile_and_its_links(
    producer: Producer,  # noqa: F811
    api: None,
    store_client: Any,
) -> None:
    shop(producer)
    consume_stream(producer)

    assert get("/v1/profiles/anon-7", key=READ_KEY, method="DELETE")[0] == 401
    assert get("/v1/profiles/anon-7", key=ADMIN_KEY, method="DELETE") == (
        200,
        {"deleted": "anon-7"},
    )

    assert get("/v1/profiles/dana")[0] == 404
    assert get("/v1/profiles/anon-7")[0] == 404
    keys = SiteKeys(SITE)
    assert store_client.exists(keys.profile("u:dana"), keys.link("a:anon-7")) == 0
