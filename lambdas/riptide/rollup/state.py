"""The rollup as compact JSON for Lambda's tumbling-window state (1 MB per shard).

Rows are stored column by column (minutes as offsets from the first; each dimension as its
distinct values and one small index per row; each sum; each sketch), as MessagePack,
zlib-compressed and base64-encoded into one string: about a quarter of the size of plain JSON
rows, and columns move between Python and MessagePack in C-level loops.
Sketches go in their updatable form, which keeps their internal order, so a round trip gives
back rows identical to the byte. A multi-value dimension's value (a sorted tuple of strings) is
one entry of its column's distinct values, as an array. The surrounding JSON names the layout,
so a state written under other settings is refused rather than misread; one written before
dimensions were added (a deploy that adds dimensions, with windows open) is read with those
dimensions empty, so a settings change never quarantines the open windows' events.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from itertools import repeat
from operator import itemgetter
from typing import Any

import msgspec

from riptide.rollup.layout import RowLayout

VERSION = 1
_COMPRESSION_LEVEL = 1
_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024

Rows = dict[tuple[int, tuple[Any, ...]], list[Any]]
DimensionValue = str | tuple[str, ...] | None
MULTI_VALUE_KEY = "multiValued"
"""Header entry naming the multi-value dimensions; absent when there are none, so states of
settings without one read as before."""


class _Columns(msgspec.Struct, array_like=True, gc=False):
    first_minute: int
    minutes: list[int]
    dimensions: list[tuple[list[DimensionValue], list[int]]]
    """Per dimension: its distinct values, and each row's position among them."""
    numbers: list[list[int | float]]
    """The events count, then each sum."""
    sketches: list[list[bytes]]


_encode_columns = msgspec.msgpack.Encoder().encode
_decode_columns = msgspec.msgpack.Decoder(_Columns).decode


def encode(layout: RowLayout, rows: Rows, counters: dict[str, int]) -> dict[str, Any]:
    keys = list(rows)
    cells = list(rows.values())
    first_minute = min((minute for minute, _ in keys), default=0)
    first_sketch = layout.first_sketch_slot
    columns = _Columns(
        first_minute=first_minute,
        minutes=[minute - first_minute for minute, _ in keys],
        dimensions=[
            _dictionary_encoded([dimensions[at] for _, dimensions in keys])
            for at in range(len(layout.dimension_names))
        ],
        numbers=[list(map(itemgetter(slot), cells)) for slot in range(first_sketch)],
        sketches=[
            [sketch.serialize_updatable() for sketch in map(itemgetter(slot), cells)]
            for slot in range(first_sketch, first_sketch + len(layout.sketch_codecs))
        ],
    )
    data = zlib.compress(_encode_columns(columns), _COMPRESSION_LEVEL)
    multi_value = {MULTI_VALUE_KEY: list(layout.multi_value_names)}
    return {
        **_header(layout),
        **(multi_value if layout.multi_value_names else {}),
        "counters": dict(counters),
        "rows": len(keys),
        "data": base64.b64encode(data).decode("ascii"),
    }


def decode(layout: RowLayout, state: dict[str, Any]) -> tuple[Rows, dict[str, int]]:
    """Rows and counters from `encode`'s output; ValueError naming what does not fit."""
    if not isinstance(state, dict):
        raise ValueError(f"state must be a JSON object, got {type(state).__name__}")
    for name, expected in _header(layout).items():
        if name != "dimensions" and state.get(name) != expected:
            raise ValueError(
                f"state {name} is {state.get(name)!r}, these settings need {expected!r}"
            )
    dimensions, multi_value = _stored_dimensions(layout, state)
    counters = state.get("counters")
    if not isinstance(counters, dict) or not all(type(v) is int for v in counters.values()):
        raise ValueError("state counters must be an object of integers")
    try:
        compressed = base64.b64decode(state.get("data", ""), validate=True)
        inflater = zlib.decompressobj()
        columns = _decode_columns(inflater.decompress(compressed, _MAX_DECOMPRESSED_BYTES))
    except (binascii.Error, zlib.error, msgspec.DecodeError, TypeError) as error:
        raise ValueError(f"state data is not an encoded rollup: {error}") from None
    if inflater.unconsumed_tail:
        raise ValueError("state data inflates past the size limit")
    rows = _rows(layout, dimensions, multi_value, columns)
    if dimensions != list(layout.dimension_names):
        rows = _with_added_dimensions(layout, dimensions, rows)
    return rows, counters


