"""Seeded, realistic shopper traffic in the shape Segment SDKs send it.

Benchmarks, tests and the load generator need the same believable input: several shops, each
with its own write key; shopping sessions that walk the funnel page view -> Product Viewed ->
Product Added -> Checkout Started -> Order Completed and drop off on the way; a long tail of
products; logged-in and anonymous shoppers, some of whom log in at checkout; campaigns, devices,
countries and client clocks that are a little wrong. Events carry only what a client sends (no
receivedAt, no ip).

Everything is drawn from `random.Random(seed)`, so a seed always gives the same events. With the
default simulated clock the timestamps are deterministic too; the load generator passes a real
clock so events are stamped when they are sent (the rest stays the same for the seed). Each event
is a fresh top-level dict; nested context values are shared between events of a session, so copy
before mutating them.

With a `DecisionClient`, shoppers also react to what a site shows them: every visit asks for the
home page's decisions before its first event (and waits, parked, until the answer is there),
shoppers who leave items in their cart come back a little later, and a returning shopper shown
"complete your order" buys with a clearly higher chance than one who is not. Those draws come
from generators of their own, so without a client a seed gives exactly the events it always did.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import msgspec

Event = dict[str, object]
Clock = Callable[[], datetime]

CORPUS_SEED = 20261127
"""The seed of the corpus benchmarks and tests share."""
SIMULATION_START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
"""Where the simulated clock starts, so that a seed also pins every timestamp."""


@dataclass(frozen=True)
class Site:
    """One shop sending events under its own write key and reading under its read key."""

    name: str
    write_key: str
    domain: str
    currency: str
    catalog_size: int
    share: float
    read_key: str


SITES: tuple[Site, ...] = (
    Site(
        "northwind-outdoor",
        "wk_northwind_3f9a1c7e",
        "northwind-outdoor.example",
        "USD",
        4000,
        0.4,
        "rk_northwind_5d08e2b4",
    ),
    Site(
        "lumen-beauty",
        "wk_lumen_8b2d4e61",
        "lumen-beauty.example",
        "EUR",
        1500,
        0.25,
        "rk_lumen_a4c19f37",
    ),
    Site(
        "tern-home", "wk_tern_c05e9a2f", "tern-home.example", "GBP", 2500, 0.2, "rk_tern_6e7b20d1"
    ),
    Site(
        "kappa-kids",
        "wk_kappa_71f3b8d0",
        "kappa-kids.example",
        "USD",
        800,
        0.15,
        "rk_kappa_93d5c8a0",
    ),
)

CATEGORIES = ("Apparel", "Footwear", "Home", "Beauty", "Toys", "Outdoor", "Kitchen", "Garden")
ADJECTIVES = ("Classic", "Alpine", "Soft", "Urban", "Coastal", "Everyday", "Pro", "Mini", "Cozy")
NOUNS = ("Jacket", "Sneaker", "Lamp", "Serum", "Blanket", "Backpack", "Mug", "Planter", "Puzzle")
COUNTRIES = (  # (country, locale, weight)
    ("US", "en-US", 42),
    ("GB", "en-GB", 14),
    ("DE", "de-DE", 12),
    ("FR", "fr-FR", 9),
    ("CA", "en-CA", 7),
    ("ES", "es-ES", 5),
    ("NL", "nl-NL", 4),
    ("BR", "pt-BR", 4),
    ("JP", "ja-JP", 3),
)
BROWSERS = (  # (user agent, weight)
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Version/18.1 Safari/604.1", 30),
    ("Mozilla/5.0 (Linux; Android 15; Pixel 9) Chrome/131.0.0.0 Mobile Safari/537.36", 15),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36", 40),
    ("Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) Version/18.1 Safari/604.1", 15),
)
APPS = (  # (library, device, weight): native apps send screens and no user agent
    ({"name": "analytics-swift", "version": "1.7.1"}, {"type": "ios", "model": "iPhone16,2"}, 55),
    (
        {"name": "analytics-kotlin", "version": "1.19.0"},
        {"type": "android", "model": "Pixel 9"},
        45,
    ),
)
CAMPAIGNS = (  # (name, source, medium)
    ("black_friday", "google", "cpc"),
    ("black_friday", "facebook", "paid_social"),
    ("winter_sale", "newsletter", "email"),
    ("retarget_cart", "criteo", "display"),
    ("brand", "bing", "cpc"),
)
WEB_LIBRARY = {"name": "analytics.js", "version": "1.76.0"}

APP_SHARE = 0.4
LOGGED_IN_SHARE = 0.35
LOGIN_AT_CHECKOUT_SHARE = 0.5
"""Of the anonymous shoppers who go to checkout, how many log in first (an identify call)."""
CAMPAIGN_SHARE = 0.4
SHOPPERS_PER_SITE = 20_000
ZIPF_EXPONENT = 1.1
CONTINUE_RATE = {  # chance a shopper goes on from one funnel step to the next
    "Product Viewed": 0.35,
    "Product Added": 0.5,
    "Checkout Started": 0.65,
}

HOME_PLACEMENTS = ("home-hero", "home-picks")
"""What the home page asks decisions for: its hero banner and a strip of product picks."""
HERO_PLACEMENT = HOME_PLACEMENTS[0]
COMPLETE_YOUR_ORDER = "complete-your-order"
"""The hero content that reminds a shopper of the cart they left."""
RETURN_SHARE = 0.9
"""Of the shoppers who leave items in their cart, how many come back (decision client only)."""
RETURN_AFTER_SECONDS = (20.0, 30.0)
"""How long after their visit they come back; a site reminds them once the cart sat 15 s."""
BUY_ON_RETURN = 0.12
BUY_ON_RETURN_REMINDED = 0.6
"""Chance a returning shopper checks out and buys: not shown, or shown, "complete your order"."""

Shown = Mapping[str, str]
"""What a page showed: the content id chosen for each placement that got a decision."""


class DecisionClient(Protocol):
    """Asks a site for a page's decisions without blocking the traffic that asks."""

    def ask(
        self,
        site: Site,
        identity: Mapping[str, str],
        placements: tuple[str, ...],
        page: Mapping[str, str],
    ) -> futures.Future[Shown]:
        """The content shown per placement, once answered; an empty mapping when the call
        failed (the page shows its defaults). The future never holds an exception."""
        ...


