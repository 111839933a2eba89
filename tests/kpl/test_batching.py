"""PutRecords grouping: within 500 records and 5 MiB (data + partition keys), order kept."""

import itertools

from hypothesis import example, given
from hypothesis import strategies as st

from riptide.kpl import (
    MAX_BYTES_PER_PUT,
    MAX_KINESIS_RECORD_BYTES,
    MAX_RECORDS_PER_PUT,
    KinesisRecord,
    put_records_batches,
)


def record(size: int, partition_key: str = "pk") -> KinesisRecord:
    return KinesisRecord(partition_key, None, b"\x00" * size, 1)


def test_many_small_records_split_at_five_hundred():
    records = [record(10) for _ in range(1_201)]

    batches = list(put_records_batches(records))

    assert [len(batch) for batch in batches] == [500, 500, 201]


def test_large_records_split_at_five_mebibytes_counting_partition_keys():
    one_mebibyte_with_key = record(MAX_KINESIS_RECORD_BYTES - 2)  # + "pk" = 1 MiB exactly
    records = [one_mebibyte_with_key] * 6

    batches = list(put_records_batches(records))

    assert [len(batch) for batch in batches] == [5, 1]
    assert sum(r.billed_bytes for r in batches[0]) == MAX_BYTES_PER_PUT


def test_no_records_no_calls():
    assert list(put_records_batches([])) == []


LARGEST_DATA = 3_000
LONGEST_KEY = 5
LARGEST_RECORD_BYTES = LARGEST_DATA + 4 * LONGEST_KEY
"""Billed bytes of the largest record drawn: a character of a key is up to 4 UTF-8 bytes."""


@given(
    st.lists(
        st.tuples(st.integers(0, LARGEST_DATA), st.text(min_size=1, max_size=LONGEST_KEY)),
        max_size=200,
    ),
    st.integers(1, 20),
    st.integers(LARGEST_RECORD_BYTES, 12_000),
)
@example([(LARGEST_DATA - 1, "\u0800" * 4)], 1, LARGEST_RECORD_BYTES)  # a 12-byte, 4-character key
@example([(LARGEST_DATA, "\U0001f600" * LONGEST_KEY)] * 2, 2, LARGEST_RECORD_BYTES)
def test_batches_keep_order_and_respect_both_limits(shapes, max_records, max_bytes):
    records = [record(size, key) for size, key in shapes]

    batches = list(put_records_batches(records, max_records=max_records, max_bytes=max_bytes))

    assert [r for batch in batches for r in batch] == records
    for batch in batches:
        assert 1 <= len(batch) <= max_records
        assert sum(r.billed_bytes for r in batch) <= max_bytes
    for earlier, later in itertools.pairwise(batches):
        # A batch closes only when the next record would break a limit.
        assert (
            len(earlier) == max_records
            or sum(r.billed_bytes for r in earlier) + later[0].billed_bytes > max_bytes
        )


def test_defaults_are_the_kinesis_limits():
    assert (MAX_RECORDS_PER_PUT, MAX_BYTES_PER_PUT) == (500, 5 * 1024 * 1024)
