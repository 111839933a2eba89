"""Kinesis records as a Lambda event source mapping hands them to the consumer."""

from __future__ import annotations

import base64
from typing import Any

from riptide.kpl import KinesisRecord

LambdaRecord = dict[str, Any]


def lambda_event_records(records: list[KinesisRecord]) -> list[LambdaRecord]:
    """One shard's records, base64 and all, as in a Lambda Kinesis event."""
    return [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record.partition_key,
                "sequenceNumber": str(index),
                "data": base64.b64encode(record.data).decode("ascii"),
                "approximateArrivalTimestamp": 1_795_770_000.0 + index,
            },
            "eventSource": "aws:kinesis",
            "eventID": f"shardId-000000000000:{index}",
        }
        for index, record in enumerate(records)
    ]
