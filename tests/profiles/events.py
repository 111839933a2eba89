"""Segment-shaped events as the producer writes them to the stream (enriched: site, timestamp,
receivedAt, messageId, context.ip), and Kinesis batches of them for the profile consumer (events
built by tools/lambda_kit)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from riptide.kinesis_batch import KinesisBatch
from tests.delivery.kinesis_events import shard_records
from tools.lambda_kit.kinesis import kinesis_event

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def event(
    site: str,
    *,
    call: str = "track",
    name: str | None = None,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    second: float = 0,
    **fields: Any,
) -> dict[str, Any]:
    at = START + timedelta(seconds=second)
    body: dict[str, Any] = {
        "type": call,
        "messageId": str(uuid.uuid4()),
        "timestamp": _iso(at),
        "receivedAt": _iso(at + timedelta(milliseconds=250)),
        "site": site,
        "context": {"ip": "203.0.113.0", "locale": "de-DE", "location": {"country": "DE"}},
        **fields,
    }
    if call == "track":
        body["event"] = name
    elif name is not None:
        body["name"] = name
    if user_id is not None:
        body["userId"] = user_id
    if anonymous_id is not None:
        body["anonymousId"] = anonymous_id
    return body


def product(product_id: str, category: str, price: float, **more: Any) -> dict[str, Any]:
    return {"product_id": product_id, "category": category, "price": price, **more}


def encoded(events: Sequence[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(body).encode() for body in events]


def batch(
    groups: Sequence[Sequence[dict[str, Any]]], shard: int = 0, *, aggregate: bool = True
) -> KinesisBatch:
    """One shard's batch: each group becomes one Kinesis record (a KPL aggregate)."""
    records = shard_records(shard, [encoded(group) for group in groups], aggregate=aggregate)
    return KinesisBatch.from_event(kinesis_event(records))
