"""The collector's ASGI edge: HTTP in, IngestRequest to the Collector, its Answer out.

Routes are the producer's (POST /v1/<call>, through riptide.ingest.request), the decide API
(POST /v1/decide, when the collector is configured to serve it), plus the health path the load
balancer polls and CORS, which API Gateway does for the Lambda producer and a load balancer
does not. Served by uvicorn (see tools/cli.py); the work happens in Collector.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from riptide.collector.cors import CorsPolicy
from riptide.collector.service import Collector
from riptide.contract import DECIDE_ROUTE, HEALTH_PATH, SDK_SETTINGS_ROUTE
from riptide.decisions.decider import DecideCall
from riptide.decisions.request import MAX_BODY_BYTES as MAX_DECIDE_BODY_BYTES
from riptide.ingest.answers import Answer, error_answer
from riptide.ingest.exceptions import BodyTooLargeError
from riptide.ingest.request import IngestRequest, endpoint_for, unknown_call_message

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CALL_PREFIX = "/v1/"
PROJECTS_PREFIX, SETTINGS_SUFFIX = SDK_SETTINGS_ROUTE.split("{writeKey}")
DECIDE_METHOD, DECIDE_PATH = DECIDE_ROUTE
METRICS_EVERY_SECONDS = 60.0


def _message_answer(status: int, message: str) -> Answer:
    """The shape Powertools gives the Lambda producer's routing errors."""
    return Answer(
        status, json.dumps({"statusCode": status, "message": message}, separators=(",", ":"))
    )


NOT_FOUND = _message_answer(404, "Not Found")
METHOD_NOT_ALLOWED = _message_answer(405, "Method Not Allowed")
HEALTHY = Answer(200, '{"status":"ok"}')
STOPPING = Answer(503, '{"status":"stopping"}')


class CollectorApp:
    """An ASGI application around the Collector that `build` makes at startup."""

    def __init__(
        self,
        build: Callable[[], Collector] = Collector.from_env,
        cors: CorsPolicy | None = None,
    ) -> None:
        self._build = build
        self._cors = cors or CorsPolicy.from_env()
        self._collector: Collector | None = None
        self._stopping = False
        self._background: list[asyncio.Task[None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self._collector = self._build()
                except Exception as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                self._background = [
                    asyncio.create_task(self._write_metrics()),
                    asyncio.create_task(self._collector.keep_write_keys_fresh()),
                ]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._shut_down()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _shut_down(self) -> None:
        """The server has stopped taking requests: flush what is waiting, then let it exit."""
        self._stopping = True
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._collector is not None:
            await self._collector.close()

    async def _write_metrics(self) -> None:
        while True:
            await asyncio.sleep(METRICS_EVERY_SECONDS)
            if self._collector is not None:
                self._collector.flush_metrics()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        if path == HEALTH_PATH:
            answer = STOPPING if self._stopping else HEALTHY
            await _send(send, answer if method in ("GET", "HEAD") else METHOD_NOT_ALLOWED)
            return
        origin = _header(scope, b"origin")
        cors = self._cors.headers(origin)
        if path == DECIDE_PATH:
            await self._route_decide(method, origin, scope, receive, send)
            return
        write_key = _settings_key(path)
        call = path[len(CALL_PREFIX) :] if path.startswith(CALL_PREFIX) else None
        endpoint = endpoint_for(call) if call else None
        if write_key is None and endpoint is None:
            found = call is not None and "/" not in call
            answer = _message_answer(404, unknown_call_message(call)) if found else NOT_FOUND
            await _send(send, answer, cors)
        elif method == "OPTIONS":
            await _send(send, Answer(204, ""), self._cors.preflight(origin))
        elif write_key is not None:
            await _send(
                send,
                self._settings(write_key, scope) if method == "GET" else METHOD_NOT_ALLOWED,
                cors,
            )
        elif method != "POST":
            await _send(send, METHOD_NOT_ALLOWED, cors)
        else:
            await _send(send, await self._take(endpoint, scope, receive), cors)

    async def _route_decide(
        self, method: str, origin: bytes | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if method == "OPTIONS":
            await _send(send, Answer(204, ""), self._cors.preflight(origin))
        elif method != DECIDE_METHOD:
            await _send(send, METHOD_NOT_ALLOWED, self._cors.headers(origin))
        else:
            await _send(send, await self._decide(scope, receive), self._cors.headers(origin))

    async def _decide(self, scope: Scope, receive: Receive) -> Answer:
        assert self._collector is not None, "requests arrive only after startup"
        body = await _read_body(receive, MAX_DECIDE_BODY_BYTES)
        if body is None:
            limit = MAX_DECIDE_BODY_BYTES
            return self._collector.decide_failure(
                BodyTooLargeError(f"the body is more than {limit:,} bytes; the limit is {limit:,}")
            )
        headers = dict(scope["headers"])
        call = DecideCall(
            authorization=_text(headers.get(b"authorization")),
            body=body,
            content_encoding=_text(headers.get(b"content-encoding")),
        )
        return await self._collector.decide(call)

    def _settings(self, write_key: str, scope: Scope) -> Answer:
        """Events go to the host and scheme this request came in on (the scheme as the load
        balancer's X-Forwarded-Proto says, which uvicorn puts in the scope)."""
        assert self._collector is not None, "requests arrive only after startup"
        host = _text(_header(scope, b"host")) or ""
        return self._collector.sdk_settings(write_key, host, scope["scheme"])

    async def _take(self, endpoint: str, scope: Scope, receive: Receive) -> Answer:
        assert self._collector is not None, "requests arrive only after startup"
        limit = self._collector.settings.max_batch_bytes
        body = await _read_body(receive, limit)
        if body is None:
            return error_answer(
                BodyTooLargeError(f"the body is more than {limit:,} bytes; the limit is {limit:,}")
            )
        headers = dict(scope["headers"])
        client = scope.get("client")
        request = IngestRequest(
            endpoint=endpoint,
            body=body,
            content_encoding=_text(headers.get(b"content-encoding")),
            authorization=_text(headers.get(b"authorization")),
            source_ip=client[0] if client else None,
        )
        return await self._collector.handle(request)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it is past `limit` bytes (the rest is not kept)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(parts)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return value
    return None


def _settings_key(path: str) -> str | None:
    """The write key of a GET /v1/projects/{writeKey}/settings path, else None."""
    if not (path.startswith(PROJECTS_PREFIX) and path.endswith(SETTINGS_SUFFIX)):
        return None
    write_key = path[len(PROJECTS_PREFIX) : -len(SETTINGS_SUFFIX)]
    return write_key if write_key and "/" not in write_key else None


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def _send(send: Send, answer: Answer, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = answer.body.encode()
    headers = [
        (b"content-type", answer.content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in answer.headers.items()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app() -> CollectorApp:
    """uvicorn's application factory: each worker process builds its own collector."""
    return CollectorApp()
