"""Reconciler Lambda: on a schedule, follows outbox tasks until Druid has published them."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from riptide.delivery import Outbox, reconcile
from riptide.delivery.runtime import DeliverySettings, aws_client, druid_client
from riptide.druid import DruidClient
from riptide.retry import Deadline

DEADLINE_MARGIN_SECONDS = 5.0

logger = Logger()
metrics = Metrics(namespace="Riptide")


@functools.cache
def outbox_and_druid() -> tuple[Outbox, DruidClient]:
    settings = DeliverySettings.from_env()
    outbox = Outbox(aws_client("s3"), settings.outbox_bucket, settings.datasource)
    return outbox, druid_client(settings)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outbox, druid = outbox_and_druid()
    budget = context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
    report = reconcile(outbox, druid, Deadline(max(budget, 0.0)))
    metrics.add_metric(name="OutboxPending", unit=MetricUnit.Count, value=report.still_pending)
    metrics.add_metric(name="TasksRedriven", unit=MetricUnit.Count, value=report.redriven)
    metrics.add_metric(name="TasksResubmitted", unit=MetricUnit.Count, value=report.resubmitted)
    metrics.add_metric(
        name="TasksPublishedDespiteFailure",
        unit=MetricUnit.Count,
        value=report.published_despite_failure,
    )
    metrics.add_metric(
        name="TasksPublicationUnknown", unit=MetricUnit.Count, value=report.publication_unknown
    )
    metrics.add_metric(
        name="OutboxOldestAgeSeconds", unit=MetricUnit.Seconds, value=report.oldest_age_seconds
    )
    summary = {**dataclasses.asdict(report), "still_pending": report.still_pending}
    logger.info("Outbox reconciled", extra=summary)
    return summary
