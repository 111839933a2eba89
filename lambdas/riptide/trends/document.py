"""A site's trends document: trending products overall and per category, and top products.

The decider reads it as `trends.<path>` facts (e.g. `trends.byCategory.Apparel`), so its shape
is part of the rules' language: lists best first, each entry naming the product and its
category.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from riptide.trends.activity import ProductActivity, TrendWindow

PRIOR_EVENTS = 5.0
"""Pseudo-events added to both sides of the rate ratio (see `trend_score`)."""
SCORE_DECIMALS = 2
"""Scores are compared as written: a rise too small to show in them is no trend."""
TRENDING_LENGTH = 20
CATEGORY_LENGTH = 10
TOP_LENGTH = 20


def trend_score(recent: int, baseline: int, window: TrendWindow) -> float:
    """How many times its usual rate a product is drawing now: a smoothed rate ratio.

    The plain ratio (recent events / events the baseline rate predicts for the recent window)
    puts a product seen twice in 15 minutes and never before at the top, ahead of a best
    seller whose views tripled: with so few events the ratio is mostly noise. Adding
    PRIOR_EVENTS to both sides pulls ratios built on few events towards 1 (no change), while
    one built on many events keeps its value. A product viewed twice in 15 minutes and never
    before scores (2 + 5) / (0 + 5) = 1.4, well below a best seller going from 200 to 600 events
    an hour, (150 + 5) / (50 + 5) = 2.8; ten views of a new product (3.0) do rank with it.
    """
    expected = baseline * window.recent_minutes / window.baseline_minutes
    return (recent + PRIOR_EVENTS) / (expected + PRIOR_EVENTS)


def trends_document(
    site: str, products: Sequence[ProductActivity], window: TrendWindow, generated_at: datetime
) -> dict[str, Any]:
    """The document for `site`; a product is trending when it draws more than its usual rate."""
    scored = [
        (round(trend_score(product.recent, product.baseline, window), SCORE_DECIMALS), product)
        for product in products
    ]
    rising = sorted(
        ((score, product) for score, product in scored if score > 1.0),
        key=lambda pair: (-pair[0], -pair[1].recent, pair[1].product_id),
    )
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for score, product in rising:
        if product.category is not None and len(by_category[product.category]) < CATEGORY_LENGTH:
            by_category[product.category].append(_trending_entry(score, product))
    top = sorted(
        (product for product in products if product.last_hour),
        key=lambda product: (-product.last_hour, product.product_id),
    )[:TOP_LENGTH]
    return {
        "site": site,
        "generatedAt": generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recentMinutes": window.recent_minutes,
        "baselineMinutes": window.baseline_minutes,
        "trending": [
            _trending_entry(score, product) for score, product in rising[:TRENDING_LENGTH]
        ],
        "byCategory": dict(sorted(by_category.items())),
        "top": [
            {
                "productId": product.product_id,
                "category": product.category,
                "events": product.last_hour,
            }
            for product in top
        ],
    }


def encode_document(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _trending_entry(score: float, product: ProductActivity) -> dict[str, Any]:
    return {
        "productId": product.product_id,
        "category": product.category,
        "recent": product.recent,
        "baseline": product.baseline,
        "score": score,
    }
