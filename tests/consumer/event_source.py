"""An emulation of Lambda's Kinesis event source mapping for one shard, for replay tests.

It does what the real mapping does to a consumer (batches from the checkpoint, a failed batch
retried from the record it reports, window state handed from one invocation to the next and
dropped after the final one) and what at-least-once delivery allows (a batch that succeeded
delivered again, with the state it had before). Batch boundaries change from try to try.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.consumer.kinesis_events import LambdaContext, StreamRecord, kinesis_event

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@dataclass(frozen=True)
class Step:
    """One invocation: how many records to take, and whether to deliver it again afterwards
    (at most once per checkpoint, so the shard always drains)."""

    batch_size: int
    redeliver: bool = False
    before: Callable[[], None] | None = None
    context: LambdaContext = field(default_factory=LambdaContext)


def run_shard(
    handler: Handler,
    records: list[StreamRecord],
    steps: Iterator[Step],
    *,
    window_records: int | None = None,
    after: Callable[[], None] | None = None,
    max_invocations: int = 500,
) -> int:
    """Feed every record of the shard through `handler`; returns the number of invocations."""
    checkpoint = 0
    state: dict[str, Any] = {}
    redelivered: set[int] = set()
    for invocation in range(1, max_invocations + 1):
        if checkpoint >= len(records):
            return invocation - 1
        step = next(steps)
        window_end = len(records)
        window = None
        if window_records is not None:
            window_index = checkpoint // window_records
            window_end = min((window_index + 1) * window_records, len(records))
            window = (f"w{window_index}-start", f"w{window_index}-end")
        batch = records[checkpoint : min(checkpoint + step.batch_size, window_end)]
        final = checkpoint + len(batch) == window_end
        event = kinesis_event(batch, window=window, state=state, final=final)
        if step.before:
            step.before()
        response = handler(event, step.context)
        if after:
            after()
        if window is not None:
            assert "state" in response, "a windowed invocation must always return state"
        failures = response["batchItemFailures"]
        if failures:
            failed_at = failures[0]["itemIdentifier"]
            checkpoint = next(
                index for index, record in enumerate(records) if record.sequence_number == failed_at
            )
            continue
        if step.redeliver and checkpoint not in redelivered:
            redelivered.add(checkpoint)
            continue
        checkpoint += len(batch)
        if window is not None:
            state = {} if final else response["state"]
    raise AssertionError(f"shard not drained after {max_invocations} invocations")
