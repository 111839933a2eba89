"""What to roll up: dimensions and metrics as event field paths, parsed from JSON settings.

A source is a list of alternatives tried in order; the first one whose condition holds and whose
value is present (not null, not "") wins. In the settings a source is either a string of paths
separated by "|" (``"event|name"``) or a list of paths and ``{"path": ..., "when": {...}}``
objects, so conditional fallbacks such as "properties.total, for Order Completed events" need no
code.

A dimension may instead be derived, ``{"derive": "experimentArms"}``: a multi-value dimension
the rollup computes from fields it names itself (see `Derivation`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from riptide.rollup.exceptions import RollupSettingsError

Path = tuple[str, ...]
Scalar = str | int | float | bool

LONG_SUM_LIMIT = 10**12
"""Largest magnitude of one event's longSum value. Druid sums longs in 64 bits (and the window
state packs them as such), so an absurd value is quarantined rather than overflowing a row."""
LongSumValue = Annotated[int, msgspec.Meta(ge=-LONG_SUM_LIMIT, le=LONG_SUM_LIMIT)]
DOUBLE_SUM_LIMIT = float(LONG_SUM_LIMIT)
"""Largest magnitude of one event's doubleSum value. A sum of a few values near the largest
double is infinite, which JSON writes as null and Druid sums as NULL, wiping the row's metric;
bounded like longSum values, a row's sum stays finite however many events it holds."""
DoubleSumValue = Annotated[float, msgspec.Meta(ge=-DOUBLE_SUM_LIMIT, le=DOUBLE_SUM_LIMIT)]

TIME_FIELDS = ("timestamp", "receivedAt")
"""Top-level fields the time policy reads; settings cannot use them."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED_NAMES = frozenset({"ts"})
_HLL_TYPES = ("HLL_4", "HLL_6", "HLL_8")
_LG_K_RANGE = range(4, 22)

DEFAULT_DIMENSIONS_JSON = json.dumps(
    {
        "site": "site",
        "type": "type",
        "event": "event|name",
        "country": "context.location.country",
        "device": "context.device.type",
        "currency": "properties.currency",
        "utm_source": "context.campaign.source",
        "utm_campaign": "context.campaign.name",
        "product": "properties.product_id",
        "category": "properties.category",
        "placement": "properties.placement",
        "experiment": "properties.experiment",
        "variant": {"derive": "experimentArms"},
    }
)
DEFAULT_METRICS_JSON = json.dumps(
    {
        "events": {"type": "count"},
        "revenue": {
            "type": "doubleSum",
            "field": [
                "properties.revenue",
                {"path": "properties.total", "when": {"event": "Order Completed"}},
            ],
        },
        "quantity": {"type": "longSum", "field": "properties.quantity"},
        "users": {
            "type": "hllSketch",
            "field": "userId|anonymousId",
            "lgK": 12,
            "tgtHllType": "HLL_4",
        },
    }
)


class Derivation(StrEnum):
    EXPERIMENT_ARMS = "experimentArms"
    """Multi-value: "<experiment>/<variant>" for every experiment of the event's site that
    attributes the event's time, the variant recomputed from the event's assignment unit
    (anonymousId, else userId). Orders are attributed to their shopper's arms this way."""


DERIVATION_INPUTS: dict[Derivation, tuple[Path, ...]] = {
    Derivation.EXPERIMENT_ARMS: (("site",), ("anonymousId",), ("userId",)),
}
"""The event fields each derivation reads, in the order the rollup hands them over."""
MULTI_VALUE_HANDLING = "SORTED_ARRAY"
"""Druid keeps a multi-value row's values sorted, duplicates included; ours come sorted."""


class MetricKind(StrEnum):
    COUNT = "count"
    LONG_SUM = "longSum"
    DOUBLE_SUM = "doubleSum"
    HLL_SKETCH = "hllSketch"


