"""Side-lining of records that cannot be rolled up, with what is needed to replay them.

Bad input must never take good events down with it, and must never vanish either: each bad
record is kept, raw bytes and all, with its position in the shard and the reason, in one NDJSON
object per invocation. The key (date, shard, first sequence number of the batch) makes a
redelivery of the same batch overwrite its own object instead of adding a copy.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec
from botocore.exceptions import BotoCoreError, ClientError


class QuarantineReason(StrEnum):
    CORRUPT_RECORD = "corrupt_record"
    INVALID_EVENT = "invalid_event"
    LATE_EVENT = "late_event"
    UNREADABLE_WINDOW_STATE = "unreadable_window_state"


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """A Kinesis record (sub_sequence None: the whole aggregate) or one user record inside it."""

    sequence_number: str
    sub_sequence_number: int | None
    reason: QuarantineReason
    detail: str
    data: bytes

    def to_json(self, shard_id: str) -> dict[str, Any]:
        return {
            "shardId": shard_id,
            "sequenceNumber": self.sequence_number,
            "subSequenceNumber": self.sub_sequence_number,
            "reason": self.reason.value,
            "detail": self.detail,
            "data": base64.b64encode(self.data).decode(),
        }


class QuarantineWriteError(Exception):
    """The quarantine object could not be stored; the batch must be retried, not acknowledged."""


class Quarantine:
    """Writes quarantined records to `bucket`; `s3` is a boto3 S3 client."""

    def __init__(self, s3: Any, bucket: str, clock: Any = time.time) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._clock = clock

    def write(self, shard_id: str, records: list[QuarantinedRecord]) -> str:
        """Store `records` as one NDJSON object and return its key.

        The key names the first and last record it holds, so a retry that quarantines fewer
        records (some now covered by a delivery) writes beside the earlier object, never over it.
        """
        day = time.strftime("%Y-%m-%d", time.gmtime(self._clock()))
        first, last = records[0], records[-1]
        key = (
            f"dt={day}/shard={shard_id}/{first.sequence_number}.{first.sub_sequence_number or 0}"
            f"_{last.sequence_number}.{last.sub_sequence_number or 0}.ndjson"
        )
        body = b"".join(msgspec.json.encode(record.to_json(shard_id)) + b"\n" for record in records)
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType="application/x-ndjson"
            )
        except (BotoCoreError, ClientError) as error:
            raise QuarantineWriteError(
                f"could not store {len(records)} quarantined record(s) "
                f"at s3://{self._bucket}/{key}: {error}"
            ) from error
        return key
