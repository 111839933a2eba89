"""A local stand-in for the HTTP API: HTTP requests in, payload 2.0 events to a function.

It serves one function's routes as the stack defines them (the producer's POST
/v1/{batch,track,...,b,t,...} and GET /v1/projects/{writeKey}/settings, or the context API's
profile reads and POST /v1/decide), shapes each request the way API Gateway does for a Lambda
proxy integration (headers lowercased, X-Forwarded-* added, binary or compressed bodies
base64-encoded, requestContext and pathParameters filled in) and answers with what the handler
returns. A handler that raises, or overruns its timeout, gets API Gateway's 500. With a
`CorsPolicy` it answers preflights itself and puts the CORS headers on every answer, as API
Gateway does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from riptide.contract import DECIDE_ROUTE, INGEST_PATHS, PROFILE_ROUTES, SDK_SETTINGS_ROUTE
from tools.lambda_kit.context import FunctionSpec, LambdaContext
from tools.lambda_kit.http_api import payload_v2_event
from tools.local.cors import CorsPolicy
from tools.local.loopback import LoopbackServer

Handler = Callable[[dict[str, Any], LambdaContext], Any]

INGEST_ROUTES = (
    *(("POST", f"/v1/{path}") for path in INGEST_PATHS),
    ("GET", SDK_SETTINGS_ROUTE),
)
"""(method, route template) of each of the producer's routes, as the stack defines them."""
CONTEXT_ROUTES = (*PROFILE_ROUTES, DECIDE_ROUTE)
"""The context API's routes: profile reads and deletion, and decisions."""
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
INTERNAL_ERROR = (500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
NOT_FOUND = (404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
TOO_LARGE = (413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')

Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class RouteMatch:
    route_key: str
    path_parameters: dict[str, str]


def _route_pattern(template: str) -> re.Pattern[str]:
    """/v1/projects/{writeKey}/settings -> a regex with one named group per path parameter."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(pattern + "$")


class Routes:
    """The routes of one function, matched as API Gateway picks them."""

    def __init__(self, routes: Iterable[tuple[str, str]]) -> None:
        self._patterns = [
            (method, template, _route_pattern(template)) for method, template in routes
        ]

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route a request goes to, or None (API Gateway's 404)."""
        for route_method, template, pattern in self._patterns:
            found = pattern.match(path) if route_method == method else None
            if found:
                return RouteMatch(f"{method} {template}", found.groupdict())
        return None


def lambda_answer(result: Any) -> Answer:
    """Turn a handler's return value into an HTTP answer, as the payload 2.0 integration does."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    headers = {name.lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, payload


class LocalHttpApi:
    """The HTTP API on 127.0.0.1 in front of one function's handler (by default the producer's).

    The handler runs one invocation at a time, as in one Lambda execution environment: its
    Powertools router keeps the request being answered in class-level state, so two requests
    in one process at once could each be answered with the other's event. Connections are still
    taken concurrently; they queue for the function, as requests queue for a busy container.
    A handler that runs each invocation in an environment of its own (a `FunctionPool`) takes
    up to `environments` at once.
    """

    def __init__(
        self,
        handler: Handler,
        function: FunctionSpec,
        cors: CorsPolicy | None = None,
        routes: Iterable[tuple[str, str]] = INGEST_ROUTES,
        environments: int = 1,
    ) -> None:
        self.handler = handler
        self.function = function
        self.cors = cors
        self.routes = Routes(routes)
        self.statuses: Counter[int] = Counter()
        self.invocations = 0
        self.busy_seconds = 0.0
        self.environments = environments
        self._environment = threading.BoundedSemaphore(environments)
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
        with self._environment:
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

    def drain(self) -> None:
        """Return once the invocations in flight, if any, have finished."""
        for _ in range(self.environments):
            self._environment.acquire()
        for _ in range(self.environments):
            self._environment.release()

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
            self._call("POST")

        def do_GET(self) -> None:
            self._call("GET")

        def do_OPTIONS(self) -> None:
            self._call("OPTIONS")

        def do_DELETE(self) -> None:
            self._call("DELETE")

        def _call(self, method: str) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = int(headers.get("content-length") or 0)
            if length > MAX_PAYLOAD_BYTES:
                self.close_connection = True
                self._send(headers, TOO_LARGE)
                return
            body = self.rfile.read(length)
            if api.cors and CorsPolicy.is_preflight(method, headers):
                self._write(api.cors.preflight(headers))
                return
            route = api.routes.match(method, self.path.partition("?")[0])
            if route is None:
                self._send(headers, NOT_FOUND)
                return
            event = payload_v2_event(
                method=method,
                raw_path=self.path,
                headers=[*self.headers.items(), *self._forwarded()],
                body=body,
                source_ip=self.client_address[0],
                domain_name=self.headers.get("Host", "127.0.0.1"),
                route_key=route.route_key,
                path_parameters=route.path_parameters,
            )
            self._send(headers, api.answer(event))

        def _forwarded(self) -> list[tuple[str, str]]:
            """The headers API Gateway adds to every request it passes on."""
            return [
                ("X-Forwarded-For", self.client_address[0]),
                ("X-Forwarded-Port", str(self.server.server_address[1])),
                ("X-Forwarded-Proto", "http"),
            ]

        def _send(self, request_headers: dict[str, str], answer: Answer) -> None:
            self._write(api.cors.decorate(request_headers, answer) if api.cors else answer)

        def _write(self, answer: Answer) -> None:
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
