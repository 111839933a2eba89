"""The KPL aggregated-record wire format, encoded and decoded by hand.

Layout: magic F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf bytes.

    message AggregatedRecord { repeated string partition_key_table = 1;
                               repeated string explicit_hash_key_table = 2;
                               repeated Record records = 3; }
    message Record { required uint64 partition_key_index = 1;
                     optional uint64 explicit_hash_key_index = 2;
                     required bytes data = 3; repeated Tag tags = 4; }

A general protobuf runtime is not a Lambda dependency and spends most of its time building
message objects. This module writes the exact bytes with cached headers and joins, and reads
them with a loop that has a fast path for the layout the KPL and riptide write (index fields
first, then data) and a general path for any other valid field order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

MAGIC = b"\xf3\x89\x9a\xc2"
DIGEST_SIZE = 16
FRAME_OVERHEAD = len(MAGIC) + DIGEST_SIZE

PARTITION_KEY_TABLE_TAG = 0x0A
EXPLICIT_HASH_KEY_TABLE_TAG = 0x12
RECORD_TAG = 0x1A

_PARTITION_KEY_INDEX_TAG = 0x08
_EXPLICIT_HASH_KEY_INDEX_TAG = 0x10
_DATA_TAG = 0x1A

_WIRE_VARINT = 0
_WIRE_FIXED64 = 1
_WIRE_LENGTH_DELIMITED = 2
_WIRE_FIXED32 = 5

_MAX_VARINT_BYTES = 10
_CACHED_LENGTHS = 65_536
"""Headers and sizes are cached for data up to this length, bounding a long-lived cache."""


class WireError(ValueError):
    """The protobuf bytes do not form a valid AggregatedRecord; the message says where."""


def encode_varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative integer."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key_table_entry(tag: int, key: str) -> bytes:
    """One partition-key or explicit-hash-key table entry (tag, length, UTF-8 key)."""
    raw = key.encode()
    return bytes((tag,)) + encode_varint(len(raw)) + raw


class _RecordHeaders(dict[int, bytes]):
    """Record headers by data length, each built on first use."""

    def __init__(self, index_fields: bytes) -> None:
        super().__init__()
        self._index_fields = index_fields

    def __missing__(self, data_length: int) -> bytes:
        inner = self._index_fields + bytes((_DATA_TAG,)) + encode_varint(data_length)
        header = bytes((RECORD_TAG,)) + encode_varint(len(inner) + data_length) + inner
        if data_length < _CACHED_LENGTHS:
            self[data_length] = header
        return header


class _RecordSizes(dict[int, int]):
    """Encoded record sizes (header + data) by data length, each computed on first use."""

    def __init__(self, headers: _RecordHeaders) -> None:
        super().__init__()
        self._headers = headers

    def __missing__(self, data_length: int) -> int:
        size = len(self._headers[data_length]) + data_length
        if data_length < _CACHED_LENGTHS:
            self[data_length] = size
        return size


class RecordLayout:
    """Every byte of a Record except its data, and its encoded size, by data length.

    All records of a riptide aggregate use key index 0, so the bytes before the data depend only
    on the data length: `RECORD_TAG len(record) 08 00 [10 00] 1A len(data)`.
    """

    def __init__(self, with_explicit_hash_key: bool) -> None:
        index_fields = bytes((_PARTITION_KEY_INDEX_TAG, 0))
        if with_explicit_hash_key:
            index_fields += bytes((_EXPLICIT_HASH_KEY_INDEX_TAG, 0))
        self.headers = _RecordHeaders(index_fields)
        self.sizes = _RecordSizes(self.headers)


def seal(body: bytes) -> bytes:
    """Frame protobuf bytes as a KPL aggregate: magic, body, MD5 of the body."""
    return b"".join((MAGIC, body, hashlib.md5(body, usedforsecurity=False).digest()))


@dataclass(frozen=True, slots=True)
class DecodedAggregate:
    """The parts of an AggregatedRecord. Key indexes are filled only when asked for."""

    partition_keys: list[str]
    explicit_hash_keys: list[str]
    payloads: list[bytes]
    partition_key_indexes: list[int]
    explicit_hash_key_indexes: list[int | None]


def _read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    value = 0
    shift = 0
    for _ in range(_MAX_VARINT_BYTES):
        if pos >= end:
            raise WireError(f"varint runs past the end at byte {pos}")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise WireError(f"varint longer than {_MAX_VARINT_BYTES} bytes ending at byte {pos}")


def _skip_field(buf: bytes, pos: int, end: int, tag: int, where: str) -> int:
    wire_type = tag & 0x07
    if tag >> 3 == 0:
        raise WireError(f"{where}: field number 0 at byte {pos}")
    if wire_type == _WIRE_VARINT:
        return _read_varint(buf, pos, end)[1]
    if wire_type == _WIRE_LENGTH_DELIMITED:
        length, pos = _read_varint(buf, pos, end)
        stop = pos + length
    elif wire_type == _WIRE_FIXED64:
        stop = pos + 8
    elif wire_type == _WIRE_FIXED32:
        stop = pos + 4
    else:
        raise WireError(f"{where}: unsupported wire type {wire_type} (tag {tag:#x}) at byte {pos}")
    if stop > end:
        raise WireError(f"{where}: field with tag {tag:#x} runs past the end at byte {pos}")
    return stop


def _decode_record(buf: bytes, pos: int, end: int, where: str) -> tuple[int, int | None, bytes]:
    """General path: a Record with its fields in any order, unknown fields skipped."""
    partition_key_index: int | None = None
    explicit_hash_key_index: int | None = None
    data: bytes | None = None
    while pos < end:
        tag, pos = _read_varint(buf, pos, end)
        if tag == _PARTITION_KEY_INDEX_TAG:
            partition_key_index, pos = _read_varint(buf, pos, end)
        elif tag == _EXPLICIT_HASH_KEY_INDEX_TAG:
            explicit_hash_key_index, pos = _read_varint(buf, pos, end)
        elif tag == _DATA_TAG:
            length, pos = _read_varint(buf, pos, end)
            if pos + length > end:
                raise WireError(f"{where}: data of {length} bytes runs past the record's end")
            data = buf[pos : pos + length]
            pos += length
        elif tag >> 3 in (1, 2, 3):
            raise WireError(f"{where}: field {tag >> 3} has wire type {tag & 7}")
        else:
            pos = _skip_field(buf, pos, end, tag, where)
    if partition_key_index is None:
        raise WireError(f"{where}: required partition_key_index is missing")
    if data is None:
        raise WireError(f"{where}: required data is missing")
    return partition_key_index, explicit_hash_key_index, data


def _decode_key(buf: bytes, pos: int, stop: int, where: str) -> str:
    try:
        return buf[pos:stop].decode()
    except UnicodeDecodeError as error:
        raise WireError(f"{where} is not UTF-8: {error}") from None


class _KnownHeaders(dict[bytes, int]):
    """Data length by the exact bytes before the data, for records in riptide's own layout.

    Learned from records the general path has parsed, and only for headers equal to what
    RecordLayout writes, so a hit proves the record well formed up to its data.
    """

    def __init__(self, layout: RecordLayout, size: int) -> None:
        super().__init__()
        self.headers = layout.headers
        self.size = size

    def learn(self, buf: bytes, pos: int, data_length: int) -> None:
        header = self.headers[data_length]
        if len(header) == self.size and buf[pos : pos + self.size] == header:
            self[header] = data_length


# 8 or 10 header bytes: record and data lengths of 128..16383 bytes, key indexes 0.
_KNOWN = _KnownHeaders(RecordLayout(with_explicit_hash_key=False), 8)
_KNOWN_WITH_EXPLICIT_HASH_KEY = _KnownHeaders(RecordLayout(with_explicit_hash_key=True), 10)


def decode_aggregate(buf: bytes, start: int, end: int, with_keys: bool) -> DecodedAggregate:
    """Parse the AggregatedRecord in buf[start:end]; raises WireError naming the bad record.

    Offsets rather than a slice: the body of an aggregate is not copied out of its record.
    Byte positions in error messages are offsets into `buf`, the whole Kinesis record.
    """
    partition_keys: list[str] = []
    explicit_hash_keys: list[str] = []
    payloads: list[bytes] = []
    add_payload = payloads.append
    known = _KNOWN
    known_get = known.get
    known_size = known.size
    general_keys: dict[int, tuple[int, int | None]] = {}  # by position: records off the fast path
    first_with_explicit_hash_key = -1  # fast-path records from here on have ehk index 0
    highest_pk = highest_ehk = -1
    pos = start
    while pos < end:
        data_length = known_get(buf[pos : pos + known_size])
        if data_length is not None:
            data_at = pos + known_size
            pos = data_at + data_length
            add_payload(buf[data_at:pos])
            continue
        tag_at = pos
        tag = buf[pos]
        pos += 1
        if tag == RECORD_TAG:
            length, pos = _read_varint(buf, pos, end)
            stop = pos + length
            if stop > end:
                raise WireError(
                    f"record {len(payloads)} declares {length} bytes, {end - pos} remain"
                )
            pk, ehk, data = _decode_record(buf, pos, stop, f"record {len(payloads)}")
            if pk == 0:
                known.learn(buf, tag_at, len(data))
            general_keys[len(payloads)] = (pk, ehk)
            add_payload(data)
            pos = stop
            highest_pk = max(highest_pk, pk)
            if ehk is not None:
                highest_ehk = max(highest_ehk, ehk)
        elif tag in (PARTITION_KEY_TABLE_TAG, EXPLICIT_HASH_KEY_TABLE_TAG):
            length, pos = _read_varint(buf, pos, end)
            stop = pos + length
            if stop > end:
                raise WireError(f"key table entry at byte {pos} runs past the end")
            if tag == PARTITION_KEY_TABLE_TAG:
                partition_keys.append(_decode_key(buf, pos, stop, "a partition key"))
            else:
                explicit_hash_keys.append(_decode_key(buf, pos, stop, "an explicit hash key"))
                if first_with_explicit_hash_key < 0:
                    first_with_explicit_hash_key = len(payloads)
                    known = _KNOWN_WITH_EXPLICIT_HASH_KEY
                    known_get = known.get
                    known_size = known.size
            pos = stop
        else:
            if tag & 0x80:
                tag, pos = _read_varint(buf, tag_at, end)
            if tag >> 3 in (1, 2, 3):
                raise WireError(f"field {tag >> 3} has wire type {tag & 7} at byte {tag_at}")
            pos = _skip_field(buf, pos, end, tag, "aggregated record")
    if pos > end:
        raise WireError(
            f"truncated protobuf: record {len(payloads) - 1} runs {pos - end} bytes past the end"
        )
    fast_path_records = len(payloads) - len(general_keys)
    if fast_path_records:
        highest_pk = max(highest_pk, 0)
        if first_with_explicit_hash_key >= 0:
            highest_ehk = max(highest_ehk, 0)
    if highest_pk >= len(partition_keys):
        raise WireError(
            f"a record uses partition key index {highest_pk}, "
            f"the table has {len(partition_keys)} entries"
        )
    if highest_ehk >= len(explicit_hash_keys):
        raise WireError(
            f"a record uses explicit hash key index {highest_ehk}, "
            f"the table has {len(explicit_hash_keys)} entries"
        )
    if not with_keys:
        return DecodedAggregate(partition_keys, explicit_hash_keys, payloads, [], [])
    fast_path_ehk = [None, 0]
    keys = [
        general_keys.get(position)
        or (0, fast_path_ehk[0 <= first_with_explicit_hash_key <= position])
        for position in range(len(payloads))
    ]
    return DecodedAggregate(
        partition_keys,
        explicit_hash_keys,
        payloads,
        [pk for pk, _ in keys],
        [ehk for _, ehk in keys],
    )
