"""A share of the run's shoppers in real browsers: Chromium on the shops' pages, sending through
the published analytics-next bundle, in its standard and batching modes in turn.

One visit at a time: a whole shopping session from the same traffic model the load generator
uses, made as SDK calls on the page (identify for a logged-in shopper, then page and track calls
with the session's location and campaign as context), then the page is left. The SDK tells a
page nothing about what the API answered, so a browser event counts as accepted once the stream
holds it (the API answers 200 only after the write); a visit whose events the stream never
shows within its wait counts them as missing, and the report's check catches the difference.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools.local.browser import BATCHING, STANDARD, SdkCall, Shopper, ShopSite, chromium
from tools.traffic import Event, ShopperTraffic

SESSION_CONTEXT = ("location", "campaign", "locale")
"""Context the traffic model gives a session that a browser does not add by itself."""
BROWSER_SEED_OFFSET = 1_000_003
"""Browser sessions come from their own stream of the seed, apart from the load generator's."""


def sdk_calls(events: list[Event]) -> list[SdkCall]:
    """The SDK calls a shop's page makes for a session's events."""
    first = events[0]
    context = {key: first["context"][key] for key in SESSION_CONTEXT if key in first["context"]}
    options = {"context": context}
    calls = []
    if "userId" in first:
        calls.append(SdkCall("identify", (first["userId"], {}, options)))
    for event in events:
        if event["type"] == "track":
            calls.append(SdkCall("track", (event["event"], event["properties"], options)))
        elif event["type"] == "identify":  # a shopper logging in at checkout
            calls.append(SdkCall("identify", (event["userId"], event["traits"], options)))
        else:
            calls.append(SdkCall(event["type"], (event["name"], event["properties"], options)))
    return calls


@dataclass
class BrowserCounts:
    visits: Counter[str] = field(default_factory=Counter)
    """Visits by the SDK's delivery mode."""
    sent: int = 0
    in_stream: int = 0
    missing: int = 0
    failed_visits: int = 0
    message_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class BrowserShoppers:
    """Visits the shops' pages in Chromium until `duration_seconds` have passed."""

    def __init__(
        self,
        api_url: str,
        duration_seconds: float,
        seed: int,
        stream_holds: Callable[[list[str]], bool],
    ) -> None:
        self.counts = BrowserCounts()
        self._api_url = api_url
        self._duration = duration_seconds
        self._traffic = ShopperTraffic(seed + BROWSER_SEED_OFFSET, open_sessions=1)
        self._stream_holds = stream_holds
        self._visit_ids: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name="browser-shoppers")

    def start(self) -> None:
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        """Playwright's sync API lives in the thread that started it: all of it runs here."""
        modes = itertools.cycle((STANDARD, BATCHING))
        started = time.monotonic()
        with ShopSite() as site, chromium() as browser:
            while time.monotonic() - started < self._duration:
                self._visit(browser, site.url, next(modes))

    def _visit(self, browser: Any, site_url: str, mode: str) -> None:
        site, events = self._traffic.next_session()
        calls = sdk_calls(events)
        self._visit_ids = []
        try:
            with Shopper(browser, site_url, self._api_url, site.write_key) as shopper:
                shopper.visit(mode, calls, self._settled)
        except Exception:  # a page that failed is reported, never the end of the run
            traceback.print_exc()
            failed = 1
        else:
            failed = 0
        ids = self._visit_ids
        in_stream = sum(self._stream_holds([message_id]) for message_id in ids)
        with self.counts.lock:
            self.counts.visits[mode] += 1
            self.counts.failed_visits += failed
            self.counts.sent += len(ids)
            self.counts.in_stream += in_stream
            self.counts.missing += len(ids) - in_stream
            self.counts.message_ids += ids

    def _settled(self, message_ids: list[str]) -> bool:
        """Remembers the visit's messageIds, so a visit that never settles is still counted."""
        self._visit_ids = message_ids
        return self._stream_holds(message_ids)
