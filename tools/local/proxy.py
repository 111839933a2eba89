"""A small forwarding HTTP proxy on 127.0.0.1 that can watch, rewrite or refuse what passes.

The pipeline's own clients stay untouched: they are pointed at the proxy's URL instead of the
real service. Subclasses decide per request whether to answer themselves (`intercept`) and see
every forwarded exchange (`observe`). `go_down` makes the port refuse connections and drops the
ones already open, as a crashed server would; `come_back` listens again on the same port.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import urllib3

from tools.local.loopback import LoopbackServer

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})
UPSTREAM_TIMEOUT = urllib3.Timeout(connect=5.0, read=60.0)


@dataclass(frozen=True)
class Exchange:
    """One request through the proxy."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, dict[str, str], bytes]


class ForwardingProxy:
    """Forwards every request to `upstream_url` unless `intercept` answers it."""

    def __init__(self, upstream_url: str) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self._pool = urllib3.PoolManager(maxsize=16, retries=False, timeout=UPSTREAM_TIMEOUT)
        self._down = threading.Event()
        self.connections_dropped = 0
        self._server = self._listen(port=0)
        self.port = self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> ForwardingProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop_listening()

    def go_down(self) -> None:
        """Refuse new connections and drop open ones, until `come_back`."""
        if not self._down.is_set():
            self._down.set()
            self._stop_listening()

    def come_back(self) -> None:
        if self._down.is_set():
            self._server = self._listen(self.port)
            self._down.clear()

    def intercept(self, exchange: Exchange) -> Answer | None:
        """Answer instead of the upstream (None: forward). Override to inject faults."""
        return None

    def observe(self, exchange: Exchange, answer: Answer) -> None:
        """See a forwarded exchange and the upstream's answer. Override to count."""

    def forward(self, exchange: Exchange, body: bytes | None = None) -> Answer:
        """Send the request (or it with another body) upstream; the upstream's answer."""
        response = self._pool.request(
            exchange.method,
            self.upstream_url + exchange.path,
            body=exchange.body if body is None else body,
            headers={k: v for k, v in exchange.headers.items() if k.lower() not in HOP_BY_HOP},
            redirect=False,
            preload_content=True,
        )
        return response.status, dict(response.headers), response.data

    def _handle(self, exchange: Exchange) -> Answer:
        answer = self.intercept(exchange)
        if answer is not None:
            return answer
        answer = self.forward(exchange)
        self.observe(exchange, answer)
        return answer

    def _listen(self, port: int) -> LoopbackServer:
        server = LoopbackServer(_request_handler(self), port=port)
        server.start()
        return server

    def _stop_listening(self) -> None:
        self._server.stop()


def _request_handler(proxy: ForwardingProxy) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if proxy._down.is_set():
                proxy.connections_dropped += 1
                self.close_connection = True
                return
            exchange = Exchange(self.command, self.path, dict(self.headers.items()), body)
            try:
                status, headers, payload = proxy._handle(exchange)
            except urllib3.exceptions.HTTPError:
                status, headers, payload = 502, {}, b""
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the owner counts what matters."""

    return RequestHandler
