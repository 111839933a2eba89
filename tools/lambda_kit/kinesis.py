"""Kinesis event-source events as Lambda builds them: records, and the tumbling-window fields."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from riptide.contract import PUT_PAYLOAD_UNIT_BYTES
from tools.lambda_kit.context import ACCOUNT_ID, REGION

SEQUENCE_START = 49_659_813_423_189_745_003_432_095_917_234_980_324_559_238_240_986_624
"""A 56-digit sequence number, the size Kinesis hands out."""
ARRIVAL = 1_795_737_600.0
"""2026-11-27T00:00:00Z, when stand-in records arrive unless told otherwise."""


@dataclass(frozen=True)
class KinesisSource:
    """The stream an event comes from and the role Lambda reads it with, as events name them."""

    stream_arn: str
    region: str
    invoke_identity_arn: str


EXAMPLE_SOURCE = KinesisSource(
    stream_arn=f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/riptide-events",
    region=REGION,
    invoke_identity_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/riptide-consumer",
)


@dataclass(frozen=True)
class StreamRecord:
    """One record as the stream holds it (possibly a KPL aggregate of many user records)."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float

    @property
    def sequence(self) -> int:
        return int(self.sequence_number)

    @property
    def put_payload_units(self) -> int:
        return math.ceil(
            (len(self.data) + len(self.partition_key.encode())) / PUT_PAYLOAD_UNIT_BYTES
        )

    @property
    def invoke_bytes(self) -> int:
        """About what the record adds to an invoke payload (base64 data and the fields)."""
        return len(self.data) * 4 // 3 + len(self.partition_key) + 400


@dataclass(frozen=True)
class ArrivalWindow:
    """The tumbling window the mapping puts a record in, by its arrival time (epoch seconds)."""

    start: float
    end: float

    @classmethod
    def around(cls, arrival: float, seconds: int) -> ArrivalWindow:
        start = math.floor(arrival / seconds) * seconds
        return cls(start, start + seconds)

    def to_json(self) -> dict[str, str]:
        return {"start": iso(self.start, millis=False), "end": iso(self.end, millis=False)}


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def shard_stream_records(
    shard_index: int, contents: Iterable[tuple[str, bytes]], *, arrival: float = ARRIVAL
) -> list[StreamRecord]:
    """(partition key, data) pairs as records of one shard: sequence numbers grow with gaps and
    differ from shard to shard, as Kinesis hands them out."""
    return [
        StreamRecord(
            shard_id=shard_id(shard_index),
            sequence_number=str(SEQUENCE_START + shard_index * 10**40 + position * 1_000_003),
            partition_key=partition_key,
            data=data,
            arrival=arrival,
        )
        for position, (partition_key, data) in enumerate(contents)
    ]


def kinesis_event(
    records: Sequence[StreamRecord],
    *,
    source: KinesisSource = EXAMPLE_SOURCE,
    window: ArrivalWindow | None = None,
    state: dict[str, Any] | None = None,
    final: bool = False,
    terminated_early: bool = False,
    shard: str | None = None,
) -> dict[str, Any]:
    """The event of one invoke; with a window, its fields and the state to carry (`shard` names
    the shard of a window invoke without records)."""
    event: dict[str, Any] = {"Records": [lambda_record(record, source) for record in records]}
    if window is not None:
        event |= {
            "window": window.to_json(),
            "state": state or {},
            "shardId": shard or records[0].shard_id,
            "eventSourceARN": source.stream_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": terminated_early,
        }
    return event


def lambda_record(record: StreamRecord, source: KinesisSource = EXAMPLE_SOURCE) -> dict[str, Any]:
    """One entry of an event's `Records`."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.partition_key,
            "sequenceNumber": record.sequence_number,
            "data": base64.b64encode(record.data).decode(),
            "approximateArrivalTimestamp": round(record.arrival, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{record.shard_id}:{record.sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": source.invoke_identity_arn,
        "awsRegion": source.region,
        "eventSourceARN": source.stream_arn,
    }


def iso(epoch: float, *, millis: bool = True) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds" if millis else "seconds").replace("+00:00", "Z")
