"""What the producer sees from Aggregator: record sizes, plain records, limits and density."""

import math
import random

import msgspec
import pytest

from riptide.kpl import (
    DEFAULT_MAX_RECORD_BYTES,
    MAGIC,
    MAX_KINESIS_RECORD_BYTES,
    Aggregator,
    KinesisRecord,
    OrderedKeys,
    RecordTooLargeError,
    SpreadKeys,
    deaggregate,
)
from tools.traffic import generate_events


def event(n: int, size: int = 300) -> bytes:
    body = f'{{"type":"track","event":"Product Viewed","n":{n},"pad":"'.encode()
    return body + b"x" * max(0, size - len(body) - 2) + b'"}'


def test_a_lone_small_event_goes_out_plain_like_the_kpl_sends_it():
    (record,) = Aggregator(SpreadKeys()).aggregate([(None, event(1))])

    assert record.data == event(1)
    assert record.user_record_count == 1


def test_many_events_share_few_records_each_within_one_put_payload_unit():
    user_records = [(None, event(n)) for n in range(1_000)]

    records = Aggregator(SpreadKeys()).aggregate(user_records)

    # Each 300-byte event takes 308 bytes framed; ~50 bytes of frame and keys per record.
    assert len(records) == math.ceil(1_000 / ((DEFAULT_MAX_RECORD_BYTES - 50) // 308))
    assert all(record.billed_bytes <= DEFAULT_MAX_RECORD_BYTES for record in records)
    assert all(record.data.startswith(MAGIC) for record in records)


def test_an_event_over_the_budget_goes_out_alone_and_plain_between_its_neighbours():
    big = event(2, size=30_000)
    user_records = [("u1", event(1)), ("u1", big), ("u1", event(3))]

    records = Aggregator(OrderedKeys(buckets=1)).aggregate(user_records)

    assert [record.data for record in records] == [event(1), big, event(3)]
    assert records[1].billed_bytes > DEFAULT_MAX_RECORD_BYTES
    assert len({record.explicit_hash_key for record in records}) == 1


def test_an_event_over_one_mebibyte_is_refused_with_its_position_and_size():
    user_records = [(None, event(0)), (None, b"x" * MAX_KINESIS_RECORD_BYTES)]

    with pytest.raises(RecordTooLargeError) as caught:
        Aggregator(SpreadKeys()).aggregate(user_records)

    assert caught.value.index == 1
    assert caught.value.size > MAX_KINESIS_RECORD_BYTES
    assert "user record 1 needs 1,048,5" in str(caught.value)
    assert "at most 1,048,576 bytes" in str(caught.value)


def test_a_lone_payload_that_looks_aggregated_is_wrapped_so_it_reads_back_unchanged():
    lookalike = MAGIC + b"not really an aggregate"

    (record,) = Aggregator(SpreadKeys()).aggregate([(None, lookalike)])

    assert record.data != lookalike
    assert deaggregate(record.data) == [lookalike]


def test_a_lone_empty_payload_is_wrapped_rather_than_sent_as_empty_data():
    (record,) = Aggregator(SpreadKeys()).aggregate([(None, b"")])

    assert record.data.startswith(MAGIC)
    assert deaggregate(record.data) == [b""]


def test_nothing_in_nothing_out():
    assert Aggregator(SpreadKeys()).aggregate([]) == []


@pytest.mark.parametrize("budget", [0, 1_023, MAX_KINESIS_RECORD_BYTES + 1])
def test_budget_outside_kinesis_limits_is_refused(budget):
    with pytest.raises(ValueError, match="max_record_bytes must be within"):
        Aggregator(SpreadKeys(), max_record_bytes=budget)


def test_put_entry_is_what_boto3_put_records_takes():
    spread = KinesisRecord("pk-é", None, b"data", 1)
    ordered = KinesisRecord("b3", "12345", b"data", 2)

    assert spread.put_entry() == {"Data": b"data", "PartitionKey": "pk-é"}
    assert ordered.put_entry() == {
        "Data": b"data",
        "PartitionKey": "b3",
        "ExplicitHashKey": "12345",
    }
    assert spread.billed_bytes == 4 + len("pk-é".encode())


def realistic_corpus(count: int) -> list[tuple[str, bytes]]:
    encode = msgspec.json.Encoder().encode
    return [
        (str(event.get("userId") or event["anonymousId"]), encode(event))
        for event in generate_events(count, seed=11)
    ]


def test_shopper_traffic_packs_within_two_percent_of_the_put_unit_floor():
    corpus = realistic_corpus(20_000)
    payload_bytes = sum(len(payload) for _, payload in corpus)

    records = Aggregator(SpreadKeys(random.Random(1))).aggregate(corpus)

    units = sum(math.ceil(record.billed_bytes / DEFAULT_MAX_RECORD_BYTES) for record in records)
    encoded_floor = math.ceil(sum(r.billed_bytes for r in records) / DEFAULT_MAX_RECORD_BYTES)
    assert units <= encoded_floor * 1.02
    # The format adds 8 bytes per event (record framing the KCL requires) on top of packing.
    framing_bytes = 8 * len(corpus)
    assert units <= math.ceil((payload_bytes + framing_bytes) / DEFAULT_MAX_RECORD_BYTES) * 1.02
