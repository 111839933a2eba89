"""The shopper traffic: exactly the events it always made for a seed when nobody decides for the
shoppers, and shoppers who wait for, and react to, what a site shows them when something does.

Decisions here come from `StandInDecisions`, a stand-in for the decide API (it answers at once,
or when told, from a rule of its own): these tests are about the shoppers, not the decider.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from concurrent import futures
from datetime import datetime

from tools.traffic import (
    COMPLETE_YOUR_ORDER,
    HERO_PLACEMENT,
    HOME_PLACEMENTS,
    RETURN_AFTER_SECONDS,
    Event,
    ShopperTraffic,
    Shown,
    Site,
    SiteEvent,
    event_corpus,
)

TRAFFIC_DIGEST = "2324cf5e4311eafa01c8fec2a4074395fbd56ddf16fba21e7d1ade9f1e357647"
"""SHA-256 of the first 5,000 events of seed 7, as the generator made them before decisions."""
CORPUS_DIGEST = "d231e8a6a1b4ccb11d7df49ca4c94a76b27eb7fcb77ff9be8e57cc7ed218ffa5"
"""SHA-256 of event_corpus(5000, 1000), the benchmarks' input, as it was before decisions."""


class StandInDecisions:
    """Shows "complete your order" to a shopper asking again (when `remind`), else the default.

    With `hold`, answers wait until `answer_all` is called."""

    def __init__(self, *, remind: bool = False, hold: bool = False) -> None:
        self.remind = remind
        self.hold = hold
        self.asked: list[tuple[str, dict[str, str], tuple[str, ...], dict[str, str]]] = []
        self._seen: set[str] = set()
        self._held: list[tuple[futures.Future[Shown], Shown]] = []

    def ask(
        self,
        site: Site,
        identity: Mapping[str, str],
        placements: tuple[str, ...],
        page: Mapping[str, str],
    ) -> futures.Future[Shown]:
        self.asked.append((site.name, dict(identity), placements, dict(page)))
        who = _who(identity)
        hero = COMPLETE_YOUR_ORDER if self.remind and who in self._seen else "hero-default"
        self._seen.add(who)
        answer: futures.Future[Shown] = futures.Future()
        if self.hold:
            self._held.append((answer, {HERO_PLACEMENT: hero}))
        else:
            answer.set_result({HERO_PLACEMENT: hero})
        return answer

    def answer_first(self) -> dict[str, str]:
        """Answer the oldest held ask; the identity it was for."""
        answer, shown = self._held.pop(0)
        answer.set_result(shown)
        return self.asked[len(self.asked) - len(self._held) - 1][1]


def _who(identity: Mapping[str, str]) -> str:
    return identity.get("anonymousId") or identity["userId"]


def _digest(site_events: list[SiteEvent]) -> str:
    digest = hashlib.sha256()
    for site_event in site_events:
        digest.update(json.dumps([site_event.site.name, site_event.event], sort_keys=True).encode())
    return digest.hexdigest()


def _time(event: Event) -> datetime:
    return datetime.fromisoformat(str(event["originalTimestamp"]))


def test_without_decisions_a_seed_gives_the_events_it_always_gave():
    assert _digest(ShopperTraffic(7).take(5000)) == TRAFFIC_DIGEST
    corpus = hashlib.sha256()
    for payload in event_corpus(5000, 1000):
        corpus.update(payload)
    assert corpus.hexdigest() == CORPUS_DIGEST


def test_every_visit_waits_for_its_home_page_decisions_before_its_first_event():
    decisions = StandInDecisions(hold=True)
    traffic = ShopperTraffic(3, open_sessions=4, decisions=decisions)

    assert traffic.poll_event() is None, "no visit may start before its answer"
    assert len(decisions.asked) == 4
    assert all(ask[2:] == (HOME_PLACEMENTS, {"path": "/"}) for ask in decisions.asked)

    identity = decisions.answer_first()
    events = []
    while (site_event := traffic.poll_event()) is not None:
        events.append(site_event.event)
    assert events, "the answered visit goes on"
    assert events[0]["type"] in ("page", "screen") and events[0]["name"] == "Home"
    assert {_who(event) for event in events if event["type"] != "identify"} == {_who(identity)}
    assert len(decisions.asked) == 5, "the visit that took its place asked as it started"


def test_shoppers_who_leave_a_cart_come_back_as_themselves_seconds_later():
    traffic = ShopperTraffic(5, decisions=StandInDecisions())
    events = [site_event.event for site_event in traffic.take(30_000)]

    carts: dict[str, datetime] = {}
    last_seen: dict[str, datetime] = {}
    returns = 0
    for event in events:  # anonymous shoppers: a logged-in one may have two visits at once
        if "anonymousId" not in event:
            continue
        who = event["anonymousId"]
        page = event["context"].get("page", {})
        is_direct_home = event.get("name") == "Home" and "referrer" not in page
        if is_direct_home and event["type"] == "page":
            returns += 1
            assert who in carts, "only shoppers with a cart come back"
            away = (_time(event) - last_seen[who]).total_seconds()
            assert away >= RETURN_AFTER_SECONDS[0]
        if event.get("event") == "Product Added":
            carts[who] = _time(event)
        last_seen[who] = _time(event)
    assert returns > 200
    assert traffic.returns.made > returns, "logged-in shoppers come back too"


def test_returning_shoppers_shown_complete_your_order_buy_clearly_more_often():
    def orders(remind: bool) -> tuple[int, ShopperTraffic]:
        traffic = ShopperTraffic(9, decisions=StandInDecisions(remind=remind))
        site_events = traffic.take(60_000)
        return sum(e.event.get("event") == "Order Completed" for e in site_events), traffic

    reminded_orders, reminded = orders(remind=True)
    plain_orders, plain = orders(remind=False)

    assert reminded.returns.reminded == reminded.returns.made > 500
    assert plain.returns.reminded == 0 and plain.returns.made > 500
    reminded_rate = reminded.returns.bought_reminded / reminded.returns.made
    plain_rate = plain.returns.bought_not_reminded / plain.returns.made
    assert reminded_rate > 2 * plain_rate
    assert reminded_orders > plain_orders + 0.2 * reminded.returns.made
