"""Profile consumer Lambda: Kinesis batches in, each shopper's profile updated exactly once.

Thin by design: it parses the event, lets the profile consumer apply it to the store and
returns the partial-batch failure report (empty unless the store failed).
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from riptide.contract import METRICS_NAMESPACE
from riptide.kinesis_batch import KinesisBatch
from riptide.profiles import ProfileConsumer
from riptide.profiles.composition import compose_profile_consumer
from riptide.profiles.telemetry import record_batch

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
tracer = Tracer()


@functools.cache
def profile_consumer() -> ProfileConsumer:
    return compose_profile_consumer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = profile_consumer().consume(KinesisBatch.from_event(event))
    record_batch(metrics, outcome)
    return outcome.response()
