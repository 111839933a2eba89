"""The index_parallel task that appends one rollup to the datasource.

Inline input keeps the push a single HTTP call: the rows travel inside the task itself, so
the task payload is the whole delivery and a stored task id proves the data was handed over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SEGMENT_GRANULARITY = "HOUR"
QUERY_GRANULARITY = "MINUTE"
TIMESTAMP_COLUMN = "ts"


def build_index_task(
    *,
    task_id: str,
    datasource: str,
    rows_ndjson: bytes,
    intervals: Sequence[str],
    dimensions: Sequence[Any],
    metrics_spec: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """An appending, rolled-up native batch task over `rows_ndjson` (one JSON row per line).

    Explicit intervals let Druid skip its interval-discovery pass; rows outside them would be
    dropped, so they must cover every row's minute.
    """
    return {
        "type": "index_parallel",
        "id": task_id,
        "spec": {
            "dataSchema": {
                "dataSource": datasource,
                "timestampSpec": {"column": TIMESTAMP_COLUMN, "format": "iso"},
                "dimensionsSpec": {"dimensions": list(dimensions)},
                "metricsSpec": list(metrics_spec),
                "granularitySpec": {
                    "segmentGranularity": SEGMENT_GRANULARITY,
                    "queryGranularity": QUERY_GRANULARITY,
                    "rollup": True,
                    "intervals": list(intervals),
                },
            },
            "ioConfig": {
                "type": "index_parallel",
                "inputSource": {"type": "inline", "data": rows_ndjson.decode()},
                "inputFormat": {"type": "json"},
                "appendToExisting": True,
            },
            "tuningConfig": {
                "type": "index_parallel",
                "partitionsSpec": {"type": "dynamic"},
            },
        },
    }


def with_task_id(task: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The same task under another id (a re-drive of a task that failed and published nothing)."""
    return {**task, "id": task_id}
