"""A schema compiled for the hot path: decoder, value readers and the shape of a row.

A row is a list ``[events, sum..., sketch...]`` keyed by ``(minute, dimension values)``. The
per-event work (reading fields, resolving fallbacks and conditions, adding to a row's slots)
runs as small functions generated here for the schema, so the accumulator neither looks a name
up nor loops over metrics per event.

Dimension values are in layout order: the read dimensions as the settings list them, then the
derived one (if any), whose value is a sorted tuple of strings (a multi-value dimension) or
None. The derived dimension's inputs are read after the read dimensions' inputs, so they never
enter the memo of resolved dimensions (they would make it one entry per shopper).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import count
from operator import itemgetter
from typing import Any

import msgspec

from riptide.rollup.events import EventDecoder
from riptide.rollup.schema import Dimension, Metric, MetricKind, Path, RollupSchema, Source
from riptide.rollup.sketches import SketchCodec

_RAW_DIMENSION_CACHE_LIMIT = 100_000
_TEXT_TYPES = frozenset({str, type(None)})


class RowLayout:
    """Everything the hot path needs about a schema, worked out once per schema."""

    def __init__(self, schema: RollupSchema) -> None:
        self.schema = schema
        self.decoder = EventDecoder(schema)
        sums = [m for m in schema.metrics if m.kind in (MetricKind.LONG_SUM, MetricKind.DOUBLE_SUM)]
        sketches = [m for m in schema.metrics if m.kind is MetricKind.HLL_SKETCH]
        read = [d for d in schema.dimensions if d.derive is None]
        derived = [d for d in schema.dimensions if d.derive is not None]
        self.dimension_names = tuple(d.name for d in read + derived)
        self.multi_value_names = tuple(d.name for d in derived)
        """Multi-value dimensions: the last ones of `dimension_names`."""
        self.sum_names = tuple(m.name for m in sums)
        self.sketch_names = tuple(m.name for m in sketches)
        self.sketch_codecs = tuple(SketchCodec(m) for m in sketches)
        self.first_sketch_slot = 1 + len(sums)
        self._sum_zeros = tuple(0.0 if m.kind is MetricKind.DOUBLE_SUM else 0 for m in sums)

        dimension_positions = _positions([d.paths() for d in read])
        self.dimension_inputs = len(dimension_positions)
        """The first this many values `read` returns are the read dimensions' inputs."""
        positions = _positions(
            [d.paths() for d in read + derived] + [m.source.paths() for m in sums + sketches]  # type: ignore[union-attr]
        )
        self.read = self.decoder.reader(positions)
        self.derivation_inputs: tuple[int, ...] | None = (
            tuple(positions[path] for path in derived[0].paths()) if derived else None
        )
        """Where the derived dimension's inputs are among the values `read` returns."""
        self.add_metrics = _metrics_adder(sums, sketches, positions)
        """add_metrics(row, values): the sums and sketches of one event's `read` values."""
        self._resolve_dimensions = _dimensions_resolver(read, len(derived), dimension_positions)
        self._row_type = msgspec.defstruct(
            "RollupRow",
            [
                ("f0", str, msgspec.field(name="ts")),
                *(
                    (f"f{index}", str | None, msgspec.field(name=d.name))
                    for index, d in enumerate(read, start=1)
                ),
                *(
                    (f"f{index}", tuple[str, ...] | None, msgspec.field(name=d.name))
                    for index, d in enumerate(derived, start=1 + len(read))
                ),
            ]
            + [
                (
                    f"m{index}",
                    bytes if m.kind is MetricKind.HLL_SKETCH else int | float,
                    msgspec.field(name=m.name),
                )
                for index, m in enumerate(schema.metrics)
            ],
            gc=False,
        )
        slot_of = {m.name: slot for slot, m in enumerate(sums + sketches, start=1)}
        self._metric_cells = _tuple_getter([slot_of.get(m.name, 0) for m in schema.metrics])
        self._sketch_factories = tuple(codec.new for codec in self.sketch_codecs)
        self._sketch_slots = range(self.first_sketch_slot, 1 + len(sums) + len(sketches))
        self.dimensions_by_raw: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        """Memo of `resolve_dimensions`: most events repeat the dimensions of earlier ones."""

    def new_row(self) -> list[Any]:
        row = [0, *self._sum_zeros]
        for new_sketch in self._sketch_factories:
            row.append(new_sketch())
        return row

    def output_row(self, ts: str, dimensions: tuple[Any, ...], row: list[Any]) -> Any:
        """One Druid row as a struct msgspec encodes directly (sketches as base64 bytes)."""
        cells = row.copy()
        for slot in self._sketch_slots:
            cells[slot] = cells[slot].serialize_compact()
        return self._row_type(ts, *dimensions, *self._metric_cells(cells))

    def resolve_dimensions(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        """The dimension values for an event's dimension inputs, remembered for next time; the
        derived dimension's is None (the accumulator fills it in per event).

        Only text is remembered: 1, 1.0 and True are equal keys but different dimension text.
        """
        found = self._resolve_dimensions(raw)
        if not set(map(type, raw)) <= _TEXT_TYPES:
            return tuple(map(as_dimension_value, found))
        if len(self.dimensions_by_raw) >= _RAW_DIMENSION_CACHE_LIMIT:
            self.dimensions_by_raw.clear()
        self.dimensions_by_raw[raw] = found
        return found


def as_dimension_value(value: Any) -> str | None:
    """Druid dimensions are strings: "" is absent, booleans are true/false, numbers their text."""
    if value is None or value == "":
        return None
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    return str(value)


def as_sketch_key(value: Any) -> str:
    """The string a sketch hashes: Druid's HLLSketchBuild also hashes a value's text."""
    return value if type(value) is str else as_dimension_value(value)  # type: ignore[return-value]


def _positions(path_lists: list[list[Path]]) -> dict[Path, int]:
    positions: dict[Path, int] = {}
    for paths in path_lists:
        for path in paths:
            positions.setdefault(path, len(positions))
    return positions


class _CodeWriter:
    """Writes the generated hot-path functions of one layout.

    Only positions, slots and generated names become code; values from the settings (the
    `when` conditions) go in as named constants, so no settings text is ever executed.
    """

    def __init__(self) -> None:
        self._namespace: dict[str, Any] = {"as_sketch_key": as_sketch_key}
        self._names = count()

    def first_present(self, source: Source, positions: dict[Path, int]) -> str:
        """An expression for the source's value: the first alternative whose value is present
        (not null, not "") and whose conditions hold, else None."""
        expression = "None"
        for alternative in reversed(source.alternatives):
            value = f"v{next(self._names)}"
            tests = [f"({value} := values[{positions[alternative.path]}]) is not None"]
            tests.append(f'{value} != ""')
            for path, required in alternative.when:
                constant = f"c{next(self._names)}"
                self._namespace[constant] = required
                tests.append(f"values[{positions[path]}] == {constant}")
            expression = f"({value} if {' and '.join(tests)} else {expression})"
        return expression

    def function(self, name: str, arguments: str, body: list[str]) -> Any:
        source = "\n".join([f"def {name}({arguments}):", *(f"    {line}" for line in body)])
        exec(source, self._namespace)
        return self._namespace[name]


def _metrics_adder(
    sums: list[Metric], sketches: list[Metric], positions: dict[Path, int]
) -> Callable[[list[Any], tuple[Any, ...]], None]:
    writer = _CodeWriter()
    body = ["pass"]
    for slot, metric in enumerate(sums, start=1):
        value = writer.first_present(metric.source, positions)  # type: ignore[arg-type]
        body += [f"if (value := {value}) is not None:", f"    row[{slot}] += value"]
    for slot, metric in enumerate(sketches, start=1 + len(sums)):
        value = writer.first_present(metric.source, positions)  # type: ignore[arg-type]
        body += [
            f"if (value := {value}) is not None:",
            f"    row[{slot}].update(value if type(value) is str else as_sketch_key(value))",
        ]
    return writer.function("add_metrics", "row, values", body)


def _dimensions_resolver(
    read: list[Dimension], derived: int, positions: dict[Path, int]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    writer = _CodeWriter()
    values = "".join(f"{writer.first_present(d.source, positions)}, " for d in read)  # type: ignore[arg-type]
    values += "None, " * derived
    return writer.function("resolve_dimensions", "values", [f"return ({values})"])


def _tuple_getter(indexes: list[int]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """itemgetter that returns a tuple even for a single index."""
    if len(indexes) == 1:
        only = itemgetter(indexes[0])
        return lambda cells: (only(cells),)
    return itemgetter(*indexes)


@lru_cache(maxsize=8)
def layout_for(schema: RollupSchema) -> RowLayout:
    """One compiled layout per schema, shared by every rollup, so warm invocations reuse it."""
    return RowLayout(schema)
