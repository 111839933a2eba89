"""The local Apache Druid that scripts/druid starts, read back over plain HTTP.

Tests check what Druid holds with their own SQL, independently of the code under test. Where
Druid is, and as whom to talk to it, comes from the variables scripts/druid uses, with its
defaults. Druid keeps its data between runs, so every test writes rows no other run can match.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import urllib3

HTTP_TIMEOUT = urllib3.Timeout(connect=3.0, read=60.0)
HANG_GUARD_SECONDS = 180
"""How long a wait may last before the test fails instead of hanging; never a speed check."""
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class DruidSettings:
    url: str
    datasource: str
    admin_password: str
    user: str
    password: str

    @classmethod
    def from_env(cls) -> DruidSettings:
        return cls(
            url=(os.environ.get("RIPTIDE_DRUID_URL") or _local_router_url()).rstrip("/"),
            datasource=os.environ.get("RIPTIDE_DRUID_DATASOURCE", "events_1m"),
            admin_password=os.environ.get("RIPTIDE_DRUID_ADMIN_PASSWORD", "riptide-admin"),
            user=os.environ.get("RIPTIDE_DRUID_USER", "riptide"),
            password=os.environ.get("RIPTIDE_DRUID_PASSWORD", "riptide-pipeline"),
        )


def _local_router_url() -> str:
    """The router scripts/druid starts: port 8888, shifted by RIPTIDE_DRUID_PORT_OFFSET."""
    offset = int(os.environ.get("RIPTIDE_DRUID_PORT_OFFSET", "0") or 0)
    return f"http://127.0.0.1:{8888 + offset}"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class DruidHttp:
    """Plain HTTP to the Druid router as one user."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url
        self._http = urllib3.PoolManager(timeout=HTTP_TIMEOUT, retries=False)
        self._headers = {
            "Content-Type": "application/json",
            **urllib3.make_headers(basic_auth=f"{user}:{password}"),
        }

    def request(self, method: str, path: str, body: Any = None) -> Answer:
        payload = None if body is None else json.dumps(body).encode()
        response = self._http.request(method, self.url + path, body=payload, headers=self._headers)
        return Answer(response.status, response.data)

    def sql(self, query: str, parameters: Sequence[Any] = ()) -> Answer:
        """Druid's answer; rows come back as JSON objects."""
        return self.request(
            "POST",
            "/druid/v2/sql",
            {
                "query": query,
                "parameters": [{"type": _sql_type(value), "value": value} for value in parameters],
                "resultFormat": "object",
            },
        )

    def task_states(self, datasource: str, id_part: str) -> dict[str, str]:
        """Every task of `datasource` whose id contains `id_part`, by id, with its state."""
        answer = self.request("GET", f"/druid/indexer/v1/tasks?datasource={quote(datasource)}")
        assert answer.status == 200, f"task list failed ({answer.status}): {answer.body!r}"
        return {task["id"]: task["statusCode"] for task in answer.json() if id_part in task["id"]}

    def wait_for_tasks(self, datasource: str, id_part: str) -> dict[str, str]:
        """Wait until no task whose id contains `id_part` is still running; their final states."""
        return wait_for(
            lambda: self.task_states(datasource, id_part),
            lambda states: bool(states) and "RUNNING" not in states.values(),
            f"tasks of {datasource} with {id_part!r} in their id to finish",
        )


def _sql_type(value: Any) -> str:
    return {str: "VARCHAR", int: "BIGINT", float: "DOUBLE"}[type(value)]


def wait_for[T](read: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    """Poll `read` until `done` holds for what it returns; fail, naming `what`, if it never does."""
    give_up = time.monotonic() + HANG_GUARD_SECONDS
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > give_up:
            pytest.fail(f"gave up waiting for {what}; last seen: {value!r}")
        time.sleep(POLL_SECONDS)


@pytest.fixture(scope="session")
def druid_settings() -> DruidSettings:
    """The settings, once the router answers and accepts the pipeline user."""
    settings = DruidSettings.from_env()
    how_to_start = (
        "start it with `scripts/druid install && scripts/druid start`, or point "
        "RIPTIDE_DRUID_URL (and RIPTIDE_DRUID_USER, RIPTIDE_DRUID_PASSWORD, "
        "RIPTIDE_DRUID_ADMIN_PASSWORD) at a running one"
    )
    pipeline = DruidHttp(settings.url, settings.user, settings.password)
    try:
        answer = pipeline.request("POST", "/druid/v2/sql", {"query": "SELECT 1"})
    except urllib3.exceptions.HTTPError as error:
        pytest.fail(f"Druid is not reachable at {settings.url} ({error}); {how_to_start}")
    if answer.status != 200:
        pytest.fail(
            f"Druid at {settings.url} refused the pipeline user {settings.user} "
            f"({answer.status}: {answer.body[:200]!r}); {how_to_start}"
        )
    return settings


@pytest.fixture(scope="session")
def pipeline_http(druid_settings: DruidSettings) -> DruidHttp:
    return DruidHttp(druid_settings.url, druid_settings.user, druid_settings.password)


@pytest.fixture
def run_id() -> str:
    """A value no other test or run uses, to tag the rows and tasks a test creates."""
    return uuid.uuid4().hex[:12]
