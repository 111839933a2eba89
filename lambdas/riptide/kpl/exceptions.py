"""Errors of the KPL codec, each carrying what a caller needs to log or act on."""

from __future__ import annotations


class KplError(Exception):
    """Base class for every error raised by riptide.kpl."""


class CorruptRecordError(KplError, ValueError):
    """A Kinesis record carries the KPL magic prefix but its content cannot be trusted.

    Raised instead of guessing: a bad MD5 or unparseable protobuf must never turn into events.
    The de-aggregator does not know which Kinesis record it was given, so the caller adds the
    sequence number with `for_sequence_number` before reporting it.
    """

    def __init__(self, reason: str, sequence_number: str | None = None) -> None:
        self.reason = reason
        self.sequence_number = sequence_number
        where = f"Kinesis record {sequence_number}" if sequence_number else "Kinesis record"
        super().__init__(f"{where} is a corrupt KPL aggregate: {reason}")

    def for_sequence_number(self, sequence_number: str) -> CorruptRecordError:
        """The same error, naming the Kinesis record it came from."""
        return CorruptRecordError(self.reason, sequence_number)


class RecordTooLargeError(KplError, ValueError):
    """A user record cannot fit in one Kinesis record (data + partition key over the limit)."""

    def __init__(self, size: int, limit: int, index: int | None = None) -> None:
        self.size = size
        self.limit = limit
        self.index = index
        which = f"user record {index}" if index is not None else "user record"
        super().__init__(
            f"{which} needs {size:,} bytes with its partition key; "
            f"a Kinesis record holds at most {limit:,} bytes"
        )
