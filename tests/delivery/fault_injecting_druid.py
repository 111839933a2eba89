"""FaultInjectingDruid: a stand-in for Druid's task, compaction and SQL HTTP API, for fault
injection.

Real Druid lives in tests/integration. This stub exists for what a real Druid cannot do on
demand: answer 429/500/503 or 401 when told, accept a task and then stall past the client's
read timeout, cut a SQL answer short, end tasks FAILED (also after publishing, as when the
indexer dies between publishing and reporting), forget tasks, run with the task audit log off.
It keeps tasks by id (answering a duplicate id with Druid's real 400 body), drops rows outside a
task's intervals as Druid does, answers the task audit log and segment metadata lookups for
what tasks published, and sums what published tasks carry so tests can compare Druid's totals
with the input.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from tools.local.loopback import LoopbackServer

TASK_PATH = "/druid/indexer/v1/task"
METADATA_PATH = "/druid/coordinator/v1/metadata/datasources/"
FAILED_AFTER_PUBLISHING = "FAILED_AFTER_PUBLISHING"
"""An end state for `end_next_tasks`: the segments are published, the task reports FAILED."""
COMPACTION_PATH = "/druid/coordinator/v1/config/compaction"
SQL_PATH = "/druid/v2/sql"


@dataclass(frozen=True)
class Fault:
    """One scripted answer. `accept` stores a submitted task before answering (after `delay`)."""

    status: int = 503
    body: bytes = b""
    delay: float = 0.0
    accept: bool = False


@dataclass
class StoredTask:
    task: dict[str, Any]
    state: str = "SUCCESS"
    error: str | None = None
    published: bool = True

    def segment_id(self) -> str:
        return f"{self.task['spec']['dataSchema']['dataSource']}_{self.task['id']}_0"


@dataclass
class _Script:
    submit: deque[Fault] = field(default_factory=deque)
    status: deque[Fault] = field(default_factory=deque)
    sql: deque[Fault] = field(default_factory=deque)
    end_states: deque[str] = field(default_factory=deque)


class FaultInjectingDruid:
    def __init__(
        self,
        *,
        duplicate_style: str = "druid37",
        credentials: tuple[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        audit_log: bool = True,
    ):
        self.duplicate_style = duplicate_style
        self.credentials = credentials
        self.audit_log = audit_log
        self.tasks: dict[str, StoredTask] = {}
        self.submissions: list[str] = []
        self.compaction: dict[str, dict[str, Any]] = {}
        self.sql_requests: list[dict[str, Any]] = []
        self._script = _Script()
        self._lock = threading.Lock()
        self._server = LoopbackServer(_handler_for(self), tls=tls)

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> FaultInjectingDruid:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    # Scripting
    def script_submit(self, *faults: Fault) -> None:
        """The next submissions get these answers, in order, then normal service resumes."""
        self._script.submit.extend(faults)

    def script_status(self, *faults: Fault) -> None:
        self._script.status.extend(faults)

    def script_sql(self, *faults: Fault) -> None:
        """The next SQL queries get these answers (a 200 may carry a body cut short, as Druid
        sends when a query fails mid-stream); then every query answers no rows."""
        self._script.sql.extend(faults)

    def heal(self) -> None:
        """Drop every scripted answer not given yet."""
        with self._lock:
            self._script.submit.clear()
            self._script.status.clear()
            self._script.sql.clear()

    def end_next_tasks(self, *states: str) -> None:
        """The next accepted tasks end in these states (FAILED, FAILED_AFTER_PUBLISHING,
        RUNNING) instead of SUCCESS."""
        self._script.end_states.extend(states)

    def finish(self, task_id: str, state: str = "SUCCESS") -> None:
        self.tasks[task_id].state = state
        self.tasks[task_id].published = state == "SUCCESS"

    def forget(self, task_id: str) -> None:
        """Druid loses the task (its records were cleaned up): status answers 404 from now on."""
        del self.tasks[task_id]

    # What Druid holds
    def totals(self) -> dict[str, float]:
        """Every longSum/doubleSum metric summed over the rows of published tasks, in intervals."""
        sums: dict[str, float] = {}
        for stored in self.tasks.values():
            if not stored.published:
                continue
            for name, value in _task_sums(stored.task).items():
                sums[name] = sums.get(name, 0) + value
        return sums

    def successful_task_ids(self) -> list[str]:
        return sorted(tid for tid, stored in self.tasks.items() if stored.state == "SUCCESS")

    # Request handling (called from server threads)
    def _submit(self, task: dict[str, Any]) -> tuple[int, bytes, float]:
        task_id = task.get("id") or f"index_parallel_{len(self.submissions)}"
        with self._lock:
            self.submissions.append(task_id)
            fault = self._script.submit.popleft() if self._script.submit else None
            if fault is not None and not fault.accept:
                return fault.status, fault.body, fault.delay
            if task_id in self.tasks:
                return 400, self._already_exists(task_id), 0.0
            state = self._script.end_states.popleft() if self._script.end_states else "SUCCESS"
            if state == FAILED_AFTER_PUBLISHING:
                self.tasks[task_id] = StoredTask(
                    task, "FAILED", "This task disappeared on the worker where it was assigned"
                )
            else:
                error = "scripted failure" if state == "FAILED" else None
                self.tasks[task_id] = StoredTask(task, state, error, state == "SUCCESS")
        body = json.dumps({"task": task_id}).encode()
        if fault is not None:
            return fault.status, body if fault.status == 200 else fault.body, fault.delay
        return 200, body, 0.0

    def _status(self, task_id: str) -> tuple[int, bytes, float]:
        with self._lock:
            fault = self._script.status.popleft() if self._script.status else None
            if fault is not None:
                return fault.status, fault.body, fault.delay
            stored = self.tasks.get(task_id)
        if stored is None:
            return 404, f"Cannot find any task with id: [{task_id}]".encode(), 0.0
        status = {"id": task_id, "statusCode": stored.state, "status": stored.state}
        if stored.error:
            status["errorMsg"] = stored.error
        return 200, json.dumps({"task": task_id, "status": status}).encode(), 0.0

    def _segments(self, task_id: str) -> tuple[int, bytes, float]:
        """The task audit log's answer: what the task published (nothing when the log is off)."""
        stored = self.tasks.get(task_id)
        if stored is None:
            return 404, f"Cannot find any task with id: [{task_id}]".encode(), 0.0
        segments = (
            [{"dataSource": "x", "identifier": stored.segment_id()}]
            if self.audit_log and stored.published
            else []
        )
        return 200, json.dumps(segments).encode(), 0.0

    def _sql(self, request: dict[str, Any]) -> tuple[int, bytes, float]:
        with self._lock:
            self.sql_requests.append(request)
            fault = self._script.sql.popleft() if self._script.sql else Fault(200, b"[]")
        return fault.status, fault.body, fault.delay

    def _segment_metadata(self, segment_id: str) -> tuple[int, bytes, float]:
        for stored in self.tasks.values():
            if stored.published and stored.segment_id() == segment_id:
                return 200, json.dumps({"identifier": segment_id}).encode(), 0.0
        return 404, b"", 0.0

    def _already_exists(self, task_id: str) -> bytes:
        """The 400 body of a duplicate id: as Druid 37 answers (checked against a real one),
        as Druid 27 and older did, or in the errorCode shape of Druid's DruidException."""
        if self.duplicate_style == "druid37":
            return json.dumps({"error": f"Task [{task_id}] already exists."}).encode()
        if self.duplicate_style == "druid27":
            return json.dumps({"error": f"Task[{task_id}] already exists!"}).encode()
        return json.dumps(
            {
                "error": "druidException",
                "errorCode": "entryAlreadyExists",
                "persona": "USER",
                "category": "INVALID_INPUT",
                "errorMessage": f"Task[{task_id}] already exists",
                "context": {},
            }
        ).encode()

    def _authorized(self, header: str | None) -> bool:
        if self.credentials is None:
            return True
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return header == f"Basic {expected}"


