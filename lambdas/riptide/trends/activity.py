"""How much each product of each site was looked at and bought lately: one Druid SQL query.

The rollups hold events per minute by `site`, `event`, `product` and `category`. One query over
the last 75 minutes gives, for every site and product at once, its events in the recent window,
in the baseline window before it and in the last hour, so the cost does not grow with the
number of sites.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from riptide.druid import DruidClient, quote_identifier
from riptide.retry import Deadline

PRODUCT_EVENTS = ("Product Viewed", "Product Added", "Order Completed")
"""The events that show interest in a product (a top-level `properties.product_id`)."""
RECENT_MINUTES = 15
BASELINE_MINUTES = 60
TOP_MINUTES = 60
MAX_ACTIVITY_ROWS = 100_000
"""Most (site, product, category) rows one query returns, busiest first: bounds the answer's
size (about 100 bytes a row) whatever the catalogues; only the quietest products drop out."""

_ACTIVITY_SQL = """
SELECT "site", "product", "category",
       SUM("events") FILTER (WHERE "__time" >= ?) AS "recent",
       SUM("events") FILTER (WHERE "__time" < ?) AS "baseline",
       SUM("events") FILTER (WHERE "__time" >= ?) AS "lastHour"
FROM {datasource}
WHERE "__time" >= ? AND "__time" < ?
  AND "event" IN ({events})
  AND "site" IS NOT NULL AND "product" IS NOT NULL
GROUP BY "site", "product", "category"
ORDER BY SUM("events") DESC
LIMIT ?
"""


@dataclass(frozen=True, slots=True)
class TrendWindow:
    """The minutes compared: `recent` ends at `end` (a whole minute), `baseline` precedes it."""

    end: datetime
    recent_minutes: int = RECENT_MINUTES
    baseline_minutes: int = BASELINE_MINUTES
    top_minutes: int = TOP_MINUTES

    @classmethod
    def ending_at(cls, moment: datetime) -> TrendWindow:
        """The windows up to the minute `moment` is in, which is left out: its rollups are
        still being gathered (the consumer delivers a minute once its tumbling window closes)."""
        return cls(end=moment.replace(second=0, microsecond=0))

    @property
    def recent_start(self) -> datetime:
        return self.end - timedelta(minutes=self.recent_minutes)

    @property
    def baseline_start(self) -> datetime:
        return self.recent_start - timedelta(minutes=self.baseline_minutes)

    @property
    def top_start(self) -> datetime:
        return self.end - timedelta(minutes=self.top_minutes)

    @property
    def start(self) -> datetime:
        return min(self.baseline_start, self.top_start)


@dataclass(frozen=True, slots=True)
class ProductActivity:
    """One product's events in each window; `category` is the one most of them named."""

    product_id: str
    category: str | None
    recent: int
    baseline: int
    last_hour: int


def fetch_activity(
    druid: DruidClient, datasource: str, window: TrendWindow, deadline: Deadline
) -> dict[str, list[ProductActivity]]:
    """Every product with events in the window, by site. Raises DruidError when Druid fails."""
    query = _ACTIVITY_SQL.format(
        datasource=quote_identifier(datasource),
        events=", ".join("?" for _ in PRODUCT_EVENTS),
    )
    parameters = (
        window.recent_start,
        window.recent_start,
        window.top_start,
        window.start,
        window.end,
        *PRODUCT_EVENTS,
        MAX_ACTIVITY_ROWS,
    )
    return activity_by_site(druid.sql(query, parameters, deadline))


def activity_by_site(rows: Iterable[dict[str, Any]]) -> dict[str, list[ProductActivity]]:
    """The query's rows, one per product: a product's events are summed over the categories
    its events named (orders often name none), and it takes the category most of them named."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    categories: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for row in rows:
        key = (row["site"], row["product"])
        counts = (row["recent"] or 0, row["baseline"] or 0, row["lastHour"] or 0)
        sums[key] = [total + count for total, count in zip(sums[key], counts, strict=True)]
        if row["category"]:
            named = categories[key]
            named[row["category"]] = named.get(row["category"], 0) + sum(counts[:2])
    by_site: dict[str, list[ProductActivity]] = defaultdict(list)
    for (site, product), (recent, baseline, last_hour) in sorted(sums.items()):
        named = categories.get((site, product))
        category = min(named, key=lambda name: (-named[name], name)) if named else None
        by_site[site].append(ProductActivity(product, category, recent, baseline, last_hour))
    return dict(by_site)