@dataclass
class ReturnVisits:
    """What the simulated shoppers did when they came back for their carts."""

    scheduled: int = 0
    made: int = 0
    reminded: int = 0
    """Returning shoppers shown "complete your order"."""
    bought_reminded: int = 0
    bought_not_reminded: int = 0


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    price: float


@dataclass(frozen=True)
class SiteEvent:
    """An event and the site (hence write key) that sends it."""

    site: Site
    event: Event


class Catalog:
    """A site's products, drawn with Zipf popularity: a few best sellers, a long tail."""

    def __init__(self, site: Site) -> None:
        names = itertools.product(ADJECTIVES, NOUNS)
        self.products = [
            Product(
                product_id=f"{site.name[:3]}-{rank:05d}",
                name=" ".join(name) + f" {rank}",
                category=CATEGORIES[rank % len(CATEGORIES)],
                price=round(4.99 + (rank * 7919 % 24_000) / 100, 2),
            )
            for rank, name in zip(range(site.catalog_size), itertools.cycle(names), strict=False)
        ]
        weights = itertools.accumulate(
            1 / rank**ZIPF_EXPONENT for rank in range(1, site.catalog_size + 1)
        )
        self._cumulative = list(weights)

    def pick(self, rng: random.Random) -> Product:
        point = rng.random() * self._cumulative[-1]
        return self.products[bisect.bisect_left(self._cumulative, point)]


@dataclass
class Session:
    """One shopper's visit: who they are, their device, and the events still to come."""

    site: Site
    identity: dict[str, str]
    context: dict[str, object]
    clock_skew: timedelta
    in_app: bool
    pending: Iterator[Event] = field(default_factory=lambda: iter(()))
    cart: list[tuple[Product, int]] = field(default_factory=list)
    """What is in the cart and not bought yet."""
    returning: bool = False
    decision: futures.Future[Shown] | None = None
    """The home page's decisions, asked for when the visit starts (decision client only)."""

    @property
    def ready(self) -> bool:
        """Whether the visit can go on: it waits for no answer."""
        return self.decision is None or self.decision.done()

    @property
    def shown(self) -> Shown:
        return self.decision.result() if self.decision is not None else {}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _weighted[T](rng: random.Random, choices: tuple[T, ...], weights: list[int]) -> T:
    return rng.choices(choices, weights=weights)[0]


