"""Lambda's Kinesis event source mapping for one shard, as a deterministic state machine.

What the mapping does between reading a shard and invoking the function: batches from the
checkpoint, up to the batch size and Lambda's 6 MB invoke payload, within one tumbling window
(by record arrival time); the `state` a window invoke answers with handed to the next invoke of
the window; a final invoke (`isFinalInvokeForWindow`) once the window has closed, carrying the
window's last records when they were not sent yet, and blocking the shard until it succeeds; a
window ended early when its state passes 1 MB; `batchItemFailures` checkpoints (resume from the
lowest failed sequence number); bisection of a batch whose invoke failed; bounded retries and
record age, after which records are dropped and described on the on-failure queue.

It keeps no clock and does no I/O: its driver adds the records it read, says which windows have
closed, invokes the function with the event and hands back the answer. The local pipeline drives
it from the stream with real time (tools/local/event_source.py); replay tests drive it with their
own records, batch sizes and redeliveries.
"""

from __future__ import annotations

import base64
import json
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from tools.lambda_kit.kinesis import (
    ArrivalWindow,
    KinesisSource,
    StreamRecord,
    iso,
    kinesis_event,
)

MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_STATE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class MappingSettings:
    """The event source mapping's configuration, as the stack sets it."""

    batch_size: int
    batching_window_seconds: float
    tumbling_window_seconds: int
    retry_attempts: int
    max_record_age_seconds: int
    bisect_on_error: bool = True


@dataclass(frozen=True)
class Invoke:
    """One invoke the mapping wants made: its records, window flags and the event itself."""

    records: tuple[StreamRecord, ...]
    window: ArrivalWindow | None
    final: bool
    terminated_early: bool
    event: dict[str, Any]


@dataclass(frozen=True)
class DroppedBatch:
    """Records the mapping gave up on, and why (Lambda's condition names)."""

    records: tuple[StreamRecord, ...]
    condition: str
    attempts: int


@dataclass(frozen=True)
class Settlement:
    """What an invoke's answer did to the shard."""

    failed_invoke: bool = False
    partial_failure: bool = False
    bisected: bool = False
    retry: int = 0
    """The number of the failed attempt a retry now follows (for its backoff); 0 when none."""
    dropped: DroppedBatch | None = None


def as_lambda_delivers(value: Any) -> Any:
    """The value after the trip through JSON that every event and answer takes in Lambda."""
    return json.loads(json.dumps(value))


