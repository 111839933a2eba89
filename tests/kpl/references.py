"""Independent KPL implementations to check riptide.kpl against, and the golden fixtures.

- The protobuf runtime, with the KPL `messages.proto` schema built from a descriptor at test time
  (no protoc): a second encoder and decoder of the AggregatedRecord message.
- aws_kinesis_agg, the Python aggregation library published by AWS.
- Aggregated records written by the real KPL (data/kpl_golden.json says where they come from).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import aws_kinesis_agg.aggregator as agg_lib_aggregator
from aws_kinesis_agg.deaggregator import deaggregate_records
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from riptide.kpl import MAGIC, KinesisRecord

LABEL_OPTIONAL = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
LABEL_REQUIRED = descriptor_pb2.FieldDescriptorProto.LABEL_REQUIRED
LABEL_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
TYPE_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
TYPE_UINT64 = descriptor_pb2.FieldDescriptorProto.TYPE_UINT64
TYPE_BYTES = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
TYPE_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE

# (message, [(field, number, label, type, message type)]) as in the KPL's messages.proto.
_SCHEMA = [
    (
        "Tag",
        [
            ("key", 1, LABEL_REQUIRED, TYPE_STRING, None),
            ("value", 2, LABEL_OPTIONAL, TYPE_STRING, None),
        ],
    ),
    (
        "Record",
        [
            ("partition_key_index", 1, LABEL_REQUIRED, TYPE_UINT64, None),
            ("explicit_hash_key_index", 2, LABEL_OPTIONAL, TYPE_UINT64, None),
            ("data", 3, LABEL_REQUIRED, TYPE_BYTES, None),
            ("tags", 4, LABEL_REPEATED, TYPE_MESSAGE, ".kpl.test.Tag"),
        ],
    ),
    (
        "AggregatedRecord",
        [
            ("partition_key_table", 1, LABEL_REPEATED, TYPE_STRING, None),
            ("explicit_hash_key_table", 2, LABEL_REPEATED, TYPE_STRING, None),
            ("records", 3, LABEL_REPEATED, TYPE_MESSAGE, ".kpl.test.Record"),
        ],
    ),
]


def _build_schema() -> dict[str, type]:
    file = descriptor_pb2.FileDescriptorProto(
        name="kpl_messages_test.proto", package="kpl.test", syntax="proto2"
    )
    for message_name, fields in _SCHEMA:
        message = file.message_type.add(name=message_name)
        for name, number, label, field_type, type_name in fields:
            field = message.field.add(name=name, number=number, label=label, type=field_type)
            if type_name:
                field.type_name = type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"kpl.test.{name}"))
        for name, _ in _SCHEMA
    }


PROTO = _build_schema()
AggregatedRecordMessage = PROTO["AggregatedRecord"]


@dataclass(frozen=True)
class ReferenceRecord:
    """A user record as a reference implementation reports it."""

    partition_key: str
    explicit_hash_key: str | None
    data: bytes


def frame(body: bytes) -> bytes:
    """Wrap protobuf bytes as a KPL aggregate, independently of riptide.kpl."""
    return MAGIC + body + hashlib.md5(body).digest()


def protobuf_decode(data: bytes) -> list[ReferenceRecord]:
    """User records of an aggregate, read by the protobuf runtime (checks magic and MD5 too)."""
    assert data[:4] == MAGIC
    body, digest = data[4:-16], data[-16:]
    assert hashlib.md5(body).digest() == digest
    message = AggregatedRecordMessage()
    message.ParseFromString(body)
    return [
        ReferenceRecord(
            message.partition_key_table[record.partition_key_index],
            message.explicit_hash_key_table[record.explicit_hash_key_index]
            if record.HasField("explicit_hash_key_index")
            else None,
            record.data,
        )
        for record in message.records
    ]


def protobuf_encode(
    partition_keys: list[str],
    explicit_hash_keys: list[str],
    records: list[tuple[int, int | None, bytes]],
    tags: dict[int, list[tuple[str, str]]] | None = None,
) -> bytes:
    """A KPL aggregate written by the protobuf runtime: key tables and (pk, ehk, data) records."""
    message = AggregatedRecordMessage()
    message.partition_key_table.extend(partition_keys)
    message.explicit_hash_key_table.extend(explicit_hash_keys)
    for position, (pk_index, ehk_index, data) in enumerate(records):
        record = message.records.add(partition_key_index=pk_index, data=data)
        if ehk_index is not None:
            record.explicit_hash_key_index = ehk_index
        for key, value in (tags or {}).get(position, []):
            record.tags.add(key=key, value=value)
    return frame(message.SerializeToString())


def agg_lib_decode(record: KinesisRecord) -> list[ReferenceRecord]:
    """User records of a Kinesis record as aws_kinesis_agg reads it from a Lambda event."""
    lambda_record = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "approximateArrivalTimestamp": 1_764_230_400.0,
            "partitionKey": record.partition_key,
            "data": base64.b64encode(record.data).decode(),
        }
    }
    return [
        ReferenceRecord(
            user["kinesis"]["partitionKey"],
            user["kinesis"].get("explicitHashKey"),
            base64.b64decode(user["kinesis"]["data"]),
        )
        for user in deaggregate_records([lambda_record])
    ]


def agg_lib_encode(
    user_records: list[tuple[str, str | None, bytes]], max_size: int = 25_000
) -> list[tuple[str, str | None, bytes]]:
    """(partition key, explicit hash key, data) triples aggregated by aws_kinesis_agg."""
    aggregator = agg_lib_aggregator.RecordAggregator(max_size=max_size)
    out = []
    for partition_key, explicit_hash_key, data in user_records:
        full = aggregator.add_user_record(partition_key, data, explicit_hash_key)
        if full is not None:
            out.append(full.get_contents())
    if aggregator.get_num_user_records():
        out.append(aggregator.clear_and_get().get_contents())
    return out


@dataclass(frozen=True)
class GoldenFixture:
    name: str
    data: bytes
    user_records: list[ReferenceRecord]


def golden_fixtures() -> list[GoldenFixture]:
    document = json.loads((Path(__file__).parent / "data" / "kpl_golden.json").read_text())
    return [
        GoldenFixture(
            name,
            base64.b64decode(fixture["data_base64"]),
            [ReferenceRecord(pk, ehk, data.encode()) for pk, ehk, data in fixture["user_records"]],
        )
        for name, fixture in document["fixtures"].items()
    ]
