"""The outbox: a write-ahead record, in S3, of every task handed to Druid.

An entry is written BEFORE its tasks are submitted and holds the tasks themselves (payloads
included) and the shard range they cover: one task, or two when late rows travel apart from the
on-time ones (both in one entry, so neither can exist without the other). It stays under
`pending/` until Druid reports every task of it SUCCESS, then moves to `done/` as a small marker
(the bucket's lifecycle rule expires markers after the stream's retention). Any later invocation
that meets records an entry covers resubmits the entry's tasks under their recorded ids instead
of rolling those records up again, so a redelivery with different batch boundaries can never
produce a second task for the same records.

Keys sort by the last sequence number covered (length-prefixed so that string order is numeric
order), which lets a lookup start listing right at the batch's first record.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from riptide.contract import OUTBOX_DONE_PREFIX, OUTBOX_PENDING_PREFIX
from riptide.delivery.positions import Coverage, Position


@dataclass(frozen=True, slots=True)
class DeliveryTask:
    """One Druid task of a delivery, under its current id (`_redrive<n>` after failures)."""

    original_task_id: str
    task_id: str
    task: dict[str, Any]
    """The task as submitted; empty in a done marker, which keeps no payload."""
    redrives: int = 0

    def redriven(self, task_id: str, task: dict[str, Any]) -> DeliveryTask:
        return replace(self, task_id=task_id, task=task, redrives=self.redrives + 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "originalTaskId": self.original_task_id,
            "taskId": self.task_id,
            "redrives": self.redrives,
            "task": self.task,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> DeliveryTask:
        return cls(
            original_task_id=value["originalTaskId"],
            task_id=value["taskId"],
            task=value["task"] or {},
            redrives=value.get("redrives", 0),
        )


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    shard_id: str
    coverage: Coverage
    tasks: tuple[DeliveryTask, ...]
    events: int
    created_at: float

    def with_task(self, index: int, task: DeliveryTask) -> OutboxEntry:
        return replace(self, tasks=(*self.tasks[:index], task, *self.tasks[index + 1 :]))

    def to_json(self) -> dict[str, Any]:
        return {
            "shardId": self.shard_id,
            "first": self.coverage.first.to_json(),
            "last": self.coverage.last.to_json(),
            "events": self.events,
            "createdAt": self.created_at,
            "tasks": [task.to_json() for task in self.tasks],
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> OutboxEntry:
        """An entry as stored; one written before entries held a list of tasks has one task."""
        tasks = value.get("tasks") or [value]
        return cls(
            shard_id=value["shardId"],
            coverage=Coverage(
                Position.from_json(value["first"]), Position.from_json(value["last"])
            ),
            tasks=tuple(DeliveryTask.from_json(task) for task in tasks),
            events=value["events"],
            created_at=value["createdAt"],
        )


@dataclass(frozen=True, slots=True)
class PendingKey:
    """A pending entry as the bucket lists it: its key and when it was last written."""

    key: str
    stored_at: float


@dataclass(frozen=True, slots=True)
class Covering:
    """What the outbox already holds for a span of a shard."""

    pending: tuple[OutboxEntry, ...]
    done: tuple[Coverage, ...]
    coverages: tuple[Coverage, ...] = field(init=False)
    """Pending and done alike, gathered once: `covers` runs for every record of a batch."""

    def __post_init__(self) -> None:
        pending = tuple(entry.coverage for entry in self.pending)
        object.__setattr__(self, "coverages", pending + self.done)

    def covers(self, sequence: int) -> bool:
        return any(coverage.covers(sequence) for coverage in self.coverages)


class Outbox:
    """Outbox entries of one datasource in one bucket; `s3` is a boto3 S3 client."""

    def __init__(self, s3: Any, bucket: str, datasource: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._datasource = datasource

    def record(self, entry: OutboxEntry) -> None:
        """Write (or overwrite) the pending entry; must succeed before its task is submitted."""
        self._s3.put_object(
            Bucket=self._bucket,
            Key=self._key(OUTBOX_PENDING_PREFIX, entry.shard_id, entry.coverage),
            Body=msgspec.json.encode(entry.to_json()),
            ContentType="application/json",
        )

    def mark_done(self, entry: OutboxEntry) -> None:
        """Druid published every task: keep a marker, written first so the range stays covered."""
        marker = {
            **entry.to_json(),
            "tasks": [{**task.to_json(), "task": None} for task in entry.tasks],
            "doneAt": time.time(),
        }
        self._s3.put_object(
            Bucket=self._bucket,
            Key=self._key(OUTBOX_DONE_PREFIX, entry.shard_id, entry.coverage),
            Body=msgspec.json.encode(marker),
            ContentType="application/json",
        )
        self._s3.delete_object(
            Bucket=self._bucket,
            Key=self._key(OUTBOX_PENDING_PREFIX, entry.shard_id, entry.coverage),
        )

    def covering(self, shard_id: str, span: Coverage) -> Covering:
        """Entries of `shard_id` that cover any record in `span`.

        Pending is listed before done: an entry moves pending -> done by writing the marker
        first, so whichever listing misses it, the other one sees it.
        """
        pending = tuple(
            self._load(key)
            for key, _ in self._overlapping_keys(OUTBOX_PENDING_PREFIX, shard_id, span)
        )
        done = tuple(
            coverage for _, coverage in self._overlapping_keys(OUTBOX_DONE_PREFIX, shard_id, span)
        )
        return Covering(pending=pending, done=done)

    def pending(self) -> Iterator[PendingKey]:
        """Every pending entry of the datasource, all shards, as listed: read one with `load`.

        Listing costs nothing per entry, so a pass that runs out of time still counts and ages
        every entry without downloading task payloads it has no time to settle.
        """
        paginator = self._s3.get_paginator("list_objects_v2")
        prefix = f"{OUTBOX_PENDING_PREFIX}{self._datasource}/"
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", ()):
                yield PendingKey(item["Key"], item["LastModified"].timestamp())

    def load(self, pending: PendingKey) -> OutboxEntry:
        return self._load(pending.key)

    def a_delivered_task_id(self) -> str | None:
        """The id of some task of the datasource Druid reported SUCCESS for, if any is kept."""
        listing = self._s3.list_objects_v2(
            Bucket=self._bucket, Prefix=f"{OUTBOX_DONE_PREFIX}{self._datasource}/", MaxKeys=1
        )
        for item in listing.get("Contents", ()):
            return self._load(item["Key"]).tasks[0].task_id
        return None

    def _overlapping_keys(
        self, state_prefix: str, shard_id: str, span: Coverage
    ) -> Iterator[tuple[str, Coverage]]:
        prefix = f"{state_prefix}{self._datasource}/{shard_id}/"
        start_after = prefix + _sortable(span.first.sequence)
        for key in self._keys(prefix, start_after=start_after):
            coverage = _coverage_from_key(key)
            if coverage.first.sequence > span.last.sequence:
                return
            yield key, coverage

    def _keys(self, prefix: str, start_after: str | None) -> Iterator[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        options = {"Bucket": self._bucket, "Prefix": prefix}
        if start_after is not None:
            options["StartAfter"] = start_after
        for page in paginator.paginate(**options):
            for item in page.get("Contents", ()):
                yield item["Key"]

    def _load(self, key: str) -> OutboxEntry:
        body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return OutboxEntry.from_json(msgspec.json.decode(body))

    def _key(self, state_prefix: str, shard_id: str, coverage: Coverage) -> str:
        return (
            f"{state_prefix}{self._datasource}/{shard_id}/"
            f"{_sortable(coverage.last.sequence)}_{_sortable(coverage.first.sequence)}.json"
        )


def _sortable(sequence: int) -> str:
    digits = str(sequence)
    return f"{len(digits):03d}{digits}"


def _coverage_from_key(key: str) -> Coverage:
    last, first = key.rsplit("/", 1)[1].removesuffix(".json").split("_")
    return Coverage(Position(int(first[3:])), Position(int(last[3:])))