class ShardMapping:
    """The mapping's view of one shard: unprocessed records from the checkpoint, the open
    window and its state, and the retry bookkeeping."""

    def __init__(self, shard_id: str, settings: MappingSettings, source: KinesisSource) -> None:
        self.shard_id = shard_id
        self.settings = settings
        self.source = source
        self.buffer: deque[StreamRecord] = deque()
        self.window: ArrivalWindow | None = None
        self.state: dict[str, Any] = {}
        self._terminate_early = False
        self._bisect_limit: int | None = None
        self._bisect_until: int | None = None
        self._failed_head: str | None = None
        self._attempts = 0
        self._final_attempts = 0

    @property
    def drained(self) -> bool:
        """Every record added was processed or dropped, and no window awaits its final invoke."""
        return not self.buffer and self.window is None

    def add(self, records: Iterable[StreamRecord]) -> None:
        """Records read from the shard, in order, after those added before."""
        self.buffer.extend(records)

    def next_invoke(
        self,
        window_closed: Callable[[ArrivalWindow], bool],
        *,
        limit: int | None = None,
        gathered: bool = True,
    ) -> Invoke | None:
        """The invoke due now, or None. `window_closed` says whether every record of a window
        has been added; `limit` caps this batch below the batch size; `gathered` says whether
        the batching window has passed, so that a batch below the limit may go."""
        if self.window is not None and self._terminate_early:
            return self._final_invoke(terminated_early=True)
        if self.window is not None and not self._holds_records_of(self.window):
            return self._final_invoke() if window_closed(self.window) else None
        if not self.buffer:
            return None
        window = self._window_of(self.buffer[0])
        cap = min(size for size in (limit, self._bisect_limit, self.settings.batch_size) if size)
        batch: list[StreamRecord] = []
        payload = 0
        for record in self.buffer:
            if len(batch) == cap or self._window_of(record) != window:
                break
            if batch and payload + record.invoke_bytes > MAX_INVOKE_PAYLOAD_BYTES:
                break
            batch.append(record)
            payload += record.invoke_bytes
        rest_in_window = len(batch) < len(self.buffer) and (
            self._window_of(self.buffer[len(batch)]) == window
        )
        final = window is not None and not rest_in_window and window_closed(window)
        full = len(batch) == cap or len(batch) < len(self.buffer)
        if not (full or gathered or final or self._bisect_limit):
            return None
        self.window = window
        return self._invoke(tuple(batch), window, final=final, terminated_early=False)

    def succeeded(self, invoke: Invoke, answer: Any) -> Settlement:
        """The function answered; a malformed answer counts as a failed invoke, as in Lambda."""
        if invoke.window is not None and not (isinstance(answer, dict) and "state" in answer):
            return self.failed(invoke)  # a window invoke must answer with a state
        failed = _failed_sequence_numbers(answer, invoke.records)
        if failed is None:
            return self.failed(invoke)
        if not invoke.records:
            self._close_window(terminated_early=invoke.terminated_early)
            return Settlement()
        if invoke.window is not None:
            self.state = answer["state"] or {}
        if failed:
            lowest = min(failed, key=int)
            self._checkpoint_before(lowest)
            index = [record.sequence_number for record in invoke.records].index(lowest)
            return replace(self._count_failure(invoke.records[index:]), partial_failure=True)
        self._checkpoint_through(invoke.records[-1])
        if invoke.final:
            self._close_window(terminated_early=False)
        elif invoke.window is not None and len(json.dumps(self.state)) > MAX_STATE_BYTES:
            self._terminate_early = True
        return Settlement()

    def failed(self, invoke: Invoke) -> Settlement:
        """The invoke failed (the function raised, timed out or answered malformed)."""
        if not invoke.records:  # a final invoke without records is retried until it succeeds
            self._final_attempts += 1
            return Settlement(failed_invoke=True, retry=self._final_attempts)
        if self.settings.bisect_on_error and len(invoke.records) > 1:
            self._bisect_limit = math.ceil(len(invoke.records) / 2)
            last = invoke.records[-1].sequence
            self._bisect_until = max(last, self._bisect_until or last)
            return Settlement(failed_invoke=True, bisected=True)
        return replace(self._count_failure(invoke.records), failed_invoke=True)

    def expire(self, now: float) -> DroppedBatch | None:
        """Drop the records at the checkpoint older than the maximum record age."""
        expired = []
        for record in self.buffer:
            if now - record.arrival <= self.settings.max_record_age_seconds:
                break
            expired.append(record)
        return self._drop(expired, "RecordAgeExceeded") if expired else None

    def _final_invoke(self, *, terminated_early: bool = False) -> Invoke:
        assert self.window is not None
        return self._invoke((), self.window, final=True, terminated_early=terminated_early)

    def _invoke(
        self,
        records: tuple[StreamRecord, ...],
        window: ArrivalWindow | None,
        *,
        final: bool,
        terminated_early: bool,
    ) -> Invoke:
        event = kinesis_event(
            records,
            source=self.source,
            window=window,
            state=self.state,
            final=final,
            terminated_early=terminated_early,
            shard=self.shard_id,
        )
        return Invoke(records, window, final, terminated_early, as_lambda_delivers(event))

    def _holds_records_of(self, window: ArrivalWindow) -> bool:
        return bool(self.buffer) and self._window_of(self.buffer[0]) == window

    def _window_of(self, record: StreamRecord) -> ArrivalWindow | None:
        seconds = self.settings.tumbling_window_seconds
        return ArrivalWindow.around(record.arrival, seconds) if seconds else None

    def _close_window(self, *, terminated_early: bool) -> None:
        self.state = {}
        self._final_attempts = 0
        if terminated_early:
            self._terminate_early = False
        else:
            self.window = None

    def _count_failure(self, records: tuple[StreamRecord, ...]) -> Settlement:
        """One more failed attempt at the records from `records[0]`; dropped when out of retries."""
        head = records[0].sequence_number
        self._attempts = self._attempts + 1 if head == self._failed_head else 1
        self._failed_head = head
        if self._attempts > self.settings.retry_attempts:
            return Settlement(dropped=self._drop(list(records), "RetryAttemptsExhausted"))
        return Settlement(retry=self._attempts)

    def _drop(self, records: list[StreamRecord], condition: str) -> DroppedBatch:
        dropped = DroppedBatch(tuple(records), condition, self._attempts)
        self._checkpoint_through(records[-1])
        return dropped

    def _checkpoint_before(self, sequence_number: str) -> None:
        while self.buffer and self.buffer[0].sequence_number != sequence_number:
            self.buffer.popleft()

    def _checkpoint_through(self, record: StreamRecord) -> None:
        while self.buffer and self.buffer[0].sequence <= record.sequence:
            self.buffer.popleft()
        if self._bisect_until is not None and record.sequence >= self._bisect_until:
            self._bisect_limit = self._bisect_until = None
        self._failed_head = None
        self._attempts = 0


def _failed_sequence_numbers(answer: Any, records: tuple[StreamRecord, ...]) -> list[str] | None:
    """The reported failures; None when the report is malformed (Lambda fails the batch)."""
    if not isinstance(answer, dict) or not answer.get("batchItemFailures"):
        return []
    known = {record.sequence_number for record in records}
    failed = [item.get("itemIdentifier") for item in answer["batchItemFailures"]]
    if not all(isinstance(number, str) and number in known for number in failed):
        return None
    return failed


def on_failure_message(
    dropped: DroppedBatch, *, function_arn: str, stream_arn: str, now: float
) -> dict[str, Any]:
    """The message Lambda sends the on-failure destination about records it gave up on."""
    records = dropped.records
    return {
        "requestContext": {
            "requestId": base64.b32encode(records[0].sequence_number.encode()).decode(),
            "functionArn": function_arn,
            "condition": dropped.condition,
            "approximateInvokeCount": dropped.attempts,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": iso(now),
        "KinesisBatchInfo": {
            "shardId": records[0].shard_id,
            "startSequenceNumber": records[0].sequence_number,
            "endSequenceNumber": records[-1].sequence_number,
            "approximateArrivalOfFirstRecord": iso(records[0].arrival),
            "approximateArrivalOfLastRecord": iso(records[-1].arrival),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
