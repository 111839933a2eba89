"""One shard's batch: de-aggregate, roll up, side-line bad input, deliver to Druid exactly once.

Order matters for "no loss, no double count":
1. Look up the outbox for what is already delivered (or being delivered) in this span of the
   shard. Those records are skipped; their pending entries are resubmitted under their recorded
   ids, which Druid answers with "already exists" when it holds them.
2. Take the experiments as they stand (the `variant` dimension attributes events to their
   shoppers' arms with them; the rows keep what they were given, in the window state and in
   the outbox, so nothing later recomputes them). Ask the deduplication window (when the
   consumer can reach the store), in one round trip,
   which of the rest's events are copies of a message another position claimed first, and
   roll up all others, collecting bad records for
   quarantine. A rollup is cut into a delivery at the end of the invocation (no window), at the
   window's final invoke, or as soon as it nears the state size limit, so every task payload
   stays small. Skipped records were asked before they were delivered or carried; the window's
   answer for a position never changes, so any replay rolls up the same events.
3. Store the quarantine object, then for each delivery write its outbox entry and only then
   submit its task (two tasks when it holds late rows beside on-time ones: the late rows go in
   a task of their own that locks whole days, so they can land in days compaction already
   merged, and the on-time rows never fail or wait with them). A failure anywhere in 3 fails
   the whole batch from its first record, and the retry meets the outbox entries written so
   far in step 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from botocore.exceptions import BotoCoreError, ClientError

from riptide.contract import MetricName
from riptide.decisions.documents import DocumentsUnavailableError
from riptide.dedup import Copy, DedupWindow, message_identity
from riptide.delivery.outbox import Covering, DeliveryTask, Outbox, OutboxEntry
from riptide.delivery.positions import Coverage, Position, delivery_task_id, late_task_id
from riptide.delivery.window import UnreadableWindowStateError, WindowState
from riptide.druid import (
    DruidClient,
    DruidUnavailableError,
    SubmitOutcome,
    TaskState,
    build_index_task,
)
from riptide.druid.spec import LATE_SEGMENT_GRANULARITY, SEGMENT_GRANULARITY
from riptide.kinesis_batch import KinesisBatch, ShardRecord
from riptide.kpl import CorruptRecordError, deaggregate
from riptide.quarantine import (
    Quarantine,
    QuarantinedRecord,
    QuarantineReason,
    QuarantineWriteError,
)
from riptide.retry import Deadline
from riptide.rollup import LateEventError, Rollup, RollupSchema, TimePolicy, UnrollableEventError
from riptide.rollup.accumulator import MINUTES_PER_DAY
from riptide.rollup.arms import ExperimentArms, ExperimentSource
from riptide.store import StoreUnavailableError

logger = Logger(child=True)

DEFAULT_MAX_DELIVERY_STATE_BYTES = 600_000
"""A rollup whose state reaches this size is delivered at once: far under Lambda's 1 MB window
state cap. The state is compressed; the task's NDJSON rows are about ten times its size."""

RETRY_LATER = (
    DocumentsUnavailableError,
    DruidUnavailableError,
    QuarantineWriteError,
    StoreUnavailableError,
    BotoCoreError,
    ClientError,
)
"""Failures that a later redelivery of the same records can get past."""


@dataclass(frozen=True, slots=True)
class ConsumeResult:
    """What the handler returns: the failure report and, in a window, the state to carry."""

    failed_from: str | None
    state: dict[str, Any] | None

    def response(self) -> dict[str, Any]:
        failures = [] if self.failed_from is None else [{"itemIdentifier": self.failed_from}]
        response: dict[str, Any] = {"batchItemFailures": failures}
        if self.state is not None:
            response["state"] = self.state
        return response


@dataclass(slots=True)
class _Delivery:
    rollup: Rollup
    coverage: Coverage


@dataclass(frozen=True, slots=True)
class _Opened:
    """A Kinesis record's user records: how many, and those that count (by sub-sequence)."""

    total: int
    counted: list[tuple[int, bytes]]


