"""The profile consumer's metrics for one batch."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from riptide.contract import MetricName
from riptide.profiles.consumer import BatchOutcome


def record_batch(metrics: Metrics, outcome: BatchOutcome) -> None:
    metrics.add_metric(MetricName.PROFILE_EVENTS_APPLIED, MetricUnit.Count, outcome.applied)
    metrics.add_metric(MetricName.PROFILE_EVENTS_REPLAYED, MetricUnit.Count, outcome.replayed)
    metrics.add_metric(MetricName.PROFILE_EVENTS_UNUSABLE, MetricUnit.Count, outcome.unusable)
    metrics.add_metric(MetricName.PROFILE_STORE_COMMANDS, MetricUnit.Count, outcome.store_commands)
    metrics.add_metric(
        MetricName.PROFILE_STORE_FAILURES, MetricUnit.Count, int(outcome.failed_from is not None)
    )
    if outcome.freshness_ms:
        metrics.add_metric(
            MetricName.PROFILE_FRESHNESS, MetricUnit.Milliseconds, max(outcome.freshness_ms)
        )
