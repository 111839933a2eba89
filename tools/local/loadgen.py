"""Shopper traffic over HTTP, sent the way the Segment SDKs send it, and counted on the way.

Each site gets its own client that batches events (up to `flush_at`, or every `flush_seconds`),
gzips the batch and posts it to /v1/batch with the write key as HTTP Basic username. A few
deliberately broken events are mixed in so that rejections show. Requests answered 429 or 5xx,
or lost on the way, are retried with backoff and the same messageIds, as the SDKs do. With
`resend_share`, that share of the requests the API answered 200 is sent once more, seconds to
minutes later, as a browser SDK resending from localStorage or a server SDK retrying a timeout.

With a decision client, the shoppers also ask for the home page's decisions as each visit
starts (from the client's own threads; a visit waits, parked, while the rest of the traffic
goes on) and behave according to what they were shown.

The counts kept here are the run's independent record of what clients saw: events sent once
each (retries are not counted again), events the API accepted (its 200 answer minus the events
it listed as rejected, by messageId: an event accepted twice is one event) and events it
rejected. They, and the Decision Made events the decision client was promised, are what
Druid's sums are checked against.
"""

from __future__ import annotations

import base64
import gzip
import heapq
import itertools
import json
import queue
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import urllib3

from riptide.retry import Backoff
from tools.local.decide_client import HttpDecisionClient
from tools.traffic import BAD_EVENT_KINDS, ShopperTraffic, Site, bad_event

CONNECTION_FAILED = 0
RETRY_STATUSES = frozenset({CONNECTION_FAILED, 429}) | frozenset(range(500, 600))
RETRY_BACKOFF = Backoff(base_seconds=0.5, cap_seconds=8.0)
REQUEST_TIMEOUT = urllib3.Timeout(connect=5.0, read=35.0)
LIBRARY = {"name": "analytics-python", "version": "2.4.0"}


@dataclass(frozen=True)
class LoadPlan:
    """How much traffic, for how long, and how it is batched."""

    rate: float
    duration_seconds: float
    seed: int = 0
    flush_at: int = 100
    flush_seconds: float = 1.0
    bad_event_share: float = 0.002
    senders: int = 4
    max_attempts: int = 8
    resend_share: float = 0.0
    """Share of the requests answered 200 that are sent again later, unchanged."""
    resend_after_seconds: tuple[float, float] = (2.0, 90.0)


