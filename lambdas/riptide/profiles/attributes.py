"""Every attribute of a profile, defined once: its name, the rule that keeps it and its sources.

The consumer reads each attribute's `source` paths out of an event (for the events `when`
selects) and sends the values to the store's update script, which applies the attribute's
`rule` (rules live in scripts/apply.lua, one function each, with the merge used when an
anonymous profile joins a user's). Adding an attribute is one line here; adding a rule is one
function there. No rule reads context.ip: a profile never holds an IP address.

Rules:
- first / last: the value of the earliest / latest event by event time (ties: stream order).
- traits: identify's traits merged in, later keys over earlier ones.
- counts: events per label (track's event name, else the call type): lifetime, per hour
  (rolling 24 h) and per day (rolling 7 d).
- session: start, last activity, pages, last page and counts per label of the current session;
  a gap of `gap_seconds` starts a new one.
- recent: the last `size` distinct items by `id`, newest first.
- affinity: a score per `key` decaying with `half_life_seconds`, plus `weight` per event.
- cart: items by product id with quantity and price; added, removed, cleared by an order; by
  the server's receivedAt, as client clocks are corrected only to within seconds.
- orders: orders and revenue over the lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Path = tuple[str, ...]

TRACK = "track"


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    rule: str
    source: dict[str, Path] = field(default_factory=dict)
    when: tuple[str, ...] = ()
    """Track event names or call types this attribute reads; empty means every event."""
    options: dict[str, Any] = field(default_factory=dict)


def _path(dotted: str) -> Path:
    return tuple(dotted.split("."))


PRODUCT = {
    "id": _path("properties.product_id"),
    "category": _path("properties.category"),
    "name": _path("properties.name"),
    "price": _path("properties.price"),
}
SESSION_GAP_SECONDS = 30 * 60
RECENT_PRODUCTS = 20
AFFINITY_HALF_LIFE_SECONDS = 7 * 24 * 3600

ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("firstSeen", "first", {"at": _path("timestamp")}),
    Attribute("lastSeen", "last", {"at": _path("timestamp")}),
    Attribute("traits", "traits", {"traits": _path("traits")}, when=("identify",)),
    Attribute("firstTouch", "first", {"campaign": _path("context.campaign")}),
    Attribute("lastTouch", "last", {"campaign": _path("context.campaign")}),
    Attribute(
        "device",
        "last",
        {
            "type": _path("context.device.type"),
            "model": _path("context.device.model"),
            "os": _path("context.os.name"),
            "userAgent": _path("context.userAgent"),
        },
    ),
    Attribute("country", "last", {"country": _path("context.location.country")}),
    Attribute("locale", "last", {"locale": _path("context.locale")}),
    Attribute("counts", "counts"),
    Attribute(
        "session",
        "session",
        {"path": _path("context.page.path"), "screen": _path("name")},
        options={"gap_seconds": SESSION_GAP_SECONDS},
    ),
    Attribute(
        "recentlyViewed",
        "recent",
        {"id": PRODUCT["id"], "category": PRODUCT["category"], "name": PRODUCT["name"]},
        when=("Product Viewed",),
        options={"size": RECENT_PRODUCTS},
    ),
    Attribute(
        "categoryAffinity",
        "affinity",
        {"key": PRODUCT["category"]},
        when=("Product Viewed", "Product Added", "Order Completed"),
        options={
            "half_life_seconds": AFFINITY_HALF_LIFE_SECONDS,
            "weights": {"Product Viewed": 1, "Product Added": 3, "Order Completed": 5},
        },
    ),
    Attribute(
        "cart",
        "cart",
        {**PRODUCT, "quantity": _path("properties.quantity")},
        when=("Product Added", "Product Removed", "Order Completed"),
    ),
    Attribute(
        "orders",
        "orders",
        {
            "revenue": _path("properties.revenue"),
            "total": _path("properties.total"),
            "currency": _path("properties.currency"),
        },
        when=("Order Completed",),
    ),
)


def rules_spec() -> dict[str, Any]:
    """What the update script needs to know of each attribute: its rule, events and options."""
    return {
        attribute.name: {
            "rule": attribute.rule,
            "when": list(attribute.when),
            "options": attribute.options,
        }
        for attribute in ATTRIBUTES
    }