_CORRUPT = _Opened(0, [])


@dataclass(slots=True)
class _Plan:
    deliveries: list[_Delivery] = field(default_factory=list)
    carried: WindowState = field(default_factory=WindowState)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    events_in: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)
    """Copies dropped, by site."""


class ShardConsumer:
    def __init__(
        self,
        *,
        datasource: str,
        schema: RollupSchema,
        policy: TimePolicy,
        druid: DruidClient,
        outbox: Outbox,
        quarantine: Quarantine,
        dedup: DedupWindow | None,
        metrics: Metrics,
        experiments: ExperimentSource | None = None,
        max_delivery_state_bytes: int = DEFAULT_MAX_DELIVERY_STATE_BYTES,
    ) -> None:
        """`experiments`: every site's experiments, asked once per batch; without it the
        derived `variant` dimension stays empty."""
        self._datasource = datasource
        self._schema = schema
        self._policy = policy
        self._druid = druid
        self._outbox = outbox
        self._quarantine = quarantine
        self._dedup = dedup
        self._metrics = metrics
        self._experiments = experiments
        self._max_state_bytes = max_delivery_state_bytes

    def consume(self, batch: KinesisBatch, deadline: Deadline) -> ConsumeResult:
        windowed = batch.window is not None
        incoming, unreadable = _incoming_state(batch)
        span = _span(batch, incoming)
        if span is None and unreadable is None:
            return ConsumeResult(failed_from=None, state={} if windowed else None)
        first_sequence_number = batch.records[0].sequence_number if batch.records else None
        try:
            covering = (
                self._outbox.covering(batch.shard_id, span)
                if span is not None
                else Covering(pending=(), done=())
            )
            arms = ExperimentArms(self._experiments()) if self._experiments else None
            plan = self._plan(batch, incoming, covering, arms)
            if unreadable is not None:
                plan.quarantined.insert(0, unreadable)
            if plan.quarantined:
                self._store_quarantine(batch, plan.quarantined)
            for entry in covering.pending:
                self._submit(entry, deadline)
            for delivery in plan.deliveries:
                self._deliver(batch.shard_id, delivery, deadline)
        except RETRY_LATER as error:
            logger.warning(
                "Batch not delivered; Lambda will redeliver it",
                extra={
                    "shard_id": batch.shard_id,
                    "first_sequence_number": first_sequence_number,
                    "error": str(error),
                },
            )
            self._metrics.add_metric(
                name=MetricName.BATCHES_DEFERRED, unit=MetricUnit.Count, value=1
            )
            if first_sequence_number is None:
                # A final invoke with only the window state has no record to report as failed;
                # failing the invoke is the one way to have Lambda retry it with that state.
                raise
            return ConsumeResult(
                failed_from=first_sequence_number, state=batch.state if windowed else None
            )
        self._metrics.add_metric(
            name=MetricName.EVENTS_IN, unit=MetricUnit.Count, value=plan.events_in
        )
        self._count_duplicates(plan.duplicates)
        return ConsumeResult(failed_from=None, state=plan.carried.to_json() if windowed else None)

    def _plan(
        self,
        batch: KinesisBatch,
        incoming: WindowState,
        covering: Covering,
        arms: ExperimentArms | None,
    ) -> _Plan:
        plan = _Plan()
        rollup, coverage = self._restore(incoming, covering, plan, arms)
        carried_through = coverage.last.sequence if coverage is not None else -1
        opened = self._open(
            batch.shard_id,
            [
                record
                for record in batch.records
                if record.sequence > carried_through and not covering.covers(record.sequence)
            ],
            plan,
        )
        watch = _StateSizeWatch(self._max_state_bytes)
        for record in batch.records:
            sequence = record.sequence
            if coverage is not None and sequence <= coverage.last.sequence:
                continue
            if covering.covers(sequence):
                if coverage is not None:
                    plan.deliveries.append(_Delivery(rollup, coverage))
                    rollup, coverage = self._new_rollup(arms), None
                continue
            events_before = plan.events_in
            last = self._add_record(rollup, record, opened[sequence], plan)
            coverage = (
                Coverage(Position(sequence), last)
                if coverage is None
                else coverage.extended_to(last)
            )
            if watch.reached(rollup, plan.events_in - events_before):
                plan.deliveries.append(_Delivery(rollup, coverage))
                rollup, coverage = self._new_rollup(arms), None
                watch = _StateSizeWatch(self._max_state_bytes)
        window_open = batch.window is not None and not batch.window.closes
        if coverage is not None and window_open:
            plan.carried = WindowState(coverage, rollup.to_state())
        elif coverage is not None:
            plan.deliveries.append(_Delivery(rollup, coverage))
        return plan

    def _restore(
        self, incoming: WindowState, covering: Covering, plan: _Plan, arms: ExperimentArms | None
    ) -> tuple[Rollup, Coverage | None]:
        """The window's partial rollup, unless an outbox entry already holds it.

        An entry is always cut from a whole rollup state, so a state that overlaps an entry is
        entirely inside it (this happens when a failed final invoke is retried with its old
        state): rolling it up again would count it twice. A state this schema cannot read (the
        rollup settings changed within the window) is quarantined whole, so the shard goes on.
        """
        if incoming.coverage is None:
            return self._new_rollup(arms), None
        if any(incoming.coverage.overlaps(done) for done in covering.coverages):
            logger.info(
                "Window state already delivered; starting afresh",
                extra={
                    "first": incoming.coverage.first.to_json(),
                    "last": incoming.coverage.last.to_json(),
                },
            )
            return self._new_rollup(arms), None
        try:
            rollup = Rollup.from_state(
                self._schema, self._policy, incoming.rollup_state or {}, arms
            )
        except ValueError as error:
            plan.quarantined.append(
                QuarantinedRecord(
                    str(incoming.coverage.first.sequence),
                    None,
                    QuarantineReason.UNREADABLE_WINDOW_STATE,
                    f"window state covering {incoming.coverage.first.to_json()} to "
                    f"{incoming.coverage.last.to_json()} cannot be read: {error}",
                    msgspec.json.encode(incoming.rollup_state),
                )
            )
            return self._new_rollup(arms), None
        return rollup, incoming.coverage

    def _open(self, shard_id: str, records: list[ShardRecord], plan: _Plan) -> dict[int, _Opened]:
        """De-aggregate the records to roll up and drop the copies the window says are duplicates.

        Corrupt records are quarantined whole. Raises StoreUnavailableError when the window
        cannot answer: the batch is then retried, never rolled up without it.
        """
        payloads_of: dict[int, list[bytes] | None] = {}
        copies: list[Copy] = []
        places: list[tuple[int, int]] = []
        for record in records:
            try:
                payloads = deaggregate(record.data)
            except CorruptRecordError as error:
                plan.quarantined.append(
                    QuarantinedRecord(
                        record.sequence_number,
                        None,
                        QuarantineReason.CORRUPT_RECORD,
                        error.for_sequence_number(record.sequence_number).args[0],
                        record.data,
                    )
                )
                payloads_of[record.sequence] = None
                continue
            payloads_of[record.sequence] = payloads
            if self._dedup is None:
                continue
            for index, payload in enumerate(payloads):
                identity = message_identity(payload)
                if identity is not None:
                    copies.append(
                        Copy(*identity, shard_id, record.sequence_number, index, record.arrived_at)
                    )
                    places.append((record.sequence, index))
        dropped: dict[int, set[int]] = {}
        answers = self._dedup.duplicates(copies) if self._dedup is not None else ()
        for copy, place, duplicate in zip(copies, places, answers, strict=True):
            if duplicate:
                dropped.setdefault(place[0], set()).add(place[1])
                plan.duplicates[copy.site] = plan.duplicates.get(copy.site, 0) + 1
        opened: dict[int, _Opened] = {}
        for sequence, payloads in payloads_of.items():
            if payloads is None:
                opened[sequence] = _CORRUPT
                continue
            skip = dropped.get(sequence, ())
            opened[sequence] = _Opened(
                len(payloads),
                [(index, payload) for index, payload in enumerate(payloads) if index not in skip],
            )
        return opened

    def _add_record(
        self, rollup: Rollup, record: ShardRecord, opened: _Opened, plan: _Plan
    ) -> Position:
        """Roll up one Kinesis record's counted user records; the position of its last one."""
        for index, payload in opened.counted:
            try:
                rollup.add(payload, record.arrived_at)
            except UnrollableEventError as error:
                reason = (
                    QuarantineReason.LATE_EVENT
                    if isinstance(error, LateEventError)
                    else QuarantineReason.INVALID_EVENT
                )
                plan.quarantined.append(
                    QuarantinedRecord(record.sequence_number, index, reason, error.reason, payload)
                )
        plan.events_in += opened.total
        return Position(record.sequence, max(opened.total - 1, 0))

    def _count_duplicates(self, by_site: dict[str, int]) -> None:
        for site, count in by_site.items():
            with single_metric(
                name=MetricName.DUPLICATES_DROPPED,
                unit=MetricUnit.Count,
                value=count,
                namespace=self._metrics.namespace,
            ) as metric:
                metric.add_dimension(name="site", value=site)

    def _store_quarantine(self, batch: KinesisBatch, records: list[QuarantinedRecord]) -> None:
        key = self._quarantine.write(batch.shard_id, records)
        counts: dict[QuarantineReason, int] = {}
        for record in records:
            counts[record.reason] = counts.get(record.reason, 0) + 1
        for reason, count in counts.items():
            with single_metric(
                name=MetricName.EVENTS_QUARANTINED,
                unit=MetricUnit.Count,
                value=count,
                namespace=self._metrics.namespace,
            ) as metric:
                metric.add_dimension(name="reason", value=reason.value)
        logger.info("Quarantined bad records", extra={"key": key, "records": len(records)})

    def _deliver(self, shard_id: str, delivery: _Delivery, deadline: Deadline) -> None:
        rollup = delivery.rollup
        if len(rollup) == 0:
            return
        task_id = delivery_task_id(self._datasource, shard_id, delivery.coverage)
        on_time, late = rollup.split_late()
        tasks = []
        if len(on_time):
            tasks.append(self._task(task_id, on_time, whole_days=False))
        if len(late):
            tasks.append(self._task(late_task_id(task_id), late, whole_days=True))
        entry = OutboxEntry(
            shard_id=shard_id,
            coverage=delivery.coverage,
            tasks=tuple(tasks),
            events=rollup.event_count,
            created_at=time.time(),
        )
        self._outbox.record(entry)
        self._submit(entry, deadline)
        counters = rollup.counters
        self._metrics.add_metric(
            name=MetricName.ROLLUP_ROWS, unit=MetricUnit.Count, value=len(rollup)
        )
        self._metrics.add_metric(
            name=MetricName.EVENTS_LATE,
            unit=MetricUnit.Count,
            value=counters.get("late_accepted", 0),
        )
        self._metrics.add_metric(
            name=MetricName.EVENTS_CLAMPED,
            unit=MetricUnit.Count,
            value=counters.get("future_clamped", 0),
        )

    def _task(self, task_id: str, rollup: Rollup, *, whole_days: bool) -> DeliveryTask:
        task = build_index_task(
            task_id=task_id,
            datasource=self._datasource,
            rows_ndjson=rollup.to_ndjson(),
            intervals=rollup.intervals(MINUTES_PER_DAY if whole_days else 1),
            dimensions=self._schema.druid_dimensions(),
            metrics_spec=self._schema.druid_metrics_spec(),
            segment_granularity=LATE_SEGMENT_GRANULARITY if whole_days else SEGMENT_GRANULARITY,
        )
        return DeliveryTask(original_task_id=task_id, task_id=task_id, task=task)

    def _submit(self, entry: OutboxEntry, deadline: Deadline) -> None:
        for task in entry.tasks:
            self._submit_task(task, deadline)

    def _submit_task(self, task: DeliveryTask, deadline: Deadline) -> None:
        """Hand the task to Druid; "already exists" means an earlier try got through."""
        started = time.monotonic()
        outcome = self._druid.submit_task(task.task, deadline)
        self._metrics.add_metric(
            name=MetricName.DRUID_LATENCY,
            unit=MetricUnit.Milliseconds,
            value=(time.monotonic() - started) * 1000,
        )
        if outcome is SubmitOutcome.SUBMITTED:
            self._metrics.add_metric(
                name=MetricName.DRUID_TASKS_PUSHED, unit=MetricUnit.Count, value=1
            )
            return
        self._metrics.add_metric(
            name=MetricName.DRUID_DUPLICATES_SEEN, unit=MetricUnit.Count, value=1
        )
        status = self._druid.task_status(task.task_id, deadline)
        if status is not None and status.state is TaskState.FAILED:
            logger.warning(
                "Delivered task failed in Druid; the reconciler settles it",
                extra={"task_id": task.task_id, "druid_error": status.error},
            )
        else:
            logger.info(
                "Task already in Druid",
                extra={"task_id": task.task_id, "state": status and status.state.value},
            )

    def _new_rollup(self, arms: ExperimentArms | None) -> Rollup:
        return Rollup(self._schema, self._policy, arms)


