"""Per-minute rollups of behavioural events: counts, sums and HLL sketches, for Apache Druid."""

from riptide.rollup.accumulator import COUNTER_NAMES, Rollup
from riptide.rollup.exceptions import LateEventError, RollupSettingsError, UnrollableEventError
from riptide.rollup.schema import (
    DEFAULT_DIMENSIONS_JSON,
    DEFAULT_METRICS_JSON,
    Dimension,
    Metric,
    MetricKind,
    RollupSchema,
)
from riptide.rollup.time_policy import TimePolicy

__all__ = [
    "COUNTER_NAMES",
    "DEFAULT_DIMENSIONS_JSON",
    "DEFAULT_METRICS_JSON",
    "Dimension",
    "LateEventError",
    "Metric",
    "MetricKind",
    "Rollup",
    "RollupSchema",
    "RollupSettingsError",
    "TimePolicy",
    "UnrollableEventError",
]
