"""Browser-like HTTP load: many concurrent keep-alive connections, each sending small requests.

Each connection posts one request at a time, as a page's SDK does: one analytics-next style
track event to /v1/track (write key in the body), or a /v1/batch of a few events; or, with a
DecideLoad, a POST /v1/decide for its shopper's placements (read key as a Bearer token). Requests go
out as fast as answers come back, for a fixed time. Kept per request: status and latency; per
event: its messageId when the answer was 200, so the stream can be checked against it.

asyncio on uvloop, HTTP/1.1 written directly and answers read with httptools' parser (the one
uvicorn uses), so one core drives a few thousand requests a second.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httptools
import uvloop

CONNECTION_FAILED = 0
PAGES = ("/", "/products/sneaker-42", "/cart", "/checkout", "/search?q=boots")
EVENTS = ("Product Viewed", "Product Added", "Products Searched", "Cart Viewed")


@dataclass(frozen=True)
class DecideLoad:
    """Ask for decisions instead of sending events: connection n asks for shopper n (modulo)."""

    read_key: str
    anonymous_ids: tuple[str, ...]
    placements: tuple[str, ...]


@dataclass(frozen=True)
class HttpLoadPlan:
    write_key: str
    duration_seconds: float = 10.0
    connections: int = 64
    events_per_request: int = 1
    seed: int = 0
    decide: DecideLoad | None = None


@dataclass
class LoadResult:
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    accepted_message_ids: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return self.statuses.total()

    def percentile_ms(self, share: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.latencies) if self.latencies else 0.0


def run_http_load(url: str, plan: HttpLoadPlan) -> LoadResult:
    """Send the load to `url` (http://host:port) for the plan's duration."""
    return uvloop.run(_run(url, plan))


async def _run(url: str, plan: HttpLoadPlan) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = LoadResult()
    started = time.monotonic()
    ends = started + plan.duration_seconds
    await asyncio.gather(
        *(_connection(host, port, plan, number, ends, result) for number in range(plan.connections))
    )
    result.seconds = time.monotonic() - started
    return result


async def _connection(
    host: str, port: int, plan: HttpLoadPlan, number: int, ends: float, out: LoadResult
) -> None:
    rng = random.Random(plan.seed * 100_003 + number)
    anonymous_id = str(uuid.UUID(int=rng.getrandbits(128)))
    if plan.decide is not None:
        anonymous_id = plan.decide.anonymous_ids[number % len(plan.decide.anonymous_ids)]
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < ends:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                out.statuses[CONNECTION_FAILED] += 1
                await asyncio.sleep(0.05)
                continue
        assert reader is not None
        message_ids, request = _request(host, port, plan, rng, anonymous_id)
        sent = time.monotonic()
        try:
            writer.write(request)
            status, keep_alive = await _answer(reader)
        except (OSError, ConnectionError, httptools.HttpParserError, EOFError):
            out.statuses[CONNECTION_FAILED] += 1
            writer.close()
            writer = None
            continue
        out.latencies.append(time.monotonic() - sent)
        out.statuses[status] += 1
        if status == 200:
            out.accepted_message_ids += message_ids
        if not keep_alive:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def _request(
    host: str, port: int, plan: HttpLoadPlan, rng: random.Random, anonymous_id: str
) -> tuple[list[str], bytes]:
    if plan.decide is not None:
        return [], _decide_request(host, port, plan.decide, anonymous_id)
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    events = [_event(rng, anonymous_id, now) for _ in range(plan.events_per_request)]
    if plan.events_per_request == 1:
        path, body = "/v1/track", {**events[0], "writeKey": plan.write_key, "sentAt": now}
    else:
        path, body = "/v1/batch", {"batch": events, "writeKey": plan.write_key, "sentAt": now}
    data = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    return [event["messageId"] for event in events], head + data


def _decide_request(host: str, port: int, decide: DecideLoad, anonymous_id: str) -> bytes:
    page = {"path": "/", "url": "https://shop.example.com/", "title": "Shop"}
    body = {"anonymousId": anonymous_id, "placements": decide.placements, "context": {"page": page}}
    data = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST /v1/decide HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {decide.read_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    return head + data


def _event(rng: random.Random, anonymous_id: str, now: str) -> dict[str, object]:
    page = rng.choice(PAGES)
    return {
        "type": "track",
        "event": rng.choice(EVENTS),
        "properties": {
            "product_id": f"sku-{rng.randrange(10_000)}",
            "price": round(rng.uniform(5, 300), 2),
            "currency": "EUR",
        },
        "anonymousId": anonymous_id,
        "messageId": f"ajs-next-{uuid.UUID(int=rng.getrandbits(128)).hex}",
        "timestamp": now,
        "context": {
            "library": {"name": "analytics.js", "version": "npm:next-1.81.0"},
            "page": {"path": page, "url": f"https://shop.example.com{page}", "title": "Shop"},
            "userAgent": "Mozilla/5.0 (X11; Linux aarch64) Chrome/131.0 Safari/537.36",
            "locale": "en-GB",
        },
    }


class _Answer:
    """httptools callbacks: the answer is complete once the whole message has been parsed."""

    def __init__(self) -> None:
        self.complete = False

    def on_message_complete(self) -> None:
        self.complete = True


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the connection stays open) of one answer."""
    answer = _Answer()
    parser = httptools.HttpResponseParser(answer)
    while not answer.complete:
        data = await reader.read(65_536)
        if not data:
            raise EOFError("the server closed the connection")
        parser.feed_data(data)
    return parser.get_status_code(), parser.should_keep_alive()
