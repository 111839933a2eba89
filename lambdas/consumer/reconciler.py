"""Reconciler Lambda: on a schedule, follows outbox tasks until Druid has published them."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from riptide.contract import METRICS_NAMESPACE, MetricName
from riptide.delivery import reconcile
from riptide.delivery.composition import Reconciliation, compose_reconciliation
from riptide.retry import Deadline

DEADLINE_MARGIN_SECONDS = 5.0

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@functools.cache
def reconciliation() -> Reconciliation:
    return compose_reconciliation()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parts = reconciliation()
    budget = context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
    report = reconcile(parts.outbox, parts.druid, Deadline(max(budget, 0.0)))
    count, seconds = MetricUnit.Count, MetricUnit.Seconds
    metrics.add_metric(name=MetricName.OUTBOX_PENDING, unit=count, value=report.still_pending)
    metrics.add_metric(name=MetricName.TASKS_REDRIVEN, unit=count, value=report.redriven)
    metrics.add_metric(name=MetricName.TASKS_RESUBMITTED, unit=count, value=report.resubmitted)
    metrics.add_metric(
        name=MetricName.TASKS_PUBLISHED_DESPITE_FAILURE,
        unit=count,
        value=report.published_despite_failure,
    )
    metrics.add_metric(
        name=MetricName.TASKS_PUBLICATION_UNKNOWN, unit=count, value=report.publication_unknown
    )
    metrics.add_metric(
        name=MetricName.OUTBOX_OLDEST_AGE_SECONDS, unit=seconds, value=report.oldest_age_seconds
    )
    summary = {**dataclasses.asdict(report), "still_pending": report.still_pending}
    logger.info("Outbox reconciled", extra=summary)
    return summary
