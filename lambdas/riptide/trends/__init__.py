"""Trending and top products per site, from the rollups in Druid, for the decider to read."""

from riptide.trends.activity import ProductActivity, TrendWindow, fetch_activity
from riptide.trends.document import trend_score, trends_document
from riptide.trends.job import TrendsJob, TrendsReport

__all__ = [
    "ProductActivity",
    "TrendWindow",
    "TrendsJob",
    "TrendsReport",
    "fetch_activity",
    "trend_score",
    "trends_document",
]