class ShopperTraffic:
    """Interleaved shopping sessions across several sites, deterministic for a seed.

    Many sessions are open at once and each call to `next_event` advances a random one, as on a
    real shop where visits overlap. `clock` says when an event happens; by default a simulated
    clock that starts at SIMULATION_START and ticks `mean_gap_seconds` on average. With
    `decisions`, a visit waiting for its answer is skipped until the answer is there.
    """

    def __init__(
        self,
        seed: int = 0,
        sites: tuple[Site, ...] = SITES,
        open_sessions: int = 64,
        clock: Clock | None = None,
        mean_gap_seconds: float = 0.01,
        decisions: DecisionClient | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.sites = sites
        self.catalogs = {site.name: Catalog(site) for site in sites}
        self._simulated_now = SIMULATION_START
        self._gap_rng = random.Random(seed)
        # Logins draw from their own generator, so they leave every other draw of a seed as is.
        self._login_rng = random.Random(f"login-{seed}")
        # So do returns and what shoppers do on them: without decisions nothing draws from it.
        self._return_rng = random.Random(f"returns-{seed}")
        self._mean_gap = mean_gap_seconds
        self.clock = clock or self._simulated_clock
        self.decisions = decisions
        self.returns = ReturnVisits()
        self._latest = SIMULATION_START
        self._due_returns: list[tuple[datetime, int, Session]] = []
        self._sessions = [self._ask(self._new_session()) for _ in range(open_sessions)]

    def _simulated_clock(self) -> datetime:
        self._simulated_now += timedelta(seconds=self._gap_rng.expovariate(1 / self._mean_gap))
        return self._simulated_now

    def next_event(self) -> SiteEvent:
        """The next event of some open session; a finished session is replaced by a new one.
        With decisions, waits for an answer when every open session waits for one."""
        while (site_event := self.poll_event()) is None:
            waiting = [session.decision for session in self._sessions if session.decision]
            futures.wait(waiting, return_when=futures.FIRST_COMPLETED)
        return site_event

    def poll_event(self) -> SiteEvent | None:
        """The next event, or None while every open session waits for its decisions."""
        while True:
            slot = self._ready_slot(self.rng.randrange(len(self._sessions)))
            if slot is None:
                return None
            session = self._sessions[slot]
            body = next(session.pending, None)
            if body is None:
                session = self._sessions[slot] = self._ask(self._successor(session))
                if not session.ready:
                    continue
                body = next(session.pending)
            return SiteEvent(session.site, self._stamp(session, body))

    def take(self, count: int) -> list[SiteEvent]:
        return [self.next_event() for _ in range(count)]

    def next_session(self) -> tuple[Site, list[Event]]:
        """One whole visit, in order, for clients that send a visit at a time (a browser page)."""
        session = self._new_session()
        return session.site, [self._stamp(session, body) for body in session.pending]

    def _ready_slot(self, slot: int) -> int | None:
        """`slot`, or the next one whose session waits for no answer (None if all wait)."""
        count = len(self._sessions)
        for offset in range(count):
            candidate = (slot + offset) % count
            if self._sessions[candidate].ready:
                return candidate
        return None

    def _ask(self, session: Session) -> Session:
        """Ask for the home page's decisions as the visit starts (with a decision client)."""
        if self.decisions is not None:
            session.decision = self.decisions.ask(
                session.site, session.identity, HOME_PLACEMENTS, {"path": "/"}
            )
        return session

    def _successor(self, finished: Session) -> Session:
        """A shopper coming back for their cart, if one is due, else a new visit."""
        if self.decisions is None:
            return self._new_session()
        if finished.cart and not finished.returning and self._return_rng.random() < RETURN_SHARE:
            later = timedelta(seconds=self._return_rng.uniform(*RETURN_AFTER_SECONDS))
            heapq.heappush(
                self._due_returns, (self._latest + later, self.returns.scheduled, finished)
            )
            self.returns.scheduled += 1
        if self._due_returns and self._due_returns[0][0] <= self._latest:
            _, _, earlier = heapq.heappop(self._due_returns)
            return self._return_visit(earlier)
        return self._new_session()

    def _stamp(self, session: Session, body: Event) -> Event:
        page = body.pop("_page")
        context = {**session.context} if session.in_app else {**session.context, "page": page}
        self._latest = self.clock()
        client_time = self._latest + session.clock_skew
        flush_delay = timedelta(milliseconds=self.rng.randint(5, 3000))
        return {
            **body,
            **session.identity,
            "messageId": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "originalTimestamp": _iso(client_time),
            "sentAt": _iso(client_time + flush_delay),
            "context": context,
        }

    def _new_session(self) -> Session:
        rng = self.rng
        site = rng.choices(self.sites, weights=[site.share for site in self.sites])[0]
        country, locale, _ = _weighted(rng, COUNTRIES, [row[2] for row in COUNTRIES])
        if rng.random() < LOGGED_IN_SHARE:
            identity = {"userId": f"{site.name[:3]}-user-{rng.randrange(SHOPPERS_PER_SITE):06d}"}
        else:
            identity = {"anonymousId": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
        in_app = rng.random() < APP_SHARE
        context: dict[str, object] = {"locale": locale, "location": {"country": country}}
        if in_app:
            library, device, _ = _weighted(rng, APPS, [row[2] for row in APPS])
            context |= {"library": library, "device": device}
        else:
            user_agent, _ = _weighted(rng, BROWSERS, [row[1] for row in BROWSERS])
            context |= {"library": WEB_LIBRARY, "userAgent": user_agent}
        if rng.random() < CAMPAIGN_SHARE:
            name, source, medium = rng.choice(CAMPAIGNS)
            context["campaign"] = {"name": name, "source": source, "medium": medium}
        session = Session(site, identity, context, self._clock_skew(), in_app)
        session.pending = self._funnel(session)
        return session

    def _clock_skew(self) -> timedelta:
        """Most client clocks are close; some are minutes off; a few are hours off."""
        roll = self.rng.random()
        if roll < 0.9:
            return timedelta(milliseconds=self.rng.gauss(0, 800))
        if roll < 0.99:
            return timedelta(seconds=self.rng.uniform(-300, 300))
        return timedelta(hours=self.rng.choice((-5, -1, 1, 3)))

    def _funnel(self, session: Session) -> Iterator[Event]:
        rng = self.rng
        site = session.site
        view = "screen" if session.in_app else "page"
        catalog = self.catalogs[site.name]
        yield self._view(view, "Home", "Home", {"path": "/", "referrer": "https://www.google.com/"})
        cart: list[tuple[Product, int]] = []
        for _ in range(1 + min(int(rng.expovariate(0.6)), 6)):
            product = catalog.pick(rng)
            path = f"/p/{product.product_id}"
            yield self._view(view, "Product", product.name, {"path": path})
            yield self._track("Product Viewed", path, self._product(product, site))
            if rng.random() < CONTINUE_RATE["Product Viewed"]:
                quantity = 1 if rng.random() < 0.8 else rng.randint(2, 4)
                cart.append((product, quantity))
                properties = {**self._product(product, site), "quantity": quantity}
                yield self._track("Product Added", path, properties)
        session.cart = cart
        if not cart or rng.random() >= CONTINUE_RATE["Product Added"]:
            return
        yield from self._login_at_checkout(session, self._login_rng)
        order_id = f"{site.name[:3]}-{rng.getrandbits(40):010x}"
        checkout, order = self._checkout(site, cart, order_id)
        yield checkout
        if rng.random() >= CONTINUE_RATE["Checkout Started"]:
            return
        session.cart = []
        yield order

    def _return_visit(self, earlier: Session) -> Session:
        """The shopper of `earlier` back on the home page for the cart they left there."""
        session = Session(
            earlier.site,
            earlier.identity,
            earlier.context,
            earlier.clock_skew,
            earlier.in_app,
            cart=earlier.cart,
            returning=True,
        )
        session.pending = self._come_back(session)
        return session

    def _come_back(self, session: Session) -> Iterator[Event]:
        """Home page; shown "complete your order", most buy; otherwise fewer do."""
        rng, site = self._return_rng, session.site
        view = "screen" if session.in_app else "page"
        reminded = session.shown.get(HERO_PLACEMENT) == COMPLETE_YOUR_ORDER
        self.returns.made += 1
        self.returns.reminded += reminded
        yield self._view(view, "Home", "Home", {"path": "/"})
        if rng.random() >= (BUY_ON_RETURN_REMINDED if reminded else BUY_ON_RETURN):
            product = self.catalogs[site.name].pick(rng)
            path = f"/p/{product.product_id}"
            yield self._view(view, "Product", product.name, {"path": path})
            yield self._track("Product Viewed", path, self._product(product, site))
            return
        if reminded:
            self.returns.bought_reminded += 1
        else:
            self.returns.bought_not_reminded += 1
        yield from self._login_at_checkout(session, rng)
        checkout, order = self._checkout(
            site, session.cart, f"{site.name[:3]}-{rng.getrandbits(40):010x}"
        )
        session.cart = []
        yield checkout
        yield order

    def _login_at_checkout(self, session: Session, rng: random.Random) -> Iterator[Event]:
        """Some anonymous shoppers log in before they check out (an identify call)."""
        site = session.site
        if "userId" not in session.identity and rng.random() < LOGIN_AT_CHECKOUT_SHARE:
            user_id = f"{site.name[:3]}-user-{rng.randrange(SHOPPERS_PER_SITE):06d}"
            session.identity = {**session.identity, "userId": user_id}
            yield {"type": "identify", "traits": {"login": "checkout"}, "_page": {"path": "/login"}}

    def _checkout(
        self, site: Site, cart: list[tuple[Product, int]], order_id: str
    ) -> tuple[Event, Event]:
        """Checkout Started and Order Completed for the cart."""
        value = round(sum(product.price * quantity for product, quantity in cart), 2)
        items = [
            {"product_id": product.product_id, "price": product.price, "quantity": quantity}
            for product, quantity in cart[:3]
        ]
        checkout = {"order_id": order_id, "value": value, "currency": site.currency}
        shipping = 0.0 if value > 75 else 5.95
        order = {
            "order_id": order_id,
            "revenue": value,
            "shipping": shipping,
            "total": round(value + shipping, 2),
            "currency": site.currency,
            "products": items,
        }
        return (
            self._track("Checkout Started", "/checkout", {**checkout, "products": items}),
            self._track("Order Completed", "/checkout/done", order),
        )

    @staticmethod
    def _product(product: Product, site: Site) -> dict[str, object]:
        return {
            "product_id": product.product_id,
            "category": product.category,
            "price": product.price,
            "currency": site.currency,
        }

    @staticmethod
    def _view(kind: str, name: str, title: str, page: dict[str, str]) -> Event:
        """Named by page template, as sites call page(), so names stay a small set."""
        return {"type": kind, "name": name, "properties": {"title": title}, "_page": page}

    @staticmethod
    def _track(name: str, path: str, properties: dict[str, object]) -> Event:
        return {
            "type": "track",
            "event": name,
            "properties": properties,
            "_page": {"path": path},
        }


def generate_events(count: int, seed: int = 0) -> list[Event]:
    """`count` Segment-shaped events as SDKs send them, identical for the same seed."""
    return [site_event.event for site_event in ShopperTraffic(seed).take(count)]


BAD_EVENT_KINDS = ("no_identity", "unknown_type", "message_id_too_long", "not_an_object")


def bad_event(good: Event, kind: str) -> object:
    """A copy of `good` broken the way real clients break events, so rejections show."""
    broken = dict(good)
    match kind:
        case "no_identity":
            broken.pop("userId", None)
            broken.pop("anonymousId", None)
        case "unknown_type":
            broken["type"] = "purchase"
        case "message_id_too_long":
            broken["messageId"] = "m" * 101
        case "not_an_object":
            return [good.get("messageId")]
        case _:
            raise ValueError(f"unknown bad event kind {kind!r}; choose from {BAD_EVENT_KINDS}")
    return broken


def producer_written(site: str, event: dict[str, Any]) -> dict[str, Any]:
    """The event as our producer forwards it: site id, event time and receipt time added.

    The client's own clock stands for the skew-corrected timestamp and sentAt for receivedAt,
    so the few clocks that are hours off exercise the late/future policy as in production.
    """
    return {
        **event,
        "site": site,
        "timestamp": event["originalTimestamp"],
        "receivedAt": event["sentAt"],
    }


def event_corpus(count: int, events_per_second: float, seed: int = CORPUS_SEED) -> list[bytes]:
    """`count` compact JSON events of seeded shopper traffic at the given rate."""
    traffic = ShopperTraffic(seed, mean_gap_seconds=1 / events_per_second)
    encode = msgspec.json.encode
    return [encode(producer_written(e.site.name, e.event)) for e in traffic.take(count)]
