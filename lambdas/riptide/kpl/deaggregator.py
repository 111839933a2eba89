"""Read user records back out of Kinesis records, aggregated (KPL format) or plain.

Plain data passes through as one record. Data that starts with the KPL magic but whose MD5 does
not match, or whose protobuf does not parse, raises CorruptRecordError with the reason: the
records of a damaged aggregate cannot be trusted, and guessing would turn them into garbage
events. Other Kinesis records of the same batch are unaffected.
"""

from __future__ import annotations

import hashlib

from riptide.kpl.exceptions import CorruptRecordError
from riptide.kpl.records import UserRecord
from riptide.kpl.wire import (
    DIGEST_SIZE,
    FRAME_OVERHEAD,
    MAGIC,
    DecodedAggregate,
    WireError,
    decode_aggregate,
)

_MAGIC_SIZE = len(MAGIC)


def _decode(data: bytes, with_keys: bool) -> DecodedAggregate:
    if len(data) < FRAME_OVERHEAD:
        raise CorruptRecordError(
            f"{len(data) - _MAGIC_SIZE} bytes after the magic prefix leave no room for the "
            f"{DIGEST_SIZE}-byte MD5 (the record needs at least {FRAME_OVERHEAD} bytes)"
        )
    end = len(data) - DIGEST_SIZE
    digest = hashlib.md5(memoryview(data)[_MAGIC_SIZE:end], usedforsecurity=False).digest()
    if digest != data[end:]:
        raise CorruptRecordError(
            f"MD5 mismatch over {end - _MAGIC_SIZE} protobuf bytes: "
            f"record says {data[end:].hex()}, content hashes to {digest.hex()}"
        )
    try:
        return decode_aggregate(data, _MAGIC_SIZE, end, with_keys)
    except WireError as error:
        raise CorruptRecordError(f"protobuf does not parse: {error}") from None


def deaggregate(data: bytes) -> list[bytes]:
    """The user record payloads in one Kinesis record's data, in order.

    Raises CorruptRecordError for a damaged aggregate; the caller names the Kinesis record with
    `error.for_sequence_number(...)`.
    """
    if data[:_MAGIC_SIZE] != MAGIC:
        return [data]
    return _decode(data, with_keys=False).payloads


def deaggregate_user_records(
    data: bytes,
    partition_key: str | None = None,
    explicit_hash_key: str | None = None,
) -> list[UserRecord]:
    """Like `deaggregate`, with each record's keys and sub-sequence number (as the KCL gives them).

    `partition_key` and `explicit_hash_key` are the outer Kinesis record's, reported for a plain
    record; for an aggregate the keys come from its own tables.
    """
    if data[:_MAGIC_SIZE] != MAGIC:
        return [UserRecord(data, 0, partition_key, explicit_hash_key, aggregated=False)]
    decoded = _decode(data, with_keys=True)
    pk_table = decoded.partition_keys
    ehk_table = decoded.explicit_hash_keys
    return [
        UserRecord(
            payload,
            sub_sequence_number,
            pk_table[pk_index],
            None if ehk_index is None else ehk_table[ehk_index],
            aggregated=True,
        )
        for sub_sequence_number, (payload, pk_index, ehk_index) in enumerate(
            zip(
                decoded.payloads,
                decoded.partition_key_indexes,
                decoded.explicit_hash_key_indexes,
                strict=True,
            )
        )
    ]
