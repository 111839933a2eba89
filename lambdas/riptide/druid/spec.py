"""The index_parallel task that appends one rollup to the datasource.

Inline input keeps the push a single HTTP call: the rows travel inside the task itself, so
the task payload is the whole delivery and a stored task id proves the data was handed over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

SEGMENT_GRANULARITY = "HOUR"
LATE_SEGMENT_GRANULARITY = "DAY"
"""For late rows: auto-compaction turns past days into DAY segments, and only an append whose
lock spans a compacted segment whole may add rows to it (a task locking some hours of such a
day fails with "Failed to add a row with timestamp"). Into a day still in HOUR segments, such
a task appends to those."""
QUERY_GRANULARITY = "MINUTE"
TIMESTAMP_COLUMN = "ts"
ONE_DAY = timedelta(days=1)


def build_index_task(
    *,
    task_id: str,
    datasource: str,
    rows_ndjson: bytes,
    intervals: Sequence[str],
    dimensions: Sequence[Any],
    metrics_spec: Sequence[dict[str, Any]],
    segment_granularity: str = SEGMENT_GRANULARITY,
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
                    "segmentGranularity": segment_granularity,
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


def redriven_task(task: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The same rows under another id, locking whole days (a re-drive of a task that failed and
    published nothing: if its day was compacted while it waited, only whole days can append)."""
    granularity = task["spec"]["dataSchema"]["granularitySpec"]
    days = sorted({day for interval in granularity["intervals"] for day in _days(interval)})
    whole_days = [
        f"{day.isoformat()}T00:00:00Z/{(day + ONE_DAY).isoformat()}T00:00:00Z" for day in days
    ]
    data_schema = {
        **task["spec"]["dataSchema"],
        "granularitySpec": {
            **granularity,
            "segmentGranularity": LATE_SEGMENT_GRANULARITY,
            "intervals": whole_days,
        },
    }
    return {**task, "id": task_id, "spec": {**task["spec"], "dataSchema": data_schema}}


def _days(interval: str) -> list[date]:
    """Every UTC day an ISO-8601 start/end interval touches."""
    start, end = (
        datetime.fromisoformat(text.replace("Z", "+00:00")) for text in interval.split("/")
    )
    last = (end - timedelta(microseconds=1)).date()
    return [
        start.date() + timedelta(days=offset) for offset in range((last - start.date()).days + 1)
    ]
