"""Pack user records into as few Kinesis records as the size budget allows (KPL format).

Each Kinesis record is billed in 25 KB PUT payload units, rounded up, so aggregates are filled
up to a budget (data + partition key, default 25,000 bytes) and never past it. Records of one
bucket of OrderedKeys are packed strictly in input order, closing an aggregate when the next
record does not fit; unordered records (SpreadKeys, or no ordering key) may also be taken a few
places out of turn to fill the gap a closing aggregate would leave.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter

from riptide.contract import MAX_RECORD_BYTES, PUT_PAYLOAD_UNIT_BYTES
from riptide.kpl.exceptions import RecordTooLargeError
from riptide.kpl.keys import KeyStrategy, RecordKeys, SpreadKeys
from riptide.kpl.records import KinesisRecord
from riptide.kpl.wire import (
    EXPLICIT_HASH_KEY_TABLE_TAG,
    FRAME_OVERHEAD,
    MAGIC,
    PARTITION_KEY_TABLE_TAG,
    RecordLayout,
    key_table_entry,
    seal,
)

MAX_KINESIS_RECORD_BYTES = MAX_RECORD_BYTES
DEFAULT_MAX_RECORD_BYTES = PUT_PAYLOAD_UNIT_BYTES
"""Aggregates fill one PUT payload unit, the smallest billing step of a Kinesis record."""

_MIN_RECORD_BYTES = 1_024
_LOOKAHEAD = 16

_LAYOUT = RecordLayout(with_explicit_hash_key=False)
_LAYOUT_WITH_EXPLICIT_HASH_KEY = RecordLayout(with_explicit_hash_key=True)


def _can_go_plain(payload: bytes) -> bool:
    """A lone user record may be sent as is unless a reader could mistake it for an aggregate."""
    return len(payload) > 0 and not payload.startswith(MAGIC)


class Aggregator:
    """Turn user records into Kinesis records in the KPL aggregated format.

    Usage:
        aggregator = Aggregator(OrderedKeys(buckets=64))
        records = aggregator.aggregate((event.user_id, event_bytes) for event in events)
        for batch in put_records_batches(records): ...

    A user record too large for the budget goes out alone as a plain record (as the KPL does),
    up to Kinesis' 1 MiB limit; a larger one raises RecordTooLargeError naming its index.
    `pack` also says which input positions each record holds, so that a caller packing the
    records of many requests together can tell each request the fate of its own records.
    """

    def __init__(
        self,
        keys: KeyStrategy | None = None,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        if not _MIN_RECORD_BYTES <= max_record_bytes <= MAX_KINESIS_RECORD_BYTES:
            raise ValueError(
                f"max_record_bytes must be within {_MIN_RECORD_BYTES:,}.."
                f"{MAX_KINESIS_RECORD_BYTES:,}, got {max_record_bytes:,}"
            )
        self.keys: KeyStrategy = keys if keys is not None else SpreadKeys()
        self.max_record_bytes = max_record_bytes

    def aggregate(self, user_records: Iterable[tuple[str | None, bytes]]) -> list[KinesisRecord]:
        """Pack (ordering key or None, payload) pairs; per ordering key, output keeps input order.

        Under SpreadKeys the ordering key is ignored and records are spread over all shards.
        """
        return [record for record, _ in self.pack(user_records)]

    def pack(
        self, user_records: Iterable[tuple[str | None, bytes]]
    ) -> list[tuple[KinesisRecord, Sequence[int]]]:
        """As `aggregate`, each record with the input positions of the user records it holds."""
        records = user_records if isinstance(user_records, list) else list(user_records)
        out: list[tuple[KinesisRecord, Sequence[int]]] = []
        try:
            for group, (payloads, positions) in self._groups(records).items():
                self._pack(group, payloads, positions, out)
        except _OversizeRecord as oversize:
            index = next(i for i, (_, payload) in enumerate(records) if payload is oversize.payload)
            raise RecordTooLargeError(oversize.size, MAX_KINESIS_RECORD_BYTES, index) from None
        return out

    def _groups(
        self, records: list[tuple[str | None, bytes]]
    ) -> dict[int | None, tuple[list[bytes], list[int] | None]]:
        """Payloads by the group whose aggregates they share, each group in input order, with
        their input positions (None when the group is the whole input)."""
        keys = self.keys
        if not keys.ordered:
            return {None: (list(map(itemgetter(1), records)), None)}
        bucket_of = keys.bucket_of
        bucket_by_key: dict[str | None, int | None] = {None: None}
        groups: dict[int | None, tuple[list[bytes], list[int] | None]] = {}
        for position, (ordering_key, payload) in enumerate(records):
            bucket = bucket_by_key.get(ordering_key, -1)
            if bucket == -1:
                bucket = bucket_by_key[ordering_key] = bucket_of(ordering_key)  # type: ignore[arg-type]
            group = groups.get(bucket)
            if group is None:
                groups[bucket] = ([payload], [position])
            else:
                group[0].append(payload)
                group[1].append(position)  # type: ignore[union-attr]
        return groups

    def _pack(
        self,
        group: int | None,
        payloads: list[bytes],
        positions: list[int] | None,
        out: list[tuple[KinesisRecord, Sequence[int]]],
    ) -> None:
        """Fill aggregates of one group, closing each when the next record won't fit.

        Unordered records (group None) may be taken out of turn to fill the gap a closing
        aggregate leaves; ordered groups are packed strictly in input order. Encoded sizes are
        looked up for all records at once, leaving only the size accounting per record.
        """
        keys_for = self.keys.keys_for
        keys = keys_for(group)
        layout, tables, room = self._layout(keys)
        sizes = list(map(layout.sizes.__getitem__, map(len, payloads)))
        may_reorder = group is None
        taken: set[int] = set()  # positions already packed out of turn, not yet reached
        skipped: list[int] = []  # positions of the current run packed out of turn
        start = 0
        for index, size in enumerate(sizes):
            if taken and index in taken:
                taken.discard(index)
                skipped.append(index)
                continue
            if size <= room:
                room -= size
                continue
            members = _run(start, index, skipped)
            skipped = []
            if members:
                if may_reorder:
                    members = [*members, *_fill_gap(room, sizes, index + 1, taken)]
                record = _close(keys, tables, layout, _take(payloads, members))
                out.append((record, _input_positions(members, positions)))
                keys = keys_for(group)
                layout, tables, room = self._layout(keys)
            start = index
            if size > room:
                record = _alone(keys, tables, layout, payloads[index])
                out.append((record, _input_positions([index], positions)))
                start = index + 1
                continue
            room -= size
        members = _run(start, len(payloads), skipped)
        if members:
            record = _close(keys, tables, layout, _take(payloads, members))
            out.append((record, _input_positions(members, positions)))

    def _layout(self, keys: RecordKeys) -> tuple[RecordLayout, bytes, int]:
        """Record layout, key tables and room for records of an aggregate with these keys."""
        tables = key_table_entry(PARTITION_KEY_TABLE_TAG, keys.partition_key)
        layout = _LAYOUT
        if keys.explicit_hash_key is not None:
            tables += key_table_entry(EXPLICIT_HASH_KEY_TABLE_TAG, keys.explicit_hash_key)
            layout = _LAYOUT_WITH_EXPLICIT_HASH_KEY
        overhead = len(keys.partition_key.encode()) + FRAME_OVERHEAD + len(tables)
        return layout, tables, self.max_record_bytes - overhead


def _run(start: int, stop: int, skipped: list[int]) -> Sequence[int]:
    """Positions start..stop-1 except those an earlier aggregate took out of turn."""
    if not skipped:
        return range(start, stop)
    return [index for index in range(start, stop) if index not in skipped]


def _take(payloads: list[bytes], members: Sequence[int]) -> list[bytes]:
    if isinstance(members, range):
        return payloads[members.start : members.stop]
    return list(map(payloads.__getitem__, members))


def _input_positions(members: Sequence[int], positions: list[int] | None) -> Sequence[int]:
    """Where a record's members were in the input, given their places within their group."""
    if positions is None:
        return members
    return list(map(positions.__getitem__, members))


