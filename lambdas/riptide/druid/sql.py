"""Druid SQL requests: values travel as typed query parameters, never inside the query text.

Only an identifier (a datasource name from the settings) is written into the text, and it is
quoted the way Druid SQL quotes identifiers, so no name can end the quoting early.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

SQL_PATH = "/druid/v2/sql"

SqlValue = str | int | float | bool | datetime
"""What a query parameter may hold; a datetime must carry its zone."""


def sql_parameter(value: SqlValue) -> dict[str, Any]:
    """Druid's typed form of one `?` parameter."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"timestamp parameter {value!r} has no time zone")
        # Milliseconds since the epoch: Druid 28 reads text with a fraction of a second
        # ("2026-12-01 15:00:00.000") as a number and fails the query.
        return {"type": "TIMESTAMP", "value": round(value.timestamp() * 1000)}
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return {"type": "BOOLEAN", "value": value}
    if isinstance(value, int):
        return {"type": "BIGINT", "value": value}
    if isinstance(value, float):
        return {"type": "DOUBLE", "value": value}
    if isinstance(value, str):
        return {"type": "VARCHAR", "value": value}
    raise TypeError(f"cannot send {type(value).__name__} as a Druid SQL parameter")


def quote_identifier(name: str) -> str:
    """`name` as a Druid SQL identifier: in double quotes, any double quote in it doubled."""
    return '"' + name.replace('"', '""') + '"'


def sql_request(
    query: str, parameters: Sequence[SqlValue], timeout_seconds: float
) -> dict[str, Any]:
    """The body of POST /druid/v2/sql: rows as JSON objects, and a query timeout so Druid
    stops working on a query the caller has stopped waiting for."""
    return {
        "query": query,
        "parameters": [sql_parameter(value) for value in parameters],
        "resultFormat": "object",
        "context": {"timeout": max(1, int(timeout_seconds * 1000))},
    }
