"""One Lambda invocation's Kinesis records of one shard, read from the raw event: what every
stream consumer (the rollup consumer, the profile consumer) starts from.

Works on the plain event dict (or a Powertools `KinesisStreamEvent`, through its `raw_event`),
with or without the tumbling-window fields. Record data is decoded from base64 straight to
bytes with pybase64's SIMD decoder (about 30x the standard library's on 25 KB aggregates, which
made base64 the largest single cost of the consumer); nothing is parsed before the de-aggregator
sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pybase64


@dataclass(frozen=True, slots=True)
class ShardRecord:
    """One Kinesis record (possibly a KPL aggregate of many user records)."""

    sequence_number: str
    data: bytes
    arrived_at: float | None = None

    @property
    def sequence(self) -> int:
        return int(self.sequence_number)


@dataclass(frozen=True, slots=True)
class TumblingWindow:
    """The tumbling-window fields Lambda adds when the event source mapping has a window."""

    start: str
    end: str
    is_final: bool
    terminated_early: bool

    @property
    def closes(self) -> bool:
        """No further invocation of this window will come: its rollup must be delivered now."""
        return self.is_final or self.terminated_early


@dataclass(frozen=True, slots=True)
class KinesisBatch:
    shard_id: str
    records: tuple[ShardRecord, ...]
    window: TumblingWindow | None = None
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> KinesisBatch:
        raw = getattr(event, "raw_event", event)
        entries = raw.get("Records") or []
        records = tuple(
            ShardRecord(
                sequence_number=entry["kinesis"]["sequenceNumber"],
                data=pybase64.b64decode(entry["kinesis"]["data"], validate=True),
                arrived_at=entry["kinesis"].get("approximateArrivalTimestamp"),
            )
            for entry in entries
        )
        window = raw.get("window")
        return cls(
            shard_id=_shard_id(raw, entries),
            records=records,
            window=(
                TumblingWindow(
                    start=window["start"],
                    end=window["end"],
                    is_final=bool(raw.get("isFinalInvokeForWindow")),
                    terminated_early=bool(raw.get("isWindowTerminatedEarly")),
                )
                if window
                else None
            ),
            state=dict(raw.get("state") or {}),
        )


def _shard_id(raw: Mapping[str, Any], entries: list[dict[str, Any]]) -> str:
    """The window's shardId, else the part of the first eventID before the sequence number."""
    if raw.get("shardId"):
        return str(raw["shardId"])
    if entries:
        return entries[0]["eventID"].split(":", 1)[0]
    raise ValueError("the event names no shard: no shardId and no records")
