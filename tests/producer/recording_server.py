"""A local HTTP server on 127.0.0.1 that records every request and answers 200, to capture the
exact requests an SDK builds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tools.local.loopback import LoopbackServer


@dataclass(frozen=True)
class CapturedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@contextmanager
def recording_server() -> Iterator[tuple[str, list[CapturedRequest]]]:
    """(base URL, the list that fills with captured requests) while the server runs."""
    captured: list[CapturedRequest] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            captured.append(CapturedRequest("POST", self.path, headers, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"success": true}')

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the captured requests are the output."""

    server = LoopbackServer(Recorder)
    server.start()
    try:
        yield server.url, captured
    finally:
        server.stop()
