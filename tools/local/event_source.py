"""A local Kinesis event source mapping: reads every shard and invokes the consumer like Lambda.

moto cannot run Lambda functions, so this reproduces what the mapping does for one function:
per shard, in order, from TRIM_HORIZON; batches up to a size, gathered for up to a batching
window, never above Lambda's 6 MB payload; tumbling windows over record arrival time, with the
`state` the function returns handed to its next invoke in the window and a final invoke
(`isFinalInvokeForWindow`) once the window has closed, which blocks the shard until it succeeds;
`batchItemFailures` checkpoints (resume from the lowest failed sequence number); bisection of a
batch whose invoke failed; bounded retries and record age; then a message describing the
dropped records on the on-failure queue, in the shape Lambda sends.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.settings import Settings
from riptide.contract import PUT_PAYLOAD_UNIT_BYTES
from riptide.retry import Backoff
from tools.local.lambda_context import FunctionSpec, LambdaContext
from tools.local.stream_audit import StreamAudit

Handler = Callable[[dict[str, Any], LambdaContext], Any]

MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_STATE_BYTES = 1024 * 1024
GET_RECORDS_LIMIT = 10_000
POLL_INTERVAL_SECONDS = 0.25
WINDOW_SETTLE_SECONDS = 1.0
"""How long after a window's end the mapping waits before the final invoke, so that records
stamped just before the end are read first."""
RETRY_BACKOFF = Backoff(base_seconds=0.5, cap_seconds=5.0)


@dataclass(frozen=True)
class MappingSettings:
    """The event source mapping's configuration; `from_settings` reads the stack's values."""

    batch_size: int
    batching_window_seconds: float
    tumbling_window_seconds: int
    retry_attempts: int
    max_record_age_seconds: int
    bisect_on_error: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> MappingSettings:
        return cls(
            batch_size=settings.batch_size,
            batching_window_seconds=settings.max_batching_window_seconds,
            tumbling_window_seconds=settings.tumbling_window_seconds,
            retry_attempts=settings.retry_attempts,
            max_record_age_seconds=settings.max_record_age_seconds,
        )


@dataclass(frozen=True)
class StreamRecord:
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float

    @property
    def put_payload_units(self) -> int:
        return math.ceil(
            (len(self.data) + len(self.partition_key.encode())) / PUT_PAYLOAD_UNIT_BYTES
        )

    @property
    def invoke_bytes(self) -> int:
        return len(self.data) * 4 // 3 + len(self.partition_key) + 400


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    @classmethod
    def around(cls, arrival: float, seconds: int) -> Window:
        start = math.floor(arrival / seconds) * seconds
        return cls(start, start + seconds)

    def to_json(self) -> dict[str, str]:
        return {"start": _iso(self.start, millis=False), "end": _iso(self.end, millis=False)}


@dataclass
class MappingStats:
    """What the mapping did, summed over shards; read by the progress line and the report."""

    records_read: int = 0
    bytes_read: int = 0
    put_payload_units: int = 0
    backlog: int = 0
    invocations: int = 0
    final_invocations: int = 0
    function_errors: int = 0
    partial_failures: int = 0
    bisections: int = 0
    batches_dropped: int = 0
    records_dropped: int = 0
    busy_ms: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: int) -> None:
        with self.lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)


class InvokeFailedError(Exception):
    """The function raised, or answered in a way Lambda counts as a failed invoke."""


@dataclass(frozen=True)
class StreamTarget:
    """The stream and the function the mapping connects, and where dropped batches are reported."""

    stream_name: str
    stream_arn: str
    region: str
    function: FunctionSpec
    handler: Handler
    dead_letter_queue_url: str


class ShardPoller:
    """One shard's reader and invoker, run by its own thread."""

    def __init__(self, shard_id: str, mapping: EventSourceMapping) -> None:
        self.shard_id = shard_id
        self.target = mapping.target
        self.settings = mapping.settings
        self.kinesis = mapping.kinesis
        self.sqs = mapping.sqs
        self.stats = mapping.stats
        self.audit = mapping.audit
        self.stop = mapping.stop
        self.buffer: deque[StreamRecord] = deque()
        self.window: Window | None = None
        self.state: dict[str, Any] = {}
        self.caught_up = False
        self._iterator: str | None = None
        self._last_poll = 0.0
        self._read_to_end = False
        self._gathering_since: float | None = None
        self._bisect_limit: int | None = None
        self._bisect_until: str | None = None
        self._failed_head: str | None = None
        self._attempts = 0

    @property
    def idle(self) -> bool:
        """Nothing buffered, no window awaiting its final invoke, the shard read to its end."""
        return self.caught_up and not self.buffer and self.window is None

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                invoked = self.step()
            except Exception:  # Kinesis or SQS failed: Lambda's poller retries, so does this one
                traceback.print_exc()
                invoked = False
            if not invoked:
                self.stop.wait(POLL_INTERVAL_SECONDS / 2)

    def step(self) -> bool:
        """Poll when due, then make at most one invoke; True when an invoke happened."""
        now = time.time()
        if now - self._last_poll >= POLL_INTERVAL_SECONDS:
            self._poll()
            now = time.time()
        self._drop_expired(now)
        if self.window is not None and self._window_complete(now):
            return self._finish_window(terminated_early=False)
        batch = self._next_batch(now)
        if not batch:
            return False
        self._invoke_batch(batch)
        return True

    def _poll(self) -> None:
        if self._iterator is None:
            self._iterator = self.kinesis.get_shard_iterator(
                StreamName=self.target.stream_name,
                ShardId=self.shard_id,
                ShardIteratorType="TRIM_HORIZON",
            )["ShardIterator"]
        answer = self.kinesis.get_records(ShardIterator=self._iterator, Limit=GET_RECORDS_LIMIT)
        self._iterator = answer["NextShardIterator"]
        self._last_poll = time.time()
        self.audit.add(answer["Records"])
        records = [
            StreamRecord(
                sequence_number=item["SequenceNumber"],
                partition_key=item["PartitionKey"],
                data=item["Data"],
                arrival=item["ApproximateArrivalTimestamp"].timestamp(),
            )
            for item in answer["Records"]
        ]
        self.caught_up = not records
        self._read_to_end = len(records) < GET_RECORDS_LIMIT
        if records and not self.buffer:
            self._gathering_since = self._last_poll
        self.buffer.extend(records)
        self.stats.add(
            records_read=len(records),
            backlog=len(records),
            bytes_read=sum(len(record.data) for record in records),
            put_payload_units=sum(record.put_payload_units for record in records),
        )

    def _window_complete(self, now: float) -> bool:
        assert self.window is not None
        settled = self.window.end + WINDOW_SETTLE_SECONDS
        if now < settled or self._last_poll < settled or not self._read_to_end:
            return False
        return not self.buffer or self.buffer[0].arrival >= self.window.end

    def _next_batch(self, now: float) -> list[StreamRecord]:
        if not self.buffer:
            return []
        limit = self._bisect_limit or self.settings.batch_size
        window = self._window_of(self.buffer[0])
        if self.window is not None and window != self.window:
            return []  # the open window gets its final invoke first
        batch: list[StreamRecord] = []
        payload = 0
        for record in self.buffer:
            if len(batch) == limit or self._window_of(record) != window:
                break
            if batch and payload + record.invoke_bytes > MAX_INVOKE_PAYLOAD_BYTES:
                break
            batch.append(record)
            payload += record.invoke_bytes
        full = len(batch) == limit or len(batch) < len(self.buffer)
        gathered_long_enough = (
            self._gathering_since is not None
            and now - self._gathering_since >= self.settings.batching_window_seconds
        )
        return batch if full or gathered_long_enough or self._bisect_limit else []

    def _window_of(self, record: StreamRecord) -> Window | None:
        seconds = self.settings.tumbling_window_seconds
        return Window.around(record.arrival, seconds) if seconds else None

    def _invoke_batch(self, batch: list[StreamRecord]) -> None:
        window = self._window_of(batch[0])
        self.window = window
        event: dict[str, Any] = {"Records": [self._lambda_record(record) for record in batch]}
        if window is not None:
            event |= self._window_fields(window, final=False, terminated_early=False)
        self.stats.add(invocations=1)
        try:
            result = self._invoke(event)
        except InvokeFailedError:
            self.stats.add(function_errors=1)
            self._after_failed_invoke(batch)
            return
        failed = self._failed_sequence_numbers(result, batch)
        if failed is None:
            self.stats.add(function_errors=1)
            self._after_failed_invoke(batch)
            return
        if window is not None:
            self.state = result["state"] or {}
        if failed:
            self.stats.add(partial_failures=1)
            lowest = min(failed, key=int)
            self._checkpoint_before(lowest)
            self._count_failure(batch[[r.sequence_number for r in batch].index(lowest) :])
            return
        self._checkpoint_through(batch[-1])
        if window is not None and len(json.dumps(self.state)) > MAX_STATE_BYTES:
            self._finish_window(terminated_early=True)

    def _finish_window(self, *, terminated_early: bool) -> bool:
        """The final invoke of the open window; it is retried until it succeeds."""
        assert self.window is not None
        event = {"Records": []} | self._window_fields(
            self.window, final=True, terminated_early=terminated_early
        )
        attempt = 0
        while not self.stop.is_set():
            self.stats.add(invocations=1, final_invocations=1)
            try:
                self._invoke(event)
                break
            except InvokeFailedError:
                self.stats.add(function_errors=1)
                self.stop.wait(RETRY_BACKOFF.delay(attempt))
                attempt += 1
        else:
            return False
        self.state = {}
        if not terminated_early:
            self.window = None
        return True

    def _invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with the event and result passed through JSON, as Lambda does."""
        started = time.monotonic()
        try:
            payload = json.loads(json.dumps(event))
            result = json.loads(
                json.dumps(self.target.handler(payload, self.target.function.new_context()))
            )
        except Exception as error:
            raise InvokeFailedError(repr(error)) from error
        finally:
            self.stats.add(busy_ms=round((time.monotonic() - started) * 1000))
        if time.monotonic() - started > self.target.function.timeout_seconds:
            raise InvokeFailedError("the invoke ran past the function's timeout")
        if self.settings.tumbling_window_seconds and not (
            isinstance(result, dict) and "state" in result
        ):
            raise InvokeFailedError("a tumbling-window invoke must answer with a state")
        return result

    @staticmethod
    def _failed_sequence_numbers(result: Any, batch: list[StreamRecord]) -> list[str] | None:
        """The reported failures; None when the report is malformed (Lambda fails the batch)."""
        if not isinstance(result, dict) or not result.get("batchItemFailures"):
            return []
        known = {record.sequence_number for record in batch}
        failed = [item.get("itemIdentifier") for item in result["batchItemFailures"]]
        if not all(isinstance(number, str) and number in known for number in failed):
            return None
        return failed

    def _after_failed_invoke(self, batch: list[StreamRecord]) -> None:
        if self.settings.bisect_on_error and len(batch) > 1:
            self.stats.add(bisections=1)
            self._bisect_limit = math.ceil(len(batch) / 2)
            if self._bisect_until is None or int(batch[-1].sequence_number) > int(
                self._bisect_until
            ):
                self._bisect_until = batch[-1].sequence_number
            return
        self._count_failure(batch)

    def _count_failure(self, batch: list[StreamRecord]) -> None:
        """One more failed attempt at the records from `batch[0]`; drop them when out of retries."""
        head = batch[0].sequence_number
        self._attempts = self._attempts + 1 if head == self._failed_head else 1
        self._failed_head = head
        if self._attempts > self.settings.retry_attempts:
            self._drop(batch, "RetryAttemptsExhausted")
            return
        self.stop.wait(RETRY_BACKOFF.delay(self._attempts - 1))

    def _drop_expired(self, now: float) -> None:
        expired = []
        for record in self.buffer:
            if now - record.arrival <= self.settings.max_record_age_seconds:
                break
            expired.append(record)
        if expired:
            self._drop(expired, "RecordAgeExceeded")

    def _drop(self, batch: list[StreamRecord], condition: str) -> None:
        """Skip the records, telling the on-failure queue which ones, as Lambda does."""
        message = {
            "requestContext": {
                "requestId": base64.b32encode(batch[0].sequence_number.encode()).decode(),
                "functionArn": self.target.function.arn,
                "condition": condition,
                "approximateInvokeCount": self._attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "KinesisBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": batch[0].sequence_number,
                "endSequenceNumber": batch[-1].sequence_number,
                "approximateArrivalOfFirstRecord": _iso(batch[0].arrival),
                "approximateArrivalOfLastRecord": _iso(batch[-1].arrival),
                "batchSize": len(batch),
                "streamArn": self.target.stream_arn,
            },
        }
        self.sqs.send_message(
            QueueUrl=self.target.dead_letter_queue_url, MessageBody=json.dumps(message)
        )
        self.stats.add(batches_dropped=1, records_dropped=len(batch))
        self._checkpoint_through(batch[-1])

    def _checkpoint_before(self, sequence_number: str) -> None:
        while self.buffer and self.buffer[0].sequence_number != sequence_number:
            self._pop()

    def _checkpoint_through(self, record: StreamRecord) -> None:
        while self.buffer and int(self.buffer[0].sequence_number) <= int(record.sequence_number):
            self._pop()
        if self._bisect_until is not None and int(record.sequence_number) >= int(
            self._bisect_until
        ):
            self._bisect_limit = self._bisect_until = None
        self._failed_head = None
        self._attempts = 0
        self._gathering_since = time.time() if self.buffer else None

    def _pop(self) -> None:
        self.buffer.popleft()
        self.stats.add(backlog=-1)

    def _window_fields(
        self, window: Window, *, final: bool, terminated_early: bool
    ) -> dict[str, Any]:
        return {
            "window": window.to_json(),
            "state": self.state,
            "shardId": self.shard_id,
            "eventSourceARN": self.target.stream_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": terminated_early,
        }

    def _lambda_record(self, record: StreamRecord) -> dict[str, Any]:
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record.partition_key,
                "sequenceNumber": record.sequence_number,
                "data": base64.b64encode(record.data).decode(),
                "approximateArrivalTimestamp": round(record.arrival, 3),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{self.shard_id}:{record.sequence_number}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"{self.target.function.arn}-role",
            "awsRegion": self.target.region,
            "eventSourceARN": self.target.stream_arn,
        }


class EventSourceMapping:
    """Every shard of the stream, each polled and invoked by its own thread."""

    def __init__(
        self,
        target: StreamTarget,
        settings: MappingSettings,
        shard_ids: tuple[str, ...],
        kinesis: Any,
        sqs: Any,
    ) -> None:
        self.target = target
        self.settings = settings
        self.kinesis = kinesis
        self.sqs = sqs
        self.stats = MappingStats()
        self.audit = StreamAudit()
        self.stop = threading.Event()
        self.pollers = [ShardPoller(shard_id, self) for shard_id in shard_ids]
        self._threads = [
            threading.Thread(target=poller.run, daemon=True, name=poller.shard_id)
            for poller in self.pollers
        ]

    @property
    def idle(self) -> bool:
        return all(poller.idle for poller in self.pollers)

    def __enter__(self) -> EventSourceMapping:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()


def _iso(epoch: float, *, millis: bool = True) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds" if millis else "seconds").replace("+00:00", "Z")