def _handler_for(druid: FaultInjectingDruid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self._auth_ok():
                return
            if self.path == TASK_PATH:
                self._answer(*druid._submit(json.loads(body)))
            elif self.path == COMPACTION_PATH:
                config = json.loads(body)
                druid.compaction[config["dataSource"]] = config
                self._answer(200, b"", 0.0)
            elif self.path == SQL_PATH:
                self._answer(*druid._sql(json.loads(body)))
            else:
                self._answer(404, b"", 0.0)

        def do_GET(self) -> None:
            if not self._auth_ok():
                return
            path = self.path.split("?", 1)[0]
            if path.startswith(TASK_PATH + "/") and path.endswith("/status"):
                task_id = unquote(path[len(TASK_PATH) + 1 : -len("/status")])
                self._answer(*druid._status(task_id))
            elif path.startswith(TASK_PATH + "/") and path.endswith("/segments"):
                self._answer(
                    *druid._segments(unquote(path[len(TASK_PATH) + 1 : -len("/segments")]))
                )
            elif path.startswith(METADATA_PATH):
                self._answer(*druid._segment_metadata(unquote(path.rsplit("/", 1)[1])))
            elif self.path.startswith(COMPACTION_PATH + "/"):
                config = druid.compaction.get(unquote(self.path[len(COMPACTION_PATH) + 1 :]))
                if config is None:
                    self._answer(404, b"", 0.0)
                else:
                    self._answer(200, json.dumps({**config, "taskPriority": 25}).encode(), 0.0)
            else:
                self._answer(404, b"", 0.0)

        def _auth_ok(self) -> bool:
            if druid._authorized(self.headers.get("Authorization")):
                return True
            self._answer(401, b"Unauthorized", 0.0)
            return False

        def _answer(self, status: int, body: bytes, delay: float) -> None:
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def _task_sums(task: dict[str, Any]) -> dict[str, float]:
    schema = task["spec"]["dataSchema"]
    summed = {
        metric["name"]: metric["fieldName"]
        for metric in schema["metricsSpec"]
        if metric["type"] in ("longSum", "doubleSum")
    }
    intervals = [_interval(text) for text in schema["granularitySpec"]["intervals"]]
    sums = dict.fromkeys(summed, 0.0)
    for line in _lines(task["spec"]["ioConfig"]["inputSource"]["data"]):
        row = json.loads(line)
        ts = _instant(row[schema["timestampSpec"]["column"]])
        if not any(start <= ts < end for start, end in intervals):
            continue
        for name, field_name in summed.items():
            sums[name] += row.get(field_name) or 0
    return sums


def _lines(data: str) -> Iterable[str]:
    return (line for line in data.splitlines() if line.strip())


def _interval(text: str) -> tuple[datetime, datetime]:
    start, end = text.split("/")
    return _instant(start), _instant(end)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
