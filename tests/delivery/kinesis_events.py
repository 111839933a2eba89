"""Test data for the consumer: shards of KPL aggregates built by the real aggregator, compact
Segment events, and the functions the contexts belong to. Events are built by tools/lambda_kit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from riptide.kpl import Aggregator
from tools.lambda_kit.context import FunctionSpec
from tools.lambda_kit.kinesis import StreamRecord, shard_stream_records

CONSUMER = FunctionSpec("riptide-consumer", timeout_seconds=60, memory_mb=1024)
RECONCILER = FunctionSpec("riptide-reconciler", timeout_seconds=60, memory_mb=512)


def shard_records(
    shard_index: int, groups: Sequence[Sequence[bytes]], *, aggregate: bool = True
) -> list[StreamRecord]:
    """The Kinesis records of one shard: each group packed by the real aggregator (one record,
    or more when it exceeds the aggregate size), or sent plain when `aggregate` is False and it
    holds one payload."""
    packed: list[tuple[str, bytes]] = []
    for group in groups:
        if aggregate:
            records = Aggregator().aggregate([(None, payload) for payload in group])
            packed += [(record.partition_key, record.data) for record in records]
        else:
            (payload,) = group
            packed.append(("a", payload))
    return shard_stream_records(shard_index, packed)


def segment_event(
    *,
    user_id: str = "u1",
    revenue: float | None = 10.0,
    minute: int = 0,
    event: str = "Order Completed",
    site: str = "shop",
) -> bytes:
    """A compact Segment track event, `minute` minutes after 2026-11-27T10:00Z."""
    timestamp = f"2026-11-27T{10 + minute // 60:02d}:{minute % 60:02d}:30.000Z"
    body: dict[str, Any] = {
        "type": "track",
        "event": event,
        "userId": user_id,
        "timestamp": timestamp,
        "receivedAt": timestamp,
        "site": site,
        "properties": {} if revenue is None else {"revenue": revenue},
    }
    return json.dumps(body, separators=(",", ":")).encode()