@dataclass(frozen=True, slots=True)
class Alternative:
    """One candidate field, taken only when every `when` path holds its required value."""

    path: Path
    when: tuple[tuple[Path, Scalar], ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    alternatives: tuple[Alternative, ...]

    def paths(self) -> list[Path]:
        """Every field the source reads, its conditions included."""
        found: list[Path] = []
        for alternative in self.alternatives:
            found.append(alternative.path)
            found.extend(path for path, _ in alternative.when)
        return found


@dataclass(frozen=True, slots=True)
class Dimension:
    """A dimension read from the event (`source`), or derived by the rollup (`derive`)."""

    name: str
    source: Source | None = None
    derive: Derivation | None = None

    def paths(self) -> list[Path]:
        """Every field the dimension reads."""
        if self.derive is not None:
            return list(DERIVATION_INPUTS[self.derive])
        return self.source.paths()  # type: ignore[union-attr]

    def druid_spec(self) -> str | dict[str, Any]:
        """Its entry in Druid's dimensionsSpec: a name, or a multi-value string dimension."""
        if self.derive is None:
            return self.name
        return {"type": "string", "name": self.name, "multiValueHandling": MULTI_VALUE_HANDLING}


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    kind: MetricKind
    source: Source | None = None
    lg_k: int = 12
    tgt_hll_type: str = "HLL_4"

    def druid_spec(self) -> dict[str, Any]:
        if self.kind is MetricKind.HLL_SKETCH:
            return {
                "type": "HLLSketchMerge",
                "name": self.name,
                "fieldName": self.name,
                "lgK": self.lg_k,
                "tgtHllType": self.tgt_hll_type,
            }
        druid_type = "doubleSum" if self.kind is MetricKind.DOUBLE_SUM else "longSum"
        return {"type": druid_type, "name": self.name, "fieldName": self.name}


@dataclass(frozen=True, slots=True)
class RollupSchema:
    dimensions: tuple[Dimension, ...]
    metrics: tuple[Metric, ...]
    field_types: dict[Path, type | Any] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_names(self.dimensions, self.metrics)
        object.__setattr__(self, "field_types", _field_types(self.dimensions, self.metrics))

    @classmethod
    def from_settings(cls, dimensions_json: str | None, metrics_json: str | None) -> RollupSchema:
        """Parse the ROLLUP_DIMENSIONS and ROLLUP_METRICS settings; None or "" means defaults."""
        dimensions = _load_object("dimensions", dimensions_json or DEFAULT_DIMENSIONS_JSON)
        metrics = _load_object("metrics", metrics_json or DEFAULT_METRICS_JSON)
        if not metrics:
            raise RollupSettingsError("metrics: at least one metric is required")
        return cls(
            dimensions=tuple(_parse_dimension(name, spec) for name, spec in dimensions.items()),
            metrics=tuple(_parse_metric(name, spec) for name, spec in metrics.items()),
        )

    def druid_dimensions(self) -> list[str | dict[str, Any]]:
        return [dimension.druid_spec() for dimension in self.dimensions]

    def druid_metrics_spec(self) -> list[dict[str, Any]]:
        return [metric.druid_spec() for metric in self.metrics]


def _load_object(what: str, text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as error:
        raise RollupSettingsError(f"{what}: not valid JSON ({error})") from error
    if not isinstance(loaded, dict):
        raise RollupSettingsError(f"{what}: expected a JSON object of name -> definition")
    return loaded


def _parse_dimension(name: str, spec: Any) -> Dimension:
    where = f"dimensions.{name}"
    if not isinstance(spec, dict):
        return Dimension(name, _parse_source(where, spec))
    kinds = ", ".join(derivation.value for derivation in Derivation)
    unknown = sorted(set(spec) - {"derive"})
    if unknown or "derive" not in spec:
        raise RollupSettingsError(
            f'{where}: expected a path, a list of alternatives or {{"derive": ...}} '
            f"(one of {kinds})"
        )
    try:
        return Dimension(name, derive=Derivation(spec["derive"]))
    except ValueError:
        raise RollupSettingsError(
            f"{where}.derive: {spec['derive']!r} is not one of {kinds}"
        ) from None


def _parse_metric(name: str, spec: Any) -> Metric:
    where = f"metrics.{name}"
    if not isinstance(spec, dict):
        raise RollupSettingsError(f'{where}: expected an object such as {{"type": "longSum", ...}}')
    try:
        kind = MetricKind(spec.get("type"))
    except ValueError:
        kinds = ", ".join(kind.value for kind in MetricKind)
        raise RollupSettingsError(
            f"{where}.type: {spec.get('type')!r} is not one of {kinds}"
        ) from None
    allowed = {"type"} if kind is MetricKind.COUNT else {"type", "field"}
    if kind is MetricKind.HLL_SKETCH:
        allowed |= {"lgK", "tgtHllType"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise RollupSettingsError(f"{where}: unknown key {unknown[0]!r} for type {kind.value}")
    if kind is MetricKind.COUNT:
        return Metric(name, kind)
    if "field" not in spec:
        raise RollupSettingsError(f"{where}.field: required for type {kind.value}")
    source = _parse_source(f"{where}.field", spec["field"])
    if kind is not MetricKind.HLL_SKETCH:
        return Metric(name, kind, source)
    lg_k = spec.get("lgK", 12)
    if type(lg_k) is not int or lg_k not in _LG_K_RANGE:
        raise RollupSettingsError(f"{where}.lgK: {lg_k!r} is not an integer from 4 to 21")
    tgt_hll_type = spec.get("tgtHllType", "HLL_4")
    if tgt_hll_type not in _HLL_TYPES:
        raise RollupSettingsError(
            f"{where}.tgtHllType: {tgt_hll_type!r} is not one of {_HLL_TYPES}"
        )
    return Metric(name, kind, source, lg_k, tgt_hll_type)


def _parse_source(where: str, spec: Any) -> Source:
    if isinstance(spec, str):
        alternatives = [_parse_path(where, text) for text in spec.split("|")]
        return Source(tuple(Alternative(path) for path in alternatives))
    if not isinstance(spec, list) or not spec:
        raise RollupSettingsError(
            f'{where}: expected a path such as "event|name" or a non-empty list of alternatives'
        )
    return Source(
        tuple(_parse_alternative(f"{where}[{index}]", item) for index, item in enumerate(spec))
    )


def _parse_alternative(where: str, spec: Any) -> Alternative:
    if isinstance(spec, str):
        return Alternative(_parse_path(where, spec))
    if not isinstance(spec, dict) or "path" not in spec or set(spec) - {"path", "when"}:
        raise RollupSettingsError(f'{where}: expected a path or {{"path": ..., "when": {{...}}}}')
    when = spec.get("when", {})
    if not isinstance(when, dict):
        raise RollupSettingsError(f"{where}.when: expected an object of path -> required value")
    conditions = []
    for text, value in when.items():
        if isinstance(value, dict | list) or value is None:
            raise RollupSettingsError(
                f"{where}.when.{text}: required value must be a string, number or boolean"
            )
        conditions.append((_parse_path(f"{where}.when", text), value))
    return Alternative(_parse_path(f"{where}.path", spec["path"]), tuple(conditions))


def _parse_path(where: str, text: Any) -> Path:
    if not isinstance(text, str):
        raise RollupSettingsError(f"{where}: path must be a string, got {text!r}")
    path = tuple(text.strip().split("."))
    if not all(path):
        raise RollupSettingsError(f"{where}: {text!r} is not a dotted field path like a.b.c")
    if path[0] in TIME_FIELDS:
        raise RollupSettingsError(
            f"{where}: {text!r} is read by the time policy and cannot be rolled up"
        )
    return path


def _check_names(dimensions: tuple[Dimension, ...], metrics: tuple[Metric, ...]) -> None:
    derived = [dimension.name for dimension in dimensions if dimension.derive is not None]
    if len(derived) > 1:
        raise RollupSettingsError(
            f"dimensions.{derived[1]}: only one dimension may be derived, {derived[0]} already is"
        )
    seen: set[str] = set()
    for kind, name in [("dimensions", d.name) for d in dimensions] + [
        ("metrics", m.name) for m in metrics
    ]:
        if not _NAME.match(name) or name in _RESERVED_NAMES:
            raise RollupSettingsError(
                f"{kind}.{name}: a name must be letters, digits and _, and not 'ts'"
            )
        if name in seen:
            raise RollupSettingsError(f"{kind}.{name}: name used twice")
        seen.add(name)


def _field_types(dimensions: tuple[Dimension, ...], metrics: tuple[Metric, ...]) -> dict[Path, Any]:
    """The decode type of each field: sums are validated while decoding, anything else is a scalar.

    A path summed as longSum must hold integers, one summed as doubleSum numbers; a path both
    would make one of them reject valid events, so that is a settings error.
    """
    summed: dict[Path, MetricKind] = {}
    for metric in metrics:
        if metric.kind not in (MetricKind.LONG_SUM, MetricKind.DOUBLE_SUM):
            continue
        for alternative in metric.source.alternatives:  # type: ignore[union-attr]
            if summed.setdefault(alternative.path, metric.kind) is not metric.kind:
                raise RollupSettingsError(
                    f"metrics.{metric.name}: {'.'.join(alternative.path)} is summed both as "
                    "longSum and as doubleSum"
                )
    types: dict[Path, Any] = {}
    paths = [path for dimension in dimensions for path in dimension.paths()]
    paths += [path for metric in metrics if metric.source for path in metric.source.paths()]
    for path in paths:
        kind = summed.get(path)
        types[path] = (
            LongSumValue | None
            if kind is MetricKind.LONG_SUM
            else DoubleSumValue | None
            if kind is MetricKind.DOUBLE_SUM
            else Scalar | None
        )
    _check_prefixes(types)
    return types


def _check_prefixes(types: dict[Path, Any]) -> None:
    for path in types:
        for end in range(1, len(path)):
            if path[:end] in types:
                raise RollupSettingsError(
                    f"{'.'.join(path[:end])} is used both as a value and as an object holding "
                    f"{'.'.join(path)}"
                )
