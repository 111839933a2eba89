"""A small HTTP client for Druid's task, coordinator and SQL APIs.

Every call has a timeout and runs inside a `Deadline`; 429, 5xx, timeouts and connection
errors are retried with the shared full-jitter backoff until the deadline leaves no room.
Anything else is final and raised with Druid's own error text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any
from urllib.parse import quote

import urllib3
from urllib3.exceptions import ProtocolError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from riptide.druid.exceptions import DruidRequestError, DruidTlsError, DruidUnavailableError
from riptide.druid.sql import SQL_PATH, SqlValue, sql_request
from riptide.retry import Backoff, Deadline, wait_before_retry

TASK_PATH = "/druid/indexer/v1/task"
METADATA_PATH = "/druid/coordinator/v1/metadata/datasources"
RETRYABLE_STATUSES = frozenset({429}) | frozenset(range(500, 600))
MAX_ERROR_TEXT = 2000
_ALREADY_EXISTS = re.compile(r"Task ?\[(?P<id>.*)\] already exists")
DEFAULT_BACKOFF = Backoff(base_seconds=0.1, cap_seconds=2.0)


@dataclass(frozen=True)
class DruidAuth:
    """HTTP Basic credentials of a druid-basic-security user."""

    username: str
    password: str


@dataclass(frozen=True)
class Timeouts:
    """Per-attempt limits; each is further capped by what is left of the deadline."""

    connect_seconds: float = 3.0
    read_seconds: float = 10.0


DEFAULT_TIMEOUTS = Timeouts()


class TaskState(StrEnum):
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    state: TaskState
    error: str | None = None


class SubmitOutcome(Enum):
    SUBMITTED = "submitted"
    ALREADY_EXISTS = "already_exists"


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes


class DruidClient:
    """Talks to a Druid Router (or Overlord/Coordinator) at `url`."""

    def __init__(
        self,
        url: str,
        auth: DruidAuth | None = None,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        backoff: Backoff = DEFAULT_BACKOFF,
        pool: urllib3.PoolManager | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url.rstrip("/")
        self._timeouts = timeouts
        self._backoff = backoff
        self._sleep = sleep
        self._pool = pool or urllib3.PoolManager(cert_reqs="CERT_REQUIRED", maxsize=4)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth is not None:
            self._headers |= urllib3.make_headers(basic_auth=f"{auth.username}:{auth.password}")

    def submit_task(self, task: dict[str, Any], deadline: Deadline) -> SubmitOutcome:
        """Submit `task` under its id; ALREADY_EXISTS means an earlier submission got through."""
        response = self._send("POST", TASK_PATH, task, deadline)
        if response.status == 400 and _is_already_exists(response.body, task["id"]):
            return SubmitOutcome.ALREADY_EXISTS
        self._raise_unless_ok("POST", TASK_PATH, response)
        return SubmitOutcome.SUBMITTED

    def task_status(self, task_id: str, deadline: Deadline) -> TaskStatus | None:
        """The task's status, or None when Druid knows no task by that id."""
        path = f"{TASK_PATH}/{quote(task_id, safe='')}/status"
        body = self.get_json(path, deadline)
        if body is None:
            return None
        status = body.get("status") or {}
        return TaskStatus(
            task_id=task_id,
            state=TaskState(status.get("statusCode") or status.get("status")),
            error=status.get("errorMsg"),
        )

    def task_segment_ids(self, task_id: str, deadline: Deadline) -> list[str] | None:
        """The segments the task asked the Overlord to publish, from Druid's task audit log
        (`druid.indexer.auditlog.enabled=true`; empty when it is off); None for an unknown task.

        The log is written before the publish action runs, so an id here may belong to a
        publish that failed: `segment_in_metadata` tells.
        """
        body = self.get_json(f"{TASK_PATH}/{quote(task_id, safe='')}/segments", deadline)
        if body is None:
            return None
        return [segment["identifier"] for segment in body]

    def segment_in_metadata(self, datasource: str, segment_id: str, deadline: Deadline) -> bool:
        """Whether the metadata store holds the segment (used, or unused since compaction)."""
        path = (
            f"{METADATA_PATH}/{quote(datasource, safe='')}/segments/{quote(segment_id, safe='')}"
            "?includeUnused=true"
        )
        return self.get_json(path, deadline) is not None

    def sql(
        self, query: str, parameters: Sequence[SqlValue], deadline: Deadline
    ) -> list[dict[str, Any]]:
        """The rows of a read-only SQL query, each a JSON object; `?` marks take `parameters`.

        A query only reads, so a retry after a timeout or a 5xx is safe. Druid is told to stop
        the query when one attempt would time out, so an abandoned attempt stops using it.
        """
        timeout = min(self._timeouts.read_seconds, deadline.remaining())
        try:
            return self.post_json(SQL_PATH, sql_request(query, parameters, timeout), deadline) or []
        except ValueError as error:
            # A query failing while its rows stream out ends a 200 answer early.
            raise DruidUnavailableError(
                "POST", SQL_PATH, 1, f"the answer was cut short ({error})"
            ) from error

    def get_json(self, path: str, deadline: Deadline) -> Any | None:
        """GET a JSON document; None on 404."""
        response = self._send("GET", path, None, deadline)
        if response.status == 404:
            return None
        self._raise_unless_ok("GET", path, response)
        return json.loads(response.body) if response.body else None

    def post_json(self, path: str, body: Any, deadline: Deadline) -> Any | None:
        """POST a JSON document; the parsed answer, or None when Druid answers with no body."""
        response = self._send("POST", path, body, deadline)
        self._raise_unless_ok("POST", path, response)
        return json.loads(response.body) if response.body else None

    def _send(self, method: str, path: str, body: Any, deadline: Deadline) -> _Response:
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._pool.request(
                    method,
                    self._url + path,
                    body=payload,
                    headers=self._headers,
                    timeout=self._attempt_timeout(deadline),
                    retries=False,
                    redirect=False,
                )
            except SSLError as error:
                raise DruidTlsError(self._url, str(error)) from error
            except (Urllib3TimeoutError, ProtocolError) as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if response.status not in RETRYABLE_STATUSES:
                    return _Response(response.status, response.data)
                problem = f"HTTP {response.status} {druid_error_text(response.data)}".rstrip()
            if not wait_before_retry(self._backoff, attempt - 1, deadline, self._sleep):
                raise DruidUnavailableError(method, path, attempt, problem)

    def _attempt_timeout(self, deadline: Deadline) -> urllib3.Timeout:
        left = max(deadline.remaining(), 0.001)
        return urllib3.Timeout(
            connect=min(self._timeouts.connect_seconds, left),
            read=min(self._timeouts.read_seconds, left),
        )

    @staticmethod
    def _raise_unless_ok(method: str, path: str, response: _Response) -> None:
        if not 200 <= response.status < 300:
            raise DruidRequestError(method, path, response.status, druid_error_text(response.body))


def druid_error_text(body: bytes) -> str:
    """Druid's explanation from an error body (errorMessage, error, or a servlet's message),
    else the raw text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:MAX_ERROR_TEXT]
    if isinstance(parsed, dict):
        message = parsed.get("errorMessage") or parsed.get("error") or parsed.get("message")
        if isinstance(message, str):
            return message[:MAX_ERROR_TEXT]
    return text[:MAX_ERROR_TEXT]


def _is_already_exists(body: bytes, task_id: str) -> bool:
    """Druid's 400 for a duplicate id, in any of its shapes, naming this very task.

    Seen: `{"errorCode": "entryAlreadyExists", "errorMessage": "Task[<id>] already exists"}`,
    `{"error": "Task[<id>] already exists!"}` (27 and older) and
    `{"error": "Task [<id>] already exists."}` (37).
    """
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    if not isinstance(parsed, dict):
        return False
    message = parsed.get("errorMessage") or parsed.get("error") or ""
    named = isinstance(message, str) and (match := _ALREADY_EXISTS.match(message)) is not None
    if named and match.group("id") != task_id:
        return False
    return named or parsed.get("errorCode") == "entryAlreadyExists"