def _fill_gap(room: int, sizes: list[int], start: int, taken: set[int]) -> list[int]:
    """Positions of the largest upcoming records that still fit into a closing aggregate.

    Looks at most _LOOKAHEAD records ahead: enough to halve the space left unused in a typical
    aggregate of 0.5-1 KB events, cheap enough to cost little per record.
    """
    chosen: list[int] = []
    window = sizes[start : start + _LOOKAHEAD]
    while window and min(window) <= room:
        fitting = [
            (size, index)
            for index, size in enumerate(window, start)
            if size <= room and index not in taken
        ]
        if not fitting:
            break
        size, index = max(fitting)
        chosen.append(index)
        taken.add(index)
        room -= size
    return chosen


class _OversizeRecord(Exception):
    """Raised inside packing, turned into RecordTooLargeError with the record's input index."""

    def __init__(self, payload: bytes, size: int) -> None:
        self.payload = payload
        self.size = size


def _close(
    keys: RecordKeys, tables: bytes, layout: RecordLayout, payloads: list[bytes]
) -> KinesisRecord:
    if len(payloads) == 1 and _can_go_plain(payloads[0]):
        return KinesisRecord(keys.partition_key, keys.explicit_hash_key, payloads[0], 1)
    parts = [tables, *payloads, *payloads]
    parts[1::2] = map(layout.headers.__getitem__, map(len, payloads))
    parts[2::2] = payloads
    data = seal(b"".join(parts))
    return KinesisRecord(keys.partition_key, keys.explicit_hash_key, data, len(payloads))


def _alone(keys: RecordKeys, tables: bytes, layout: RecordLayout, payload: bytes) -> KinesisRecord:
    """A user record over the budget: plain if it can be, else a one-record aggregate."""
    data = (
        payload if _can_go_plain(payload) else seal(tables + layout.headers[len(payload)] + payload)
    )
    size = len(data) + len(keys.partition_key.encode())
    if size > MAX_KINESIS_RECORD_BYTES:
        raise _OversizeRecord(payload, size)
    return KinesisRecord(keys.partition_key, keys.explicit_hash_key, data, 1)
