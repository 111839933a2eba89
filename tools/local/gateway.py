"""A local stand-in for the HTTP API: HTTP requests in, payload 2.0 events to the producer.

It serves the stack's routes (POST /v1/{batch,track,...}), shapes each request the way API
Gateway does for a Lambda proxy integration (headers lowercased, binary or compressed bodies
base64-encoded, requestContext filled in) and answers with what the handler returns. A handler
that raises, or overruns its timeout, gets API Gateway's 500.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from riptide.contract import SEGMENT_PATHS
from tools.lambda_kit.context import FunctionSpec, LambdaContext
from tools.lambda_kit.http_api import payload_v2_event
from tools.local.loopback import LoopbackServer

Handler = Callable[[dict[str, Any], LambdaContext], Any]

ROUTES = frozenset(f"/v1/{path}" for path in SEGMENT_PATHS)
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
INTERNAL_ERROR = (500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
NOT_FOUND = (404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
TOO_LARGE = (413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')

Answer = tuple[int, dict[str, str], bytes]


def lambda_answer(result: Any) -> Answer:
    """Turn a handler's return value into an HTTP answer, as the payload 2.0 integration does."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    headers = {name.lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, payload


class LocalHttpApi:
    """The HTTP API on 127.0.0.1 in front of one producer handler, with bounded concurrency."""

    def __init__(self, handler: Handler, function: FunctionSpec, concurrency: int = 4) -> None:
        self.handler = handler
        self.function = function
        self.statuses: Counter[int] = Counter()
        self.invocations = 0
        self.busy_seconds = 0.0
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._server = LoopbackServer(_request_handler(self))

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> LocalHttpApi:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    def answer(self, event: dict[str, Any]) -> Answer:
        with self._slots:
            context = self.function.new_context()
            started = time.monotonic()
            try:
                result = self.handler(event, context)
            except Exception:  # the function failed: Lambda logs it, API Gateway answers 500
                traceback.print_exc()
                return INTERNAL_ERROR
            finally:
                self._record(time.monotonic() - started)
            if time.monotonic() - started > self.function.timeout_seconds:
                return INTERNAL_ERROR
        return lambda_answer(result)

    def _record(self, seconds: float) -> None:
        with self._lock:
            self.invocations += 1
            self.busy_seconds += seconds

    def count(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1


def _request_handler(api: LocalHttpApi) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            path = self.path.partition("?")[0]
            if length > MAX_PAYLOAD_BYTES:
                self.close_connection = True
                self._send(TOO_LARGE)
                return
            body = self.rfile.read(length)
            if path not in ROUTES:
                self._send(NOT_FOUND)
                return
            event = payload_v2_event(
                method="POST",
                raw_path=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                domain_name=self.headers.get("Host", "127.0.0.1"),
            )
            self._send(api.answer(event))

        def do_GET(self) -> None:
            self._send(NOT_FOUND)

        def _send(self, answer: Answer) -> None:
            status, headers, payload = answer
            api.count(status)
            self.send_response(status)
            for name, value in headers.items():
                if name not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Requests are counted, not logged: a log line per request would drown the output."""

    return RequestHandler
