"""The local event source mapping follows a reshard as Lambda does: it lists the shards again,
reads the children, and reads a child only once each parent has been read to its end and the
parent's last batch and final window invoke succeeded.

moto keeps writing to a split parent and never ends it, so `ReshardingStream` stands in for
the stream's shard listing and records: a fault-free stand-in whose listing shows the children
only from its second call on, as after a reshard during the run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from tools.lambda_kit.context import FunctionSpec
from tools.lambda_kit.kinesis_mapping import MappingSettings
from tools.local import event_source
from tools.local.event_source import EventSourceMapping, StreamTarget

STREAM = "riptide-events"
ARRIVAL = datetime.now(UTC).timestamp() - 30


@dataclass
class StandInShard:
    shard_id: str
    records: list[dict[str, Any]]
    parents: tuple[str, ...] = ()
    closed: bool = False

    def listing(self) -> dict[str, Any]:
        item: dict[str, Any] = {"ShardId": self.shard_id}
        if self.parents:
            item["ParentShardId"] = self.parents[0]
        if len(self.parents) > 1:
            item["AdjacentParentShardId"] = self.parents[1]
        return item


@dataclass
class ReshardingStream:
    """Stands in for Kinesis' ListShards, GetShardIterator and GetRecords of one stream after a
    reshard: closed parents end (no next iterator once read), children appear on re-listing."""

    before: list[StandInShard]
    after: list[StandInShard]
    listings: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def list_shards(self, **_: Any) -> dict[str, Any]:
        with self.lock:
            self.listings += 1
            shards = self.before if self.listings == 1 else self.before + self.after
        return {"Shards": [shard.listing() for shard in shards]}

    def get_shard_iterator(self, *, ShardId: str, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": f"{ShardId}|0"}

    def get_records(self, *, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, position = ShardIterator.split("|")
        shard = next(s for s in self.before + self.after if s.shard_id == shard_id)
        start = int(position)
        records = shard.records[start : start + Limit]
        end = start + len(records)
        answer: dict[str, Any] = {"Records": records, "MillisBehindLatest": 0}
        if not (shard.closed and end == len(shard.records)):
            answer["NextShardIterator"] = f"{shard_id}|{end}"
        return answer


def records(shard_number: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "SequenceNumber": str(shard_number * 1_000 + n),
            "PartitionKey": f"key-{n}",
            "Data": f'{{"shard": {shard_number}, "n": {n}}}'.encode(),
            "ApproximateArrivalTimestamp": datetime.fromtimestamp(ARRIVAL + n / 100, UTC),
        }
        for n in range(count)
    ]


@dataclass
class RecordingHandler:
    """A consumer that logs each invoke, fails the first invoke holding `fail_once`, and knows
    when it has seen every record it expects."""

    expected: int
    fail_once: str
    invokes: list[tuple[str, list[str], bool]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    _failed: bool = False
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        numbers = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
        shard = event["shardId"]
        with self._lock:
            if self.fail_once in numbers and not self._failed:
                self._failed = True
                raise RuntimeError("the consumer crashed")
            self.invokes.append((shard, numbers, event["isFinalInvokeForWindow"]))
            self._seen.update(numbers)
            if len(self._seen) == self.expected:
                self.done.set()
        return {"batchItemFailures": [], "state": {"count": len(self._seen)}}


def run_mapping(stream: ReshardingStream, handler: RecordingHandler) -> None:
    target = StreamTarget(
        stream_name=STREAM,
        stream_arn=f"arn:aws:kinesis:eu-west-1:123456789012:stream/{STREAM}",
        region="eu-west-1",
        function=FunctionSpec("riptide-consumer"),
        handler=handler,
        dead_letter_queue_url="unused: nothing is dropped",
    )
    settings = MappingSettings(
        batch_size=2,
        batching_window_seconds=0,
        tumbling_window_seconds=3_600,
        retry_attempts=100,
        max_record_age_seconds=86_400,
    )
    with EventSourceMapping(target, settings, stream, sqs=None):
        handler.done.wait()


def first_invoke_of(handler: RecordingHandler, shard: str) -> int:
    return next(i for i, (s, _, _) in enumerate(handler.invokes) if s == shard)


def last_invoke_of(handler: RecordingHandler, shard: str) -> int:
    return max(i for i, (s, _, _) in enumerate(handler.invokes) if s == shard)


@pytest.fixture(autouse=True)
def quick_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_source, "SHARD_LISTING_INTERVAL_SECONDS", 0.05)
    monkeypatch.setattr(event_source, "RETRY_BACKOFF", event_source.Backoff(0.01, 0.01))


@pytest.mark.timeout(60)
def test_children_of_a_split_are_read_after_the_parent_is_read_to_its_end_and_settled():
    parent = StandInShard("shardId-000000000000", records(0, 5), closed=True)
    children = [
        StandInShard(f"shardId-00000000000{n}", records(n, 3), parents=(parent.shard_id,))
        for n in (1, 2)
    ]
    stream = ReshardingStream(before=[parent], after=children)
    handler = RecordingHandler(expected=11, fail_once=parent.records[-1]["SequenceNumber"])

    run_mapping(stream, handler)

    processed = sorted(n for _, numbers, _ in handler.invokes for n in numbers)
    assert processed == sorted(r["SequenceNumber"] for s in [parent, *children] for r in s.records)
    last_of_parent = last_invoke_of(handler, parent.shard_id)
    assert handler.invokes[last_of_parent][2], "the parent's window ends with its final invoke"
    for child in children:
        assert first_invoke_of(handler, child.shard_id) > last_of_parent


@pytest.mark.timeout(60)
def test_a_merged_shard_waits_for_both_parents():
    parents = [
        StandInShard(f"shardId-00000000000{n}", records(n, 3 + n), closed=True) for n in (0, 1)
    ]
    child = StandInShard(
        "shardId-000000000002", records(2, 2), parents=tuple(p.shard_id for p in parents)
    )
    stream = ReshardingStream(before=parents, after=[child])
    handler = RecordingHandler(expected=9, fail_once=parents[1].records[-1]["SequenceNumber"])

    run_mapping(stream, handler)

    first_of_child = first_invoke_of(handler, child.shard_id)
    assert all(first_of_child > last_invoke_of(handler, p.shard_id) for p in parents)
    assert len({n for _, numbers, _ in handler.invokes for n in numbers}) == 9
