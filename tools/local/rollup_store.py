"""Where a run's rollups ended up, read back for the report: Druid over SQL, or the NDJSON file.

Both stores answer the same questions: are the delivered rows queryable yet, what do they sum
to, and what are revenue and unique users by site and minute. They read what the pipeline
delivered with their own queries (the Druid admin user, or the file itself), independently of
the pipeline's code.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import urllib3
from datasketches import hll_sketch, hll_union

HTTP_TIMEOUT = urllib3.Timeout(connect=3.0, read=30.0)
HLL_LG_K = 12


class DruidUnreachableError(Exception):
    """Druid did not answer, or refused the credentials; the message says what to do."""


@dataclass(frozen=True)
class Totals:
    events: int
    revenue: float
    rows: int


@dataclass(frozen=True)
class SiteMinute:
    minute: str
    site: str
    events: int
    revenue: float
    users: int


class RollupStore(Protocol):
    description: str

    def site_minute_query(self, start: datetime, end: datetime) -> str:
        """How `by_site_minute` gets its answer, to show with it."""

    def pending_tasks(self, task_ids: list[str]) -> str | None:
        """Why the delivered rows are not all queryable yet, or None when they are."""

    def task_states(self, task_ids: list[str]) -> dict[str, int]:
        """How many of the tasks are in each state (SUCCESS, FAILED, ...)."""

    def totals(self) -> Totals: ...

    def by_site_minute(self, start: datetime, end: datetime) -> list[SiteMinute]: ...


class DruidHttp:
    """JSON over HTTP to a Druid router, as one Basic-auth user."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url.rstrip("/")
        self._pool = urllib3.PoolManager(maxsize=2, retries=False, timeout=HTTP_TIMEOUT)
        self._headers = {
            "Content-Type": "application/json",
            **urllib3.make_headers(basic_auth=f"{username}:{password}"),
        }
        self.username = username

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            response = self._pool.request(
                method,
                self.url + path,
                body=None if body is None else json.dumps(body).encode(),
                headers=self._headers,
            )
        except urllib3.exceptions.HTTPError as error:
            raise DruidUnreachableError(
                f"Druid does not answer at {self.url} ({error}). Start it with "
                "`scripts/druid start`, or run without Druid: --no-druid."
            ) from None
        if response.status in (401, 403):
            raise DruidUnreachableError(
                f"Druid at {self.url} refused user {self.username!r} ({response.status}); "
                "check RIPTIDE_DRUID_ADMIN_PASSWORD."
            )
        try:
            return response.status, json.loads(response.data) if response.data else None
        except ValueError:
            return response.status, response.data.decode(errors="replace")

    def require(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.request(method, path, body)
        if not 200 <= status < 300:
            raise DruidUnreachableError(f"Druid answered {status} to {method} {path}: {answer}")
        return answer

    def sql(self, query: str, *parameters: str) -> list[dict[str, Any]]:
        return self.require(
            "POST",
            "/druid/v2/sql",
            {
                "query": query,
                "resultFormat": "object",
                "parameters": [{"type": "VARCHAR", "value": value} for value in parameters],
            },
        )


class DruidRollupStore:
    """The run's datasource in Druid, read with SQL."""

    def __init__(self, http: DruidHttp, datasource: str) -> None:
        self.http = http
        self.datasource = datasource
        self.description = f"Druid datasource {datasource} at {http.url}"

    def pending_tasks(self, task_ids: list[str]) -> str | None:
        if not task_ids:
            return None
        statuses = self.http.require("POST", "/druid/indexer/v1/taskStatus", task_ids)
        states = [(statuses.get(task_id) or {}).get("status") or "UNKNOWN" for task_id in task_ids]
        if any(state == "FAILED" for state in states):
            return None  # nothing more will come; the check will tell
        waiting = sum(state != "SUCCESS" for state in states)
        if waiting:
            return f"{waiting} of {len(task_ids)} Druid tasks not finished yet"
        [segments] = self.http.sql(
            "SELECT COUNT(*) AS published, COUNT(*) FILTER (WHERE is_available = 0) AS loading "
            "FROM sys.segments WHERE datasource = ? AND is_published = 1 AND is_overshadowed = 0",
            self.datasource,
        )
        if segments["published"] == 0 or segments["loading"]:
            return f"{segments['loading']} of {segments['published']} segments not loaded yet"
        return None

    def task_states(self, task_ids: list[str]) -> dict[str, int]:
        statuses = self.http.require("POST", "/druid/indexer/v1/taskStatus", task_ids or [])
        counts: dict[str, int] = defaultdict(int)
        for task_id in task_ids:
            counts[(statuses.get(task_id) or {}).get("status") or "UNKNOWN"] += 1
        return dict(counts)

    def totals(self) -> Totals:
        [row] = self.http.sql(
            f"SELECT COALESCE(SUM(events), 0) AS events, COALESCE(SUM(revenue), 0) AS revenue, "
            f'COUNT(*) AS "rows" FROM "{self.datasource}"'
        )
        return Totals(int(row["events"]), float(row["revenue"]), int(row["rows"]))

    def site_minute_query(self, start: datetime, end: datetime) -> str:
        return (
            "SELECT TIME_FLOOR(__time, 'PT1M') AS \"minute\", site, SUM(events) AS events, "
            "SUM(revenue) AS revenue, APPROX_COUNT_DISTINCT_DS_HLL(users) AS users "
            f'FROM "{self.datasource}" '
            f"WHERE __time >= TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' "
            f"AND __time < TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}' "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        )

    def by_site_minute(self, start: datetime, end: datetime) -> list[SiteMinute]:
        rows = self.http.sql(self.site_minute_query(start, end))
        return [
            SiteMinute(
                row["minute"][:16].replace("T", " "),
                row["site"] or "-",
                int(row["events"]),
                float(row["revenue"] or 0),
                int(row["users"]),
            )
            for row in rows
        ]


class NdjsonRollupStore:
    """The rows the NDJSON stand-in wrote, summed here (sketches merged with datasketches)."""

    def __init__(self, path: Path, datasource: str) -> None:
        self.path = path
        self.datasource = datasource
        self.description = f"NDJSON file {path}"

    def pending_tasks(self, task_ids: list[str]) -> str | None:
        return None  # the stand-in writes a task's rows before it answers the submission

    def site_minute_query(self, start: datetime, end: datetime) -> str:
        return (
            f"the rows of {self.path.name} from {start:%H:%M} to {end:%H:%M} UTC, summed by site "
            "and minute, users' HLL sketches merged with datasketches"
        )

    def task_states(self, task_ids: list[str]) -> dict[str, int]:
        return {"SUCCESS": len(task_ids)} if task_ids else {}

    def _rows(self) -> list[dict[str, Any]]:
        with self.path.open() as lines:
            rows = [json.loads(line) for line in lines if line.strip()]
        return [row for row in rows if row["datasource"] == self.datasource]

    def totals(self) -> Totals:
        rows = self._rows()
        return Totals(
            events=sum(row.get("events", 0) for row in rows),
            revenue=sum(row.get("revenue") or 0 for row in rows),
            rows=len(rows),
        )

    def by_site_minute(self, start: datetime, end: datetime) -> list[SiteMinute]:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in self._rows():
            moment = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
            if start <= moment < end:
                groups[(moment.strftime("%Y-%m-%d %H:%M"), row.get("site") or "-")].append(row)
        return [
            SiteMinute(
                minute,
                site,
                sum(row.get("events", 0) for row in rows),
                sum(row.get("revenue") or 0 for row in rows),
                _distinct_users(rows),
            )
            for (minute, site), rows in sorted(groups.items())
        ]


def _distinct_users(rows: list[dict[str, Any]]) -> int:
    union = hll_union(HLL_LG_K)
    for row in rows:
        if row.get("users"):
            union.update(hll_sketch.deserialize(base64.b64decode(row["users"])))
    return round(union.get_estimate())
