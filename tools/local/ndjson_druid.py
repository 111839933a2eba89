"""A stand-in for Druid's task API on machines without Java: rollup rows go to an NDJSON file.

It speaks only the part of the API the consumer and reconciler use: submitting a task (its id
deduplicated, "already exists" answered as Druid 28+ answers it), a task's status and the
bulk taskStatus call. Every task succeeds at once; its inline rows are appended to the file,
one JSON object per line with the datasource and task id added, for the report to sum.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import urllib3

from tools.local.loopback import LoopbackServer

TASK_PATH = "/druid/indexer/v1/task"
TASK_STATUS_PATH = "/druid/indexer/v1/taskStatus"


def already_exists(task_id: str) -> dict[str, str]:
    return {
        "error": "druidException",
        "errorCode": "entryAlreadyExists",
        "category": "INVALID_INPUT",
        "errorMessage": f"Task[{task_id}] already exists",
    }


def success(task_id: str) -> dict[str, Any]:
    return {
        "id": task_id,
        "statusCode": "SUCCESS",
        "status": "SUCCESS",
        "runnerStatusCode": "NONE",
        "duration": 0,
    }


class NdjsonDruid:
    """The task API on 127.0.0.1, writing accepted rows to `rows_path`; Basic auth checked."""

    def __init__(self, rows_path: Path, username: str, password: str) -> None:
        self.rows_path = rows_path
        self.tasks: set[str] = set()
        self._authorization = urllib3.make_headers(basic_auth=f"{username}:{password}")[
            "authorization"
        ]
        self._lock = threading.Lock()
        self._server = LoopbackServer(_request_handler(self))

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> NdjsonDruid:
        self.rows_path.parent.mkdir(parents=True, exist_ok=True)
        self.rows_path.touch()
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    def authorized(self, header: str | None) -> bool:
        return header == self._authorization

    def submit(self, task: dict[str, Any]) -> tuple[int, Any]:
        task_id = task.get("id")
        if not isinstance(task_id, str) or not task_id:
            return 400, {"error": "druidException", "errorMessage": "task id is required here"}
        datasource = task["spec"]["dataSchema"]["dataSource"]
        data = task["spec"]["ioConfig"]["inputSource"]["data"]
        with self._lock:
            if task_id in self.tasks:
                return 400, already_exists(task_id)
            lines = [
                json.dumps({"datasource": datasource, "task": task_id, **json.loads(line)})
                for line in data.splitlines()
                if line.strip()
            ]
            with self.rows_path.open("a") as rows:
                rows.write("".join(line + "\n" for line in lines))
            self.tasks.add(task_id)
        return 200, {"task": task_id}

    def status(self, task_id: str) -> tuple[int, Any]:
        if task_id not in self.tasks:
            return 404, {"error": f"Task[{task_id}] not found"}
        return 200, {"task": task_id, "status": success(task_id)}

    def statuses(self, task_ids: list[str]) -> tuple[int, Any]:
        return 200, {task_id: success(task_id) for task_id in task_ids if task_id in self.tasks}


def _request_handler(druid: NdjsonDruid) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            if not druid.authorized(self.headers.get("Authorization")):
                self._send(401, {"error": "Unauthorized"})
            elif self.path.rstrip("/") == TASK_PATH:
                self._send(*druid.submit(body))
            elif self.path.rstrip("/") == TASK_STATUS_PATH:
                self._send(*druid.statuses(body))
            else:
                self._send(404, {"error": "not served by the NDJSON stand-in"})

        def do_GET(self) -> None:
            prefix, _, rest = self.path.partition(f"{TASK_PATH}/")
            if not druid.authorized(self.headers.get("Authorization")):
                self._send(401, {"error": "Unauthorized"})
            elif prefix == "" and rest.endswith("/status"):
                self._send(*druid.status(unquote(rest.removesuffix("/status"))))
            else:
                self._send(404, {"error": "not served by the NDJSON stand-in"})

        def _send(self, status: int, body: Any) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the rows file is the record."""

    return RequestHandler
