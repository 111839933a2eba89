"""Through the Kinesis API (moto): records land where their keys say and read back whole."""

import random
from collections import defaultdict

import boto3
import pytest
from moto import mock_aws

from riptide.kpl import (
    Aggregator,
    OrderedKeys,
    SpreadKeys,
    deaggregate_user_records,
    effective_hash_key,
    put_records_batches,
)

STREAM = "riptide-events-test"


@pytest.fixture
def kinesis():
    with mock_aws():
        client = boto3.client("kinesis", region_name="us-east-1")
        client.create_stream(StreamName=STREAM, ShardCount=4)
        yield client


def put_all(kinesis, records):
    for batch in put_records_batches(records):
        response = kinesis.put_records(
            StreamName=STREAM, Records=[record.put_entry() for record in batch]
        )
        assert response["FailedRecordCount"] == 0


def read_all(kinesis):
    """(shard hash range, [user records in order]) for every shard."""
    shards = kinesis.describe_stream(StreamName=STREAM)["StreamDescription"]["Shards"]
    out = []
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        users = []
        for record in kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]:
            users += deaggregate_user_records(
                record["Data"], record["PartitionKey"], record.get("ExplicitHashKey")
            )
        hash_range = shard["HashKeyRange"]
        out.append(((int(hash_range["StartingHashKey"]), int(hash_range["EndingHashKey"])), users))
    return out


def shopper_events(count: int) -> list[tuple[str, bytes]]:
    rng = random.Random(9)
    return [
        (
            f"user-{rng.randrange(40)}",
            f'{{"n":{n},"pad":"{"x" * rng.randrange(200, 900)}"}}'.encode(),
        )
        for n in range(count)
    ]


def test_ordered_events_of_a_user_come_back_in_order_from_one_shard(kinesis):
    events = shopper_events(3_000)
    put_all(kinesis, Aggregator(OrderedKeys(buckets=8, rng=random.Random(1))).aggregate(events))

    shards_of_user = defaultdict(set)
    sequence_of_user = defaultdict(list)
    for (low, high), users in read_all(kinesis):
        for user in users:
            assert low <= effective_hash_key(user.partition_key, user.explicit_hash_key) <= high
            key, payload = events[int(user.data.split(b",")[0][5:])]
            assert payload == user.data
            shards_of_user[key].add(low)
            sequence_of_user[key].append(user.data)

    assert all(len(shards) == 1 for shards in shards_of_user.values())
    for key, payloads in sequence_of_user.items():
        assert payloads == [payload for k, payload in events if k == key]


def test_spread_events_all_come_back_from_every_shard(kinesis):
    events = shopper_events(3_000)
    put_all(kinesis, Aggregator(SpreadKeys(random.Random(2))).aggregate(events))

    per_shard = read_all(kinesis)

    for (low, high), users in per_shard:
        assert users, "a shard received nothing"
        for user in users:
            assert low <= effective_hash_key(user.partition_key, user.explicit_hash_key) <= high
    assert sorted(user.data for _, users in per_shard for user in users) == sorted(
        payload for _, payload in events
    )
