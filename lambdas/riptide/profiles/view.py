"""A stored profile as the read API shows it: times as ISO text, windows summed as of `now`.

Each rule of riptide.profiles.attributes has one presenter here; the stored form keeps what the
update script needs (event times in milliseconds, hourly and daily buckets, undecayed scores).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from riptide.profiles.attributes import ATTRIBUTES

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def _iso(milliseconds: float | None) -> str | None:
    if not milliseconds:
        return None
    moment = datetime.fromtimestamp(milliseconds / 1000, UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def _window(buckets: dict[str, dict[str, int]], newest: int, size: int) -> dict[str, int]:
    totals: dict[str, int] = {}
    for bucket, counts in buckets.items():
        if newest - size < int(bucket) <= newest:
            for label, count in counts.items():
                totals[label] = totals.get(label, 0) + count
    return totals


def _counts(stored: dict[str, Any], now_ms: int, _: dict[str, Any]) -> dict[str, Any]:
    return {
        "lifetime": stored["total"] or {},
        "last24h": _window(stored["hours"] or {}, now_ms // HOUR_MS, 24),
        "last7d": _window(stored["days"] or {}, now_ms // DAY_MS, 7),
    }


def _session(stored: dict[str, Any], now_ms: int, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": _iso(stored["start"]),
        "lastActivity": _iso(stored["last"]),
        "active": now_ms - stored["last"] <= options["gap_seconds"] * 1000,
        "pages": stored["pages"],
        "lastPage": stored.get("lastPage"),
        "counts": stored["counts"] or {},
    }


def _recent(stored: Any, _: int, __: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**{k: v for k, v in item.items() if k != "t"}, "at": _iso(item["t"])}
        for item in (stored or [])
    ]


def _affinity(stored: dict[str, Any], now_ms: int, options: dict[str, Any]) -> dict[str, float]:
    half_life_ms = options["half_life_seconds"] * 1000
    scores = {
        key: round(score["s"] * 2 ** (-max(now_ms - score["t"], 0) / half_life_ms), 4)
        for key, score in stored.items()
    }
    return dict(sorted(scores.items(), key=lambda item: -item[1]))


def _cart(stored: dict[str, Any], _: int, __: dict[str, Any]) -> dict[str, Any]:
    """Items, value, and when an item last changed (server time), for "cart left a while"."""
    stored_items = stored["items"] or {}
    items = [
        {"productId": product_id, **{k: v for k, v in item.items() if k != "t"}}
        for product_id, item in stored_items.items()
    ]
    value = sum((item.get("price") or 0) * item["quantity"] for item in items)
    changed = max((item["t"] for item in stored_items.values()), default=None)
    return {"items": items, "value": round(value, 2), "lastChangedAt": _iso(changed)}


def _orders(stored: dict[str, Any], _: int, __: dict[str, Any]) -> dict[str, Any]:
    return {
        "count": stored["count"],
        "revenue": round(stored["revenue"], 2),
        "currency": stored.get("currency"),
        "lastOrderAt": _iso(stored.get("last")),
    }


Presenter = Callable[[Any, int, dict[str, Any]], Any]
PRESENTERS: dict[str, Presenter] = {
    "first": lambda stored, _, __: stored["v"],
    "last": lambda stored, _, __: stored["v"],
    "traits": lambda stored, _, __: stored or {},
    "counts": _counts,
    "session": _session,
    "recent": _recent,
    "affinity": _affinity,
    "cart": _cart,
    "orders": _orders,
}


def present(document: dict[str, Any], now_ms: int) -> dict[str, Any]:
    identity = document["identity"]
    profile: dict[str, Any] = {
        "profileId": document["id"],
        "userId": identity.get("userId"),
        "anonymousIds": identity.get("anonymousIds") or [],
        "anonymous": "userId" not in identity,
    }
    for attribute in ATTRIBUTES:
        stored = document.get(attribute.name)
        profile[attribute.name] = (
            None
            if stored is None
            else PRESENTERS[attribute.rule](stored, now_ms, attribute.options)
        )
    return profile