def _stored_dimensions(layout: RowLayout, state: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The state's dimensions and multi-value dimensions: these settings' own, or some of them
    in the same order and of the same kind (the state predates the others)."""
    dimensions = state.get("dimensions")
    multi_value = state.get(MULTI_VALUE_KEY, [])
    wanted = list(layout.dimension_names)
    wanted_multi_value = list(layout.multi_value_names)
    if dimensions == wanted and multi_value == wanted_multi_value:
        return dimensions, multi_value
    readable = (
        isinstance(dimensions, list)
        and isinstance(multi_value, list)
        and len(set(dimensions)) == len(dimensions)
        and [name for name in wanted if name in dimensions] == dimensions
        and [name for name in wanted_multi_value if name in dimensions] == multi_value
        and dimensions[len(dimensions) - len(multi_value) :] == multi_value
    )
    if not readable:
        raise ValueError(
            f"state dimensions are {dimensions!r} (multi-value {multi_value!r}), these settings "
            f"need {wanted!r} (multi-value {wanted_multi_value!r}) or some of them"
        )
    return dimensions, multi_value


def _with_added_dimensions(layout: RowLayout, dimensions: list[str], rows: Rows) -> Rows:
    """Rows keyed by these settings' dimensions, those the state lacks empty."""
    positions = [
        dimensions.index(name) if name in dimensions else None for name in layout.dimension_names
    ]
    return {
        (minute, tuple(None if at is None else values[at] for at in positions)): cells
        for (minute, values), cells in rows.items()
    }


def _rows(
    layout: RowLayout, dimension_names: list[str], multi_value_names: list[str], columns: _Columns
) -> Rows:
    count = len(columns.minutes)
    shape = (
        len(dimension_names),
        layout.first_sketch_slot,
        len(layout.sketch_codecs),
    )
    found = (len(columns.dimensions), len(columns.numbers), len(columns.sketches))
    if found != shape:
        raise ValueError(
            f"state has {found} dimension, number and sketch columns, expected {shape}"
        )
    multi_value_from = len(dimension_names) - len(multi_value_names)
    for at, (values, _) in enumerate(columns.dimensions):
        kind = tuple if at >= multi_value_from else str
        if not all(value is None or type(value) is kind for value in values):
            raise ValueError(
                f"state dimension {dimension_names[at]} holds values other than "
                f"{'lists of text' if kind is tuple else 'text'}"
            )
    try:
        dimension_columns = [
            list(map(values.__getitem__, positions)) for values, positions in columns.dimensions
        ]
    except IndexError:
        raise ValueError("state dimension position out of range") from None
    for column in (*dimension_columns, *columns.numbers, *columns.sketches):
        if len(column) != count:
            raise ValueError(f"state column of {len(column)} cells for {count} rows")
    sketches = [
        list(map(codec.decode, column))
        for codec, column in zip(layout.sketch_codecs, columns.sketches, strict=True)
    ]
    minutes = [columns.first_minute + offset for offset in columns.minutes]
    dimensions = zip(*dimension_columns, strict=True) if dimension_columns else repeat((), count)
    cells = map(list, zip(*columns.numbers, *sketches, strict=True))
    return dict(zip(zip(minutes, dimensions, strict=True), cells, strict=True))


def _dictionary_encoded(column: list[DimensionValue]) -> tuple[list[DimensionValue], list[int]]:
    position = {value: at for at, value in enumerate(dict.fromkeys(column))}
    return list(position), list(map(position.__getitem__, column))


def _header(layout: RowLayout) -> dict[str, Any]:
    return {
        "version": VERSION,
        "dimensions": list(layout.dimension_names),
        "sums": list(layout.sum_names),
        "sketches": list(layout.sketch_names),
    }
