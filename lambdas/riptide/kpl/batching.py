"""Group Kinesis records into PutRecords calls that stay within the API's limits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from riptide.contract import MAX_BYTES_PER_PUT, MAX_RECORDS_PER_PUT
from riptide.kpl.records import KinesisRecord


def put_records_batches(
    records: Sequence[KinesisRecord],
    max_records: int = MAX_RECORDS_PER_PUT,
    max_bytes: int = MAX_BYTES_PER_PUT,
) -> Iterator[list[KinesisRecord]]:
    """Consecutive runs of `records`, each one PutRecords call; order is kept."""
    batch: list[KinesisRecord] = []
    batch_bytes = 0
    for record in records:
        size = record.billed_bytes
        if batch and (len(batch) == max_records or batch_bytes + size > max_bytes):
            yield batch
            batch = []
            batch_bytes = 0
        batch.append(record)
        batch_bytes += size
    if batch:
        yield batch