@dataclass
class LoadCounts:
    """What the clients sent and what the API answered, event by event."""

    sent: int = 0
    accepted: int = 0
    """Distinct events accepted: distinct messageIds, and any event sent without one."""
    rejected: int = 0
    bad_sent: int = 0
    unexpected_rejections: int = 0
    accepted_count_mismatches: int = 0
    requests: int = 0
    retries: int = 0
    resent_events: int = 0
    """Events sent again after an error answer; some may have reached Kinesis the first time."""
    gave_up_events: int = 0
    late_resent_requests: int = 0
    late_resent_events: int = 0
    """Accepted events of requests deliberately sent again later (`resend_share`)."""
    bytes_on_wire: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None
    accepted_message_ids: set[str] = field(default_factory=set, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass(frozen=True, order=True)
class _Resend:
    due: float
    payload: bytes = field(compare=False)
    headers: dict[str, str] = field(compare=False)
    events: int = field(compare=False)


@dataclass(frozen=True)
class Batch:
    site: Site
    events: list[Any]
    bad_indexes: frozenset[int]


class SiteBuffer:
    """One site's SDK queue: events wait here until a batch is full or old enough."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.events: list[Any] = []
        self._bad: set[int] = set()
        self._since = 0.0

    def add(self, event: Any, *, bad: bool) -> None:
        if not self.events:
            self._since = time.monotonic()
        if bad:
            self._bad.add(len(self.events))
        self.events.append(event)

    def age(self) -> float:
        return time.monotonic() - self._since

    def take(self) -> Batch:
        batch = Batch(self.site, self.events, frozenset(self._bad))
        self.events, self._bad = [], set()
        return batch


class LoadGenerator:
    """Runs a LoadPlan against `api_url` in background threads; `counts` fills in as it goes.
    With `decisions`, its shoppers ask for decisions and react to them."""

    def __init__(
        self, api_url: str, plan: LoadPlan, decisions: HttpDecisionClient | None = None
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.plan = plan
        self.counts = LoadCounts()
        self.decisions = decisions
        self._traffic = ShopperTraffic(
            plan.seed, clock=lambda: datetime.now(UTC), decisions=decisions
        )
        self.returns = self._traffic.returns
        self._rng = random.Random(plan.seed)
        self._resend_rng = random.Random(plan.seed + 1)
        self._batches: queue.Queue[Batch | None] = queue.Queue(maxsize=plan.senders * 4)
        self._pool = urllib3.PoolManager(maxsize=plan.senders + 1, retries=False)
        self._resends: list[_Resend] = []
        self._senders = [
            threading.Thread(target=self._send_batches, daemon=True) for _ in range(plan.senders)
        ]
        self._threads = [
            threading.Thread(target=self._generate, daemon=True),
            *self._senders,
            threading.Thread(target=self._resend_later, daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait(self) -> None:
        """Until the planned duration is over and every batch and decision has its answer."""
        for thread in self._threads:
            thread.join()
        if self.decisions is not None:
            self.decisions.close()

    def _generate(self) -> None:
        """Make events at the planned rate and hand each site's batches to the senders."""
        plan = self.plan
        buffers = {site.name: SiteBuffer(site) for site in self._traffic.sites}
        bad_kinds = itertools.cycle(BAD_EVENT_KINDS)
        started = time.monotonic()
        made = 0
        while (elapsed := time.monotonic() - started) < plan.duration_seconds:
            due = max(int(elapsed * plan.rate) - made, 0)
            for _ in range(due):
                site_event = self._traffic.poll_event()
                if site_event is None:  # every open visit waits for its decisions
                    break
                made += 1
                buffer = buffers[site_event.site.name]
                if self._rng.random() < plan.bad_event_share:
                    buffer.add(bad_event(site_event.event, next(bad_kinds)), bad=True)
                else:
                    buffer.add(site_event.event, bad=False)
                if len(buffer.events) >= plan.flush_at:
                    self._batches.put(buffer.take())
            for buffer in buffers.values():
                if buffer.events and buffer.age() >= plan.flush_seconds:
                    self._batches.put(buffer.take())
            time.sleep(0.01)
        for buffer in buffers.values():
            if buffer.events:
                self._batches.put(buffer.take())
        for _ in range(plan.senders):
            self._batches.put(None)

    def _send_batches(self) -> None:
        while (batch := self._batches.get()) is not None:
            self._send(batch)

    def _send(self, batch: Batch) -> None:
        now = datetime.now(UTC)
        body = {
            "batch": batch.events,
            "sentAt": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "context": {"library": LIBRARY},
        }
        payload = gzip.compress(json.dumps(body, separators=(",", ":")).encode(), compresslevel=6)
        token = base64.b64encode(f"{batch.site.write_key}:".encode()).decode()
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Authorization": f"Basic {token}",
            "User-Agent": f"{LIBRARY['name']}/{LIBRARY['version']}",
        }
        with self.counts.lock:
            self.counts.sent += len(batch.events)
            self.counts.bad_sent += len(batch.bad_indexes)
            self.counts.first_sent_at = self.counts.first_sent_at or now
            self.counts.last_sent_at = now
        for attempt in range(self.plan.max_attempts):
            status, answer, retry_after = self._post(payload, headers)
            with self.counts.lock:
                self.counts.requests += 1
                self.counts.bytes_on_wire += len(payload)
                self.counts.statuses[status] += 1
            if status not in RETRY_STATUSES:
                accepted = self._count_answer(batch, status, answer)
                if status == 200 and self._resend_rng.random() < self.plan.resend_share:
                    self._schedule_resend(payload, headers, accepted)
                return
            with self.counts.lock:
                self.counts.retries += 1
                self.counts.resent_events += len(batch.events)
            time.sleep(max(retry_after, RETRY_BACKOFF.delay(attempt)))
        with self.counts.lock:
            self.counts.gave_up_events += len(batch.events)

    def _schedule_resend(self, payload: bytes, headers: dict[str, str], events: int) -> None:
        with self.counts.lock:
            delay = self._resend_rng.uniform(*self.plan.resend_after_seconds)
            heapq.heappush(
                self._resends, _Resend(time.monotonic() + delay, payload, headers, events)
            )

    def _resend_later(self) -> None:
        """Send each scheduled request again when it is due, until the senders are done and
        nothing is left; answers are not counted (the events were accepted already)."""
        while True:
            with self.counts.lock:
                due = self._resends[0] if self._resends else None
                if due is not None and due.due <= time.monotonic():
                    heapq.heappop(self._resends)
            if due is None:
                if not any(sender.is_alive() for sender in self._senders):
                    return
                time.sleep(0.2)
                continue
            if due.due > time.monotonic():
                time.sleep(min(0.2, due.due - time.monotonic()))
                continue
            with self.counts.lock:
                self.counts.late_resent_requests += 1
                self.counts.late_resent_events += due.events
            for attempt in range(self.plan.max_attempts):
                status, _, retry_after = self._post(due.payload, due.headers)
                with self.counts.lock:
                    self.counts.requests += 1
                    self.counts.bytes_on_wire += len(due.payload)
                    self.counts.statuses[status] += 1
                if status not in RETRY_STATUSES:
                    break
                time.sleep(max(retry_after, RETRY_BACKOFF.delay(attempt)))

    def _post(self, payload: bytes, headers: dict[str, str]) -> tuple[int, Any, float]:
        """Status (CONNECTION_FAILED when no answer came), parsed answer, Retry-After seconds."""
        try:
            response = self._pool.request(
                "POST",
                f"{self.api_url}/v1/batch",
                body=payload,
                headers=headers,
                timeout=REQUEST_TIMEOUT,
            )
        except urllib3.exceptions.HTTPError:
            return CONNECTION_FAILED, None, 0.0
        try:
            answer = json.loads(response.data)
        except ValueError:
            answer = None
        return response.status, answer, float(response.headers.get("Retry-After") or 0)

    def _count_answer(self, batch: Batch, status: int, answer: Any) -> int:
        """Count the answer's accepted and rejected events; how many it accepted."""
        listed = (answer or {}).get("rejected", [])
        rejected_indexes = {item.get("index") for item in listed if isinstance(item, dict)}
        if status == 200:
            accepted = len(batch.events) - len(rejected_indexes)
        elif status == 400 and isinstance(answer, dict) and "rejected" in answer:
            accepted = 0
        else:
            accepted, rejected_indexes = 0, set(range(len(batch.events)))
        with self.counts.lock:
            for index, event in enumerate(batch.events):
                if accepted and index not in rejected_indexes:
                    self._count_accepted(event)
            self.counts.rejected += len(batch.events) - accepted
            self.counts.unexpected_rejections += len(rejected_indexes - batch.bad_indexes)
            if status == 200 and (answer or {}).get("accepted") != accepted:
                self.counts.accepted_count_mismatches += 1
        return accepted

    def _count_accepted(self, event: Any) -> None:
        """Count an accepted event once, however often it was accepted (the lock is held)."""
        message_id = event.get("messageId") if isinstance(event, dict) else None
        if message_id is None:
            self.counts.accepted += 1
        elif message_id not in self.counts.accepted_message_ids:
            self.counts.accepted_message_ids.add(message_id)
            self.counts.accepted += 1
