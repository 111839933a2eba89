"""The records the codec hands out: Kinesis records to put, user records read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class KinesisRecord:
    """One record for Kinesis PutRecords: a KPL aggregate, or a single user record sent plain."""

    partition_key: str
    explicit_hash_key: str | None
    data: bytes
    user_record_count: int

    @property
    def billed_bytes(self) -> int:
        """What Kinesis counts against its limits: data plus the UTF-8 partition key."""
        return len(self.data) + len(self.partition_key.encode())

    def put_entry(self) -> dict[str, Any]:
        """This record as one entry of boto3's `put_records(Records=[...])`."""
        entry: dict[str, Any] = {"Data": self.data, "PartitionKey": self.partition_key}
        if self.explicit_hash_key is not None:
            entry["ExplicitHashKey"] = self.explicit_hash_key
        return entry


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One user record read out of a Kinesis record, with the keys and position the KCL reports.

    For a plain (non-aggregated) Kinesis record the keys are the outer record's, as given by the
    caller, and `aggregated` is False.
    """

    data: bytes
    sub_sequence_number: int
    partition_key: str | None
    explicit_hash_key: str | None
    aggregated: bool
