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


class ShardReplay:
    """One shard's event source mapping, stepped one invocation at a time."""

    def __init__(
        self,
        handler: Handler,
        records: list[StreamRecord],
        *,
        window_records: int | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        settings = MappingSettings(
            batch_size=10_000,
            batching_window_seconds=0,
            tumbling_window_seconds=WINDOW_SECONDS if window_records else 0,
            retry_attempts=10_000,
            max_record_age_seconds=10**9,
        )
        self._handler = handler
        self._after = after
        self._mapping = ShardMapping(records[0].shard_id, settings, EXAMPLE_SOURCE)
        self._mapping.add(_arriving(records, window_records))
        self._redelivered: set[str] = set()

    def step(self, step: Step) -> bool:
        """Make the next invocation; False when the shard is drained and none was made."""
        invoke = self._mapping.next_invoke(lambda _window: True, limit=step.batch_size)
        if invoke is None:
            assert self._mapping.drained
            return False
        if step.before:
            step.before()
        answer = as_lambda_delivers(self._handler(invoke.event, step.context))
        if self._after:
            self._after()
        checkpoint = invoke.records[0].sequence_number if invoke.records else str(invoke.window)
        redeliver = step.redeliver and not answer["batchItemFailures"]
        if redeliver and checkpoint not in self._redelivered:
            self._redelivered.add(checkpoint)
            return True
        settlement = self._mapping.succeeded(invoke, answer)
        assert not settlement.failed_invoke, f"Lambda would fail this invoke: {answer}"
        assert settlement.dropped is None
        return True


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
    replay = ShardReplay(handler, records, window_records=window_records, after=after)
    for invocation in range(1, max_invocations + 1):
        if not replay.step(next(steps)):
            return invocation - 1
    raise AssertionError(f"shard not drained after {max_invocations} invocations")


def run_shards(
    handler: Handler,
    shards: list[list[StreamRecord]],
    steps: Iterator[Step],
    turns: Iterator[int],
    *,
    window_records: int | None = None,
    max_invocations: int = 2_000,
) -> None:
    """Feed every shard through `handler`, interleaved: each turn picks (modulo the number of
    shards not yet drained) the shard whose mapping makes the next invocation."""
    replays = [ShardReplay(handler, records, window_records=window_records) for records in shards]
    for _ in range(max_invocations):
        if not replays:
            return
        index = next(turns) % len(replays)
        if not replays[index].step(next(steps)):
            del replays[index]
    raise AssertionError(f"shards not drained after {max_invocations} invocations")


def _arriving(records: list[StreamRecord], window_records: int | None) -> list[StreamRecord]:
    if not window_records:
        return records
    return [
        dataclasses.replace(
            record, arrival=record.arrival + index // window_records * WINDOW_SECONDS
        )
        for index, record in enumerate(records)
    ]
