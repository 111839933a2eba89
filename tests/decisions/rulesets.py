"""Rules files for the tests: the shop example of the README, changed one part at a time."""

from __future__ import annotations

import copy
import json
from typing import Any

SITE = "northwind-outdoor"
STARTED = "2026-12-01T00:00:00Z"
NOW_MS = 1_796_126_400_000  # 2026-12-01T12:00:00Z

EXAMPLE: dict[str, Any] = {
    "site": SITE,
    "version": "2026-12-01.1",
    "contents": {
        "complete-your-order": {"payload": {"headline": "Your cart is waiting",
                                            "cta": "/checkout"}},
        "loyalty-offer": {"payload": {"headline": "10% off for regulars"}},
        "hero-Apparel": {"payload": {"image": "/img/hero-apparel.jpg"}},
        "hero-Footwear": {"payload": {"image": "/img/hero-footwear.jpg"}},
        "hero-default": {"payload": {"image": "/img/hero.jpg"}},
        "trending-now": {
            "payload": {"title": "Trending now"},
            "products": {"from": "trends.byCategory.{profile.topCategory}", "limit": 2},
        },
        "top-sellers": {
            "payload": {"title": "Top sellers"},
            "products": {"from": "trends.top", "limit": 3},
        },
    },
    "placements": {
        "home-hero": {
            "rules": [
                {"id": "affinity-hero", "priority": 50,
                 "when": {"fact": "profile.topCategory", "exists": True},
                 "content": "hero-{profile.topCategory}"},
                {"id": "complete-your-order", "priority": 100,
                 "when": {"all": [{"fact": "profile.cart.value", "gt": 0},
                                  {"fact": "profile.cart.lastChangedAt",
                                   "olderThanSeconds": 600}]},
                 "content": "complete-your-order"},
                {"id": "loyalty", "priority": 90,
                 "when": {"fact": "profile.orders.count", "gte": 2},
                 "content": "loyalty-offer"},
            ],
            "fallback": "hero-default",
        },
        "home-shelf": {
            "rules": [
                {"id": "trending-in-category", "priority": 10, "content": "trending-now"},
            ],
            "fallback": "top-sellers",
        },
    },
    "experiments": [],
}  # fmt: skip


def rules(**changes: Any) -> dict[str, Any]:
    """A deep copy of EXAMPLE with top-level fields replaced."""
    document = copy.deepcopy(EXAMPLE)
    document.update(changes)
    return document


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def experiment(**changes: Any) -> dict[str, Any]:
    """A running A/B experiment on home-hero: control without the cart rule, banner with it."""
    found: dict[str, Any] = {
        "id": "cart-banner",
        "placement": "home-hero",
        "status": "running",
        "startedAt": STARTED,
        "arms": [
            {"name": "control", "weight": 1, "disableRules": ["complete-your-order"]},
            {"name": "banner", "weight": 1},
        ],
    }
    found.update(changes)
    return found
