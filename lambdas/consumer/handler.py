"""Consumer Lambda: Kinesis batches in, per-minute rollups delivered to Druid exactly once.

Thin by design: it parses the event, gives the shard consumer a time budget, and returns the
failure report (plus the window state when the event source mapping uses tumbling windows).
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from riptide.contract import METRICS_NAMESPACE
from riptide.delivery import ShardConsumer
from riptide.delivery.composition import compose_shard_consumer
from riptide.kinesis_batch import KinesisBatch
from riptide.retry import Deadline

DEADLINE_MARGIN_SECONDS = 3.0
"""Time kept back from Druid retries to store state and answer Lambda before the timeout."""

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
tracer = Tracer()


@functools.cache
def shard_consumer() -> ShardConsumer:
    return compose_shard_consumer(metrics)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = KinesisBatch.from_event(event)
    budget = context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
    return shard_consumer().consume(batch, Deadline(max(budget, 0.0))).response()
