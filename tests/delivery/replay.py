"""Replays one shard through the consumer with the event source mapping's own semantics
(tools/lambda_kit/kinesis_mapping.py), choosing what the real mapping leaves to chance: batch
sizes from try to try, and at-least-once redelivery (a batch that succeeded delivered again, with
the state it had before, as when its answer was lost).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.delivery.kinesis_events import CONSUMER
from tools.lambda_kit.context import LambdaContext
from tools.lambda_kit.kinesis import EXAMPLE_SOURCE, StreamRecord
from tools.lambda_kit.kinesis_mapping import MappingSettings, ShardMapping, as_lambda_delivers

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Step:
    """One invocation: at most how many records to take, and whether to deliver it again
    afterwards (at most once per checkpoint, so the shard always drains)."""

    batch_size: int
    redeliver: bool = False
    before: Callable[[], None] | None = None
    context: LambdaContext = field(default_factory=CONSUMER.frozen_context)


def run_shard(
    handler: Handler,
    records: list[StreamRecord],
    steps: Iterator[Step],
    *,
    window_records: int | None = None,
    after: Callable[[], None] | None = None,
    max_invocations: int = 500,
) -> int:
    """Feed every record of the shard through `handler`; returns the number of invocations.

    With `window_records`, records arrive `window_records` to a tumbling window."""
    settings = MappingSettings(
        batch_size=10_000,
        batching_window_seconds=0,
        tumbling_window_seconds=WINDOW_SECONDS if window_records else 0,
        retry_attempts=10_000,
        max_record_age_seconds=10**9,
    )
    mapping = ShardMapping(records[0].shard_id, settings, EXAMPLE_SOURCE)
    mapping.add(_arriving(records, window_records))
    redelivered: set[str] = set()
    for invocation in range(1, max_invocations + 1):
        step = next(steps)
        invoke = mapping.next_invoke(lambda _window: True, limit=step.batch_size)
        if invoke is None:
            assert mapping.drained
            return invocation - 1
        if step.before:
            step.before()
        answer = as_lambda_delivers(handler(invoke.event, step.context))
        if after:
            after()
        checkpoint = invoke.records[0].sequence_number if invoke.records else str(invoke.window)
        if step.redeliver and not answer["batchItemFailures"] and checkpoint not in redelivered:
            redelivered.add(checkpoint)
            continue
        settlement = mapping.succeeded(invoke, answer)
        assert not settlement.failed_invoke, f"Lambda would fail this invoke: {answer}"
        assert settlement.dropped is None
    raise AssertionError(f"shard not drained after {max_invocations} invocations")


def _arriving(records: list[StreamRecord], window_records: int | None) -> list[StreamRecord]:
    if not window_records:
        return records
    return [
        dataclasses.replace(
            record, arrival=record.arrival + index // window_records * WINDOW_SECONDS
        )
        for index, record in enumerate(records)
    ]
