"""A local Kinesis event source mapping: reads every shard and invokes the consumer like Lambda.

moto cannot run Lambda functions, so this drives the mapping's semantics (tools/lambda_kit/
kinesis_mapping.py: batches, tumbling windows with state and final invokes, checkpoints,
bisection, retries, record age) from the stream, one thread per shard, in real time: per shard,
in order, from TRIM_HORIZON; a batch goes when it is full or its batching window has passed; a
window closes a moment after its end once the shard has been read past it; failed batches wait a
backoff before their retry; dropped records are described on the on-failure queue.

Resharding: the shard list is read again every few seconds, and a new shard is read as soon as
each of its parents has been read to its end (GetRecords gives no next iterator) and the
parent's last batch and final window invoke succeeded, as Lambda does, so that a key's records
stay in order across a split or merge. moto does not close a parent on SplitShard or MergeShards
(it keeps writing to the parent and never ends it), so against moto children are listed but not
read; tests/local/test_event_source_reshard.py covers the ordering with a stand-in for the
stream's shard listing and records. Not covered: shards that expire from the listing while
still being read, and ListShards filters (every listed shard is read).
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.settings import Settings
from riptide.retry import Backoff
from tools.lambda_kit.context import FunctionSpec, LambdaContext
from tools.lambda_kit.kinesis import ArrivalWindow, KinesisSource, StreamRecord
from tools.lambda_kit.kinesis_mapping import (
    DroppedBatch,
    Invoke,
    MappingSettings,
    Settlement,
    ShardMapping,
    as_lambda_delivers,
    on_failure_message,
)
from tools.local.stream_audit import StreamAudit

Handler = Callable[[dict[str, Any], LambdaContext], Any]

GET_RECORDS_LIMIT = 10_000
POLL_INTERVAL_SECONDS = 0.25
SHARD_LISTING_INTERVAL_SECONDS = 2.0
WINDOW_SETTLE_SECONDS = 1.0
"""How long after a window's end the mapping waits before the final invoke, so that records
stamped just before the end are read first."""
RETRY_BACKOFF = Backoff(base_seconds=0.5, cap_seconds=5.0)


def mapping_settings(settings: Settings) -> MappingSettings:
    """The mapping the stack configures, from its settings."""
    return MappingSettings(
        batch_size=settings.batch_size,
        batching_window_seconds=settings.max_batching_window_seconds,
        tumbling_window_seconds=settings.tumbling_window_seconds,
        retry_attempts=settings.retry_attempts,
        max_record_age_seconds=settings.max_record_age_seconds,
    )


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
    """The function raised, or ran past its timeout."""


@dataclass(frozen=True)
class StreamTarget:
    """The stream and the function the mapping connects, and where dropped batches are reported."""

    stream_name: str
    stream_arn: str
    region: str
    function: FunctionSpec
    handler: Handler
    dead_letter_queue_url: str

    @property
    def source(self) -> KinesisSource:
        return KinesisSource(self.stream_arn, self.region, f"{self.function.arn}-role")


@dataclass(frozen=True)
class Shard:
    """A shard as ListShards names it: its parents, when it came from a split or merge."""

    shard_id: str
    parents: tuple[str, ...]

    @classmethod
    def from_listing(cls, item: dict[str, Any]) -> Shard:
        parents = (item.get("ParentShardId"), item.get("AdjacentParentShardId"))
        return cls(item["ShardId"], tuple(parent for parent in parents if parent))


class ShardPoller:
    """One shard's reader and invoker, run by its own thread once its parents are done."""

    def __init__(self, shard: Shard, mapping: EventSourceMapping) -> None:
        self.shard = shard
        self.mapping = mapping
        self.target = mapping.target
        self.settings = mapping.settings
        self.kinesis = mapping.kinesis
        self.stats = mapping.stats
        self.stop = mapping.stop
        self.feed = ShardMapping(shard.shard_id, mapping.settings, self.target.source)
        self.started = False
        self.caught_up = False
        self.ended = False
        self._iterator: str | None = None
        self._last_poll = 0.0
        self._read_to_end = False
        self._gathering_since: float | None = None

    @property
    def idle(self) -> bool:
        """Nothing buffered, no window awaiting its final invoke, the shard read to its end (or
        not to be read yet, its parents unfinished)."""
        if not self.started:
            return not self.mapping.parents_finished(self.shard)
        return self.finished or (self.caught_up and self.feed.drained)

    @property
    def finished(self) -> bool:
        """A closed shard read to its end, its last batch and window settled."""
        return self.ended and self.feed.drained

    def run(self) -> None:
        while not self.stop.is_set() and not self.mapping.parents_finished(self.shard):
            self.stop.wait(POLL_INTERVAL_SECONDS)
        self.started = True
        while not self.stop.is_set() and not self.finished:
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
        if not self.ended and now - self._last_poll >= POLL_INTERVAL_SECONDS:
            self._poll()
            now = time.time()
        expired = self.feed.expire(now)
        if expired:
            self._report_dropped(expired)
        invoke = self.feed.next_invoke(self._window_closed, gathered=self._gathered(now))
        if invoke is None:
            return False
        self._run(invoke)
        return True

    def _poll(self) -> None:
        if self._iterator is None:
            self._iterator = self.kinesis.get_shard_iterator(
                StreamName=self.target.stream_name,
                ShardId=self.shard.shard_id,
                ShardIteratorType="TRIM_HORIZON",
            )["ShardIterator"]
        answer = self.kinesis.get_records(ShardIterator=self._iterator, Limit=GET_RECORDS_LIMIT)
        self._iterator = answer.get("NextShardIterator")
        self._last_poll = time.time()
        self.mapping.audit.add(answer["Records"])
        records = [
            StreamRecord(
                shard_id=self.shard.shard_id,
                sequence_number=item["SequenceNumber"],
                partition_key=item["PartitionKey"],
                data=item["Data"],
                arrival=item["ApproximateArrivalTimestamp"].timestamp(),
            )
            for item in answer["Records"]
        ]
        self.ended = self._iterator is None
        self.caught_up = not records
        self._read_to_end = len(records) < GET_RECORDS_LIMIT
        if records and not self.feed.buffer:
            self._gathering_since = self._last_poll
        self.feed.add(records)
        self.stats.add(
            records_read=len(records),
            backlog=len(records),
            bytes_read=sum(len(record.data) for record in records),
            put_payload_units=sum(record.put_payload_units for record in records),
        )

    def _window_closed(self, window: ArrivalWindow) -> bool:
        if self.ended:
            return True
        settled = window.end + WINDOW_SETTLE_SECONDS
        return time.time() >= settled and self._last_poll >= settled and self._read_to_end

    def _gathered(self, now: float) -> bool:
        return self.ended or (
            self._gathering_since is not None
            and now - self._gathering_since >= self.settings.batching_window_seconds
        )

    def _run(self, invoke: Invoke) -> None:
        self.stats.add(invocations=1, final_invocations=int(invoke.final))
        try:
            answer = self._call(invoke.event)
        except InvokeFailedError:
            settlement = self.feed.failed(invoke)
        else:
            settlement = self.feed.succeeded(invoke, answer)
        self._account(invoke, settlement)

    def _call(self, event: dict[str, Any]) -> Any:
        """Call the handler with the event, and its answer passed through JSON, as Lambda does."""
        started = time.monotonic()
        try:
            answer = as_lambda_delivers(
                self.target.handler(event, self.target.function.new_context())
            )
        except Exception as error:
            raise InvokeFailedError(repr(error)) from error
        finally:
            self.stats.add(busy_ms=round((time.monotonic() - started) * 1000))
        if time.monotonic() - started > self.target.function.timeout_seconds:
            raise InvokeFailedError("the invoke ran past the function's timeout")
        return answer

    def _account(self, invoke: Invoke, settlement: Settlement) -> None:
        """Count what the answer did, report dropped records and wait out a retry's backoff."""
        self.stats.add(
            function_errors=int(settlement.failed_invoke),
            partial_failures=int(settlement.partial_failure),
            bisections=int(settlement.bisected),
            backlog=-self._checkpointed(invoke, settlement),
        )
        if settlement.dropped:
            self._report_dropped(settlement.dropped, counted=True)
        clean = not (settlement.failed_invoke or settlement.partial_failure)
        if clean or settlement.dropped:
            self._gathering_since = time.time() if self.feed.buffer else None
        if settlement.retry:
            self.stop.wait(RETRY_BACKOFF.delay(settlement.retry - 1))

    def _checkpointed(self, invoke: Invoke, settlement: Settlement) -> int:
        """How many of the invoke's records left the shard's backlog."""
        if settlement.failed_invoke and not settlement.dropped:
            return 0
        if settlement.partial_failure and not settlement.dropped:
            remaining = {record.sequence_number for record in self.feed.buffer}
            return sum(record.sequence_number not in remaining for record in invoke.records)
        return len(invoke.records)

    def _report_dropped(self, dropped: DroppedBatch, *, counted: bool = False) -> None:
        """Tell the on-failure queue which records were skipped, as Lambda does."""
        message = on_failure_message(
            dropped,
            function_arn=self.target.function.arn,
            stream_arn=self.target.stream_arn,
            now=time.time(),
        )
        self.mapping.sqs.send_message(
            QueueUrl=self.target.dead_letter_queue_url, MessageBody=json.dumps(message)
        )
        self.stats.add(
            batches_dropped=1,
            records_dropped=len(dropped.records),
            backlog=0 if counted else -len(dropped.records),
        )


