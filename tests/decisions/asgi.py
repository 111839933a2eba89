"""Drive an ASGI application in this process as uvicorn does: lifespan startup, HTTP requests
(each a scope, its body and the answer's messages), lifespan shutdown."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class AsgiReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class AsgiServer:
    """`async with AsgiServer(app) as server:` runs the app's lifespan around the block."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._lifespan: asyncio.Task[None] | None = None
        self.startup_failure: str | None = None

    async def __aenter__(self) -> AsgiServer:
        self._lifespan = asyncio.create_task(
            self._app({"type": "lifespan"}, self._inbox.get, self._outbox.put)
        )
        await self._inbox.put({"type": "lifespan.startup"})
        started = await self._outbox.get()
        if started["type"] == "lifespan.startup.failed":
            self.startup_failure = started["message"]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._lifespan is not None
        if self.startup_failure is None:
            await self._inbox.put({"type": "lifespan.shutdown"})
        await self._lifespan

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> AsgiReply:
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "scheme": "http",
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "client": ("203.0.113.9", 50_000),
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self._app(scope, receive, send)
        start, content = sent[0], sent[1]
        headers_out = {k.decode(): v.decode() for k, v in start["headers"]}
        return AsgiReply(start["status"], headers_out, content["body"])
