"""The shoppers' decision client: POST /v1/decide with the site's read key, counted on the way.

Calls go out from a few threads of their own, so a shopper waiting for an answer never slows the
traffic generator; each answer resolves a future the shopper's visit waits on. A call that fails
(no answer, or not 200) is not retried: the page shows its defaults, as a shop's page would.

The counts are the run's own record of the decisions: calls, statuses and latency, what was shown,
and the Decision Made events the 200 answers promised (one per decisionId), which the run's
exactly-once check adds to the events accepted.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import urllib3

from riptide.contract import DECIDE_ROUTE
from tools.traffic import Shown, Site

CONNECTION_FAILED = 0
MALFORMED_ANSWER = -1
"""A 200 answer without the decisions' shape: counted apart, nothing shown."""
REQUEST_TIMEOUT = urllib3.Timeout(connect=5.0, read=35.0)


@dataclass
class DecideCounts:
    """What the decision client asked and what it was answered."""

    calls: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    decisions: int = 0
    """Decision Made events the 200 answers promised: their decisionIds."""
    shown: Counter[str] = field(default_factory=Counter)
    """"<placement>: <content id>" of every decision."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def percentile_ms(self, share: float) -> float | None:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else None
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[
            round(share * 100) - 1
        ]


class HttpDecisionClient:
    """Asks `url`'s decide route from `workers` threads; `close` waits for calls in flight."""

    def __init__(self, url: str, workers: int = 8) -> None:
        self.url = url.rstrip("/") + DECIDE_ROUTE[1]
        self.counts = DecideCounts()
        self._pool = urllib3.PoolManager(maxsize=workers, retries=False)
        self._executor = futures.ThreadPoolExecutor(workers, thread_name_prefix="decide")

    def ask(
        self,
        site: Site,
        identity: Mapping[str, str],
        placements: tuple[str, ...],
        page: Mapping[str, str],
    ) -> futures.Future[Shown]:
        body = {**identity, "placements": list(placements), "context": {"page": dict(page)}}
        return self._executor.submit(self._decide, site.read_key, body)

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def _decide(self, read_key: str, body: dict[str, Any]) -> Shown:
        started = time.monotonic()
        try:
            response = self._pool.request(
                "POST",
                self.url,
                body=json.dumps(body, separators=(",", ":")).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {read_key}",
                },
                timeout=REQUEST_TIMEOUT,
            )
            status, data = response.status, response.data
        except urllib3.exceptions.HTTPError:
            status, data = CONNECTION_FAILED, b""
        latency_ms = 1000 * (time.monotonic() - started)
        made: list[dict[str, Any]] = []
        if status == 200:
            try:
                made = _decisions(json.loads(data))
            except (ValueError, TypeError, KeyError):
                status = MALFORMED_ANSWER
        with self.counts.lock:
            self.counts.calls += 1
            self.counts.statuses[status] += 1
            self.counts.latencies_ms.append(latency_ms)
            self.counts.decisions += len(made)
            self.counts.shown.update(f"{d['placement']}: {d['content']['id']}" for d in made)
        return {decision["placement"]: decision["content"]["id"] for decision in made}


def _decisions(answer: Any) -> list[dict[str, Any]]:
    """The decisions of a 200 answer that carry a decisionId (an unknown placement has none)."""
    made = [decision for decision in answer["decisions"] if "decisionId" in decision]
    for decision in made:
        if not (
            isinstance(decision["placement"], str) and isinstance(decision["content"]["id"], str)
        ):
            raise TypeError("a decision without a placement and content id")
    return made