class EventSourceMapping:
    """Every shard of the stream, each polled and invoked by its own thread; the shard list is
    read again every few seconds so that shards made by a reshard are read too."""

    def __init__(
        self, target: StreamTarget, settings: MappingSettings, kinesis: Any, sqs: Any
    ) -> None:
        self.target = target
        self.settings = settings
        self.kinesis = kinesis
        self.sqs = sqs
        self.stats = MappingStats()
        self.audit = StreamAudit()
        self.stop = threading.Event()
        self.pollers: dict[str, ShardPoller] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._lister = threading.Thread(target=self._keep_listing, daemon=True, name="ListShards")

    @property
    def idle(self) -> bool:
        with self._lock:
            pollers = list(self.pollers.values())
        return all(poller.idle for poller in pollers)

    def parents_finished(self, shard: Shard) -> bool:
        """Every parent of the shard still listed has been read to its end and settled."""
        with self._lock:
            parents = [self.pollers.get(parent) for parent in shard.parents]
        return all(parent is None or parent.finished for parent in parents)

    def list_shards(self) -> None:
        """Read the shard list and start a poller for each shard not seen before."""
        listed: list[Shard] = []
        arguments: dict[str, Any] = {"StreamName": self.target.stream_name}
        while True:
            page = self.kinesis.list_shards(**arguments)
            listed += [Shard.from_listing(item) for item in page["Shards"]]
            if not page.get("NextToken"):
                break
            arguments = {"NextToken": page["NextToken"]}
        with self._lock:
            for shard in listed:
                if shard.shard_id in self.pollers:
                    continue
                poller = ShardPoller(shard, self)
                self.pollers[shard.shard_id] = poller
                thread = threading.Thread(target=poller.run, daemon=True, name=shard.shard_id)
                self._threads.append(thread)
                thread.start()

    def _keep_listing(self) -> None:
        while not self.stop.wait(SHARD_LISTING_INTERVAL_SECONDS):
            try:
                self.list_shards()
            except Exception:  # a failed listing is retried at the next interval
                traceback.print_exc()

    def __enter__(self) -> EventSourceMapping:
        self.list_shards()
        self._lister.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self._lister.join()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join()
