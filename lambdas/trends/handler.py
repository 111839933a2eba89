"""Trends Lambda: on a schedule, refreshes every site's trending and top products from Druid.

Thin by design: riptide.trends.TrendsJob queries and writes; this gives it a time budget and
reports what it did. A failed query or write is reported by metric and log, not raised: the
next scheduled run is the retry, and the documents concerned keep serving their last trends.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from riptide.contract import METRICS_NAMESPACE, MetricName
from riptide.retry import Deadline
from riptide.trends import TrendsJob
from riptide.trends.composition import compose_trends_job

DEADLINE_MARGIN_SECONDS = 3.0
"""Time kept back from Druid retries to write the documents before the Lambda timeout."""

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@functools.cache
def trends_job() -> TrendsJob:
    return compose_trends_job()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    budget = context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
    report = trends_job().run(Deadline(max(budget, 0.0)))
    count = MetricUnit.Count
    metrics.add_metric(name=MetricName.TRENDS_SITES_REFRESHED, unit=count, value=report.refreshed)
    metrics.add_metric(name=MetricName.TRENDS_FAILURES, unit=count, value=report.failures)
    summary = dataclasses.asdict(report)
    logger.info("Trends refreshed", extra=summary)
    return summary
