"""Events as our producer writes them, and hypothesis strategies for them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from riptide.rollup import Rollup, RollupSchema, TimePolicy

RECEIVED = datetime(2026, 11, 27, 16, 35, 30, tzinfo=UTC)
DEFAULT_SCHEMA = RollupSchema.from_settings(None, None)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(
    at: datetime = RECEIVED, received: datetime | None = None, **fields: Any
) -> dict[str, Any]:
    """A page view at `at`, received at `received` (default: when it happened), with overrides."""
    body: dict[str, Any] = {
        "type": "page",
        "name": "Home",
        "anonymousId": "anon-1",
        "messageId": "m-1",
        "site": "shop-1",
        "timestamp": iso(at),
        "receivedAt": iso(received or at),
        "context": {"location": {"country": "DE"}, "device": {"type": "mobile"}},
        "properties": {},
    }
    body.update(fields)
    return body


def encoded(body: Any) -> bytes:
    return json.dumps(body).encode()


def new_rollup(schema: RollupSchema = DEFAULT_SCHEMA) -> Rollup:
    return Rollup(schema, TimePolicy())


def rollup_of(bodies: list[dict[str, Any]], schema: RollupSchema = DEFAULT_SCHEMA) -> Rollup:
    rollup = new_rollup(schema)
    for body in bodies:
        rollup.add(encoded(body))
    return rollup


_names = st.sampled_from(["Product Viewed", "Product Added", "Order Completed", "Signed Up"])
_money = st.floats(min_value=0, max_value=10_000, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def shop_events(draw: st.DrawFn) -> dict[str, Any]:
    """Valid events over a few minutes, sites, countries and users, with the optional fields
    that matter to the default schema present or missing."""
    at = RECEIVED + timedelta(seconds=draw(st.integers(min_value=-200, max_value=200)))
    kind = draw(st.sampled_from(["track", "page", "screen"]))
    body = event(at, site=draw(st.sampled_from(["shop-1", "shop-2"])), type=kind)
    if kind == "track":
        del body["name"]
        body["event"] = draw(_names)
    else:
        body["name"] = draw(st.sampled_from(["Home", "Cart", ""]))
    user = draw(st.one_of(st.none(), st.integers(0, 30).map(lambda n: f"user-{n}")))
    if user is not None:
        body["userId"] = user
    country = draw(st.sampled_from(["DE", "US", None]))
    body["context"] = {} if country is None else {"location": {"country": country}}
    properties = body["properties"]
    for key, values in (
        ("revenue", _money),
        ("total", _money),
        ("quantity", st.integers(0, 5)),
        ("currency", st.sampled_from(["EUR", "USD"])),
    ):
        if draw(st.booleans()):
            properties[key] = draw(values)
    return body