class _StateSizeWatch:
    """Says when a rollup's state reaches the limit, measuring it only when it could have.

    Measuring costs an encoding of the whole state, so it runs only once the events added since
    the last measure, at twice the growth per event seen over the last interval (but never
    less than a floor), could have used up half the remaining headroom. Measures are cheap
    and rare while the state is small and close in near the limit; Lambda's 1 MB cap leaves
    400 KB for a misjudged rate.
    """

    FIRST_GUESS_BYTES_PER_EVENT = 1024.0
    FLOOR_BYTES_PER_EVENT = 64.0

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._bytes_per_event = self.FIRST_GUESS_BYTES_PER_EVENT
        self._events = 0

    def reached(self, rollup: Rollup, added_events: int) -> bool:
        self._events += added_events
        if 2 * self._events * self._bytes_per_event < (self._limit - self._size) / 2:
            return False
        size = rollup.state_size()
        if self._events:
            self._bytes_per_event = max(
                (size - self._size) / self._events, self.FLOOR_BYTES_PER_EVENT
            )
        self._size, self._events = size, 0
        return size >= self._limit


def _incoming_state(batch: KinesisBatch) -> tuple[WindowState, QuarantinedRecord | None]:
    """The window state Lambda handed over; an envelope this code cannot read is quarantined
    whole (like a rollup state it cannot read), so the shard goes on instead of failing on
    every retry."""
    if batch.window is None:
        return WindowState(), None
    try:
        return WindowState.from_json(batch.state), None
    except UnreadableWindowStateError as error:
        where = (
            batch.records[0].sequence_number if batch.records else f"window-{batch.window.start}"
        )
        return WindowState(), QuarantinedRecord(
            where,
            None,
            QuarantineReason.UNREADABLE_WINDOW_STATE,
            f"window state envelope cannot be read: {error}",
            msgspec.json.encode(batch.state),
        )


def _span(batch: KinesisBatch, incoming: WindowState) -> Coverage | None:
    """From the earliest to the latest record the invocation touches, state included."""
    sequences = [record.sequence for record in batch.records]
    if incoming.coverage is not None:
        sequences += [incoming.coverage.first.sequence, incoming.coverage.last.sequence]
    if not sequences:
        return None
    return Coverage(Position(min(sequences)), Position(max(sequences)))
