"""Real-shaped Kinesis events for the consumer: KPL aggregates built by the real aggregator,
base64 data, eventIDs, per-shard sequence numbers, and the tumbling-window fields when asked."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from riptide.kpl import Aggregator

SEQUENCE_START = 49_659_813_423_189_745_003_432_095_917_234_980_324_559_238_240_986_624
"""A 56-digit sequence number, the size Kinesis hands out."""
STREAM_ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/riptide-events"
ARRIVAL = 1_795_737_600.0
"""2026-11-27T00:00:00Z, when the records below arrived."""


@dataclass(frozen=True)
class StreamRecord:
    shard_id: str
    sequence_number: str
    data: bytes
    user_records: int


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def shard_records(
    shard_index: int, groups: Sequence[Sequence[bytes]], *, aggregate: bool = True
) -> list[StreamRecord]:
    """The Kinesis records of one shard: each group packed by the real aggregator (one record,
    or more when it exceeds the aggregate size), or sent plain when `aggregate` is False and it
    holds one payload. Sequence numbers grow with gaps and differ from shard to shard."""
    packed: list[tuple[bytes, int]] = []
    for group in groups:
        if aggregate:
            records = Aggregator().aggregate([(None, payload) for payload in group])
            packed += [(record.data, record.user_record_count) for record in records]
        else:
            (payload,) = group
            packed.append((payload, 1))
    return [
        StreamRecord(
            shard_id(shard_index),
            str(SEQUENCE_START + shard_index * 10**40 + position * 1_000_003),
            data,
            count,
        )
        for position, (data, count) in enumerate(packed)
    ]


def kinesis_event(
    records: Sequence[StreamRecord],
    *,
    window: tuple[str, str] | None = None,
    state: dict[str, Any] | None = None,
    final: bool = False,
    terminated_early: bool = False,
    shard: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {"Records": [_lambda_record(record) for record in records]}
    if window is not None:
        event |= {
            "window": {"start": window[0], "end": window[1]},
            "state": state or {},
            "shardId": shard or records[0].shard_id,
            "eventSourceARN": STREAM_ARN,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": terminated_early,
        }
    return event


def _lambda_record(record: StreamRecord) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "a",
            "sequenceNumber": record.sequence_number,
            "data": base64.b64encode(record.data).decode(),
            "approximateArrivalTimestamp": ARRIVAL,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{record.shard_id}:{record.sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/riptide-consumer",
        "awsRegion": "eu-west-1",
        "eventSourceARN": STREAM_ARN,
    }


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


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's context object the handlers and Powertools read."""

    remaining_millis: int = 60_000
    function_name: str = "riptide-consumer"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:riptide-consumer"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis
