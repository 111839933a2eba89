"""Damaged aggregates are reported with a reason, never read as events, and never stop a batch."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riptide.kpl import (
    MAGIC,
    Aggregator,
    CorruptRecordError,
    SpreadKeys,
    deaggregate,
    deaggregate_user_records,
)
from tests.kpl.references import frame, protobuf_decode


def good_aggregate(count: int = 5) -> bytes:
    user_records = [(None, f'{{"event":"Product Viewed","n":{n}}}'.encode()) for n in range(count)]
    (record,) = Aggregator(SpreadKeys()).aggregate(user_records)
    return record.data


def body_of(data: bytes) -> bytes:
    return data[len(MAGIC) : -16]


def reason_for(data: bytes) -> str:
    with pytest.raises(CorruptRecordError) as caught:
        deaggregate(data)
    with pytest.raises(CorruptRecordError):
        deaggregate_user_records(data)
    return caught.value.reason


def test_bad_md5_is_reported_with_both_digests():
    data = bytearray(good_aggregate())
    data[-1] ^= 0xFF

    reason = reason_for(bytes(data))

    assert "MD5 mismatch" in reason
    assert data[-16:].hex() in reason


def test_flipped_payload_byte_is_caught_by_the_md5():
    data = bytearray(good_aggregate())
    data[len(data) // 2] ^= 0x01

    assert "MD5 mismatch" in reason_for(bytes(data))


def test_too_short_for_an_md5():
    assert "no room for the 16-byte MD5" in reason_for(MAGIC + b"\x0a\x01a")


@pytest.mark.parametrize("cut", [1, 5, 17])
def test_truncated_protobuf_with_a_matching_md5(cut):
    body = body_of(good_aggregate())[:-cut]

    assert "past the end" in reason_for(frame(body)) or "remain" in reason_for(frame(body))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"\x0a\x01a\x18\x05", "field 3 has wire type 0"),
        (b"\x0a\x01a\x2f\x00", "unsupported wire type 7"),
        (b"\x0a\x01a\x1a\x04\x08\x00\x1d\x00", "record 0: field 3 has wire type 5"),
        (b"\x0a\x01a\x1a\x02\x08\x00", "record 0: required data is missing"),
        (b"\x0a\x01a\x1a\x03\x1a\x01x", "record 0: required partition_key_index is missing"),
        (b"\x0a\x01a\x1a\x05\x08\x01\x1a\x01x", "partition key index 1, the table has 1"),
        (b"\x0a\x01a\x1a\x07\x08\x00\x10\x00\x1a\x01x", "explicit hash key index 0, the table"),
        (b"\x0a\x01\xff\x1a\x05\x08\x00\x1a\x01x", "partition key is not UTF-8"),
        (b"\x0a\x01a\x02\x00", "field number 0"),
        (b"\x0a\x01a\x1a\x05\x08\xff\xff\xff\xff", "past the end"),
        (b"\x0a" + b"\xff" * 11, "varint longer than 10 bytes"),
    ],
)
def test_malformed_protobuf_names_what_is_wrong(body, expected):
    assert expected in reason_for(frame(body))


def test_error_names_the_kinesis_record_once_the_caller_adds_it():
    with pytest.raises(CorruptRecordError) as caught:
        deaggregate(MAGIC + b"\x00" * 20)

    named = caught.value.for_sequence_number("49590338271490256608559692538361571095921575989")

    assert named.sequence_number == "49590338271490256608559692538361571095921575989"
    assert named.reason == caught.value.reason
    assert str(named).startswith("Kinesis record 49590338271490256608559692538361571095921575989")


def test_good_records_of_a_batch_survive_a_corrupt_one():
    good = good_aggregate(3)
    corrupt = good[:-1] + bytes([good[-1] ^ 1])
    plain = b'{"event":"Order Completed"}'
    batch = [("1", good), ("2", corrupt), ("3", plain), ("4", good)]

    events, failures = [], []
    for sequence_number, data in batch:
        try:
            events += deaggregate(data)
        except CorruptRecordError as error:
            failures.append(error.for_sequence_number(sequence_number))

    assert events == [*deaggregate(good), plain, *deaggregate(good)]
    assert [failure.sequence_number for failure in failures] == ["2"]


def test_plain_records_pass_through_untouched():
    for data in (b"", b"{}", b"\xf3\x89\x9a", b"not json at all \x00\xff"):
        assert deaggregate(data) == [data]
        (user,) = deaggregate_user_records(data, "pk-1", None)
        assert (user.data, user.partition_key, user.aggregated) == (data, "pk-1", False)


@settings(max_examples=300)
@given(st.data())
def test_any_damage_behind_a_valid_md5_is_reported_or_read_as_protobuf_reads_it(data):
    body = bytearray(body_of(good_aggregate(4)))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(body) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            body[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del body[position:]
            if not body:
                break
        else:
            body[position:position] = data.draw(st.binary(min_size=1, max_size=4))
    damaged = frame(bytes(body))

    try:
        ours = deaggregate(damaged)
    except CorruptRecordError:
        return
    try:
        theirs = [record.data for record in protobuf_decode(damaged)]
    except Exception:  # the protobuf runtime rejects some records we accept (e.g. bad tags)
        return
    assert ours == theirs


def test_md5_is_checked_over_the_protobuf_bytes_only():
    data = good_aggregate()

    assert data[-16:] == hashlib.md5(body_of(data)).digest()
