"""Group commit: the events of concurrent requests share Kinesis records and PutRecords calls.

A request hands its prepared events to `commit` and waits. The events waiting are flushed
together when they fill a PutRecords call or when the first of them has lingered long enough:
they are aggregated with the same codec and key strategy as the Lambda producer, written by the
same KinesisPublisher (bounded retries within a budget), and each request learns the fate of
exactly the records that hold its events. A request whose records are all in Kinesis returns; any
other gets the PublishError its records earned, so only the requests with events in a failed
record are answered with an error.

Memory is bounded: past `max_waiting_bytes` of events lingering or in flight, `commit` refuses
at once with BusyError. Aggregation and PutRecords run on worker threads (boto3 is blocking),
so the event loop keeps taking requests while a flush is out.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from riptide.collector.settings import PUBLISHERS, CollectorSettings
from riptide.ingest.events import KeyedPayload
from riptide.ingest.exceptions import (
    BusyError,
    PublishRefusedError,
    PublishTimeoutError,
)
from riptide.ingest.publisher import THROTTLING_CODES, KinesisPublisher, PublishReport
from riptide.ingest.telemetry import IngestTelemetry
from riptide.kpl import Aggregator, KinesisRecord
from riptide.retry import Deadline


@dataclass(slots=True)
class _Waiter:
    """One request's events and the future its handler awaits."""

    user_records: list[KeyedPayload]
    size: int
    done: asyncio.Future[None]


@dataclass(frozen=True, slots=True)
class _Flushed:
    """What one flush did: each record with its input positions, and why each failed one did."""

    packed: list[tuple[KinesisRecord, Sequence[int]]]
    failures: dict[int, str]
    """Error code by id() of each record Kinesis did not take."""
    report: PublishReport


class GroupCommitter:
    """Commits the events of many requests together; one per process, used from its event loop."""

    def __init__(
        self,
        aggregator: Aggregator,
        publisher: KinesisPublisher,
        settings: CollectorSettings,
        telemetry: IngestTelemetry,
    ) -> None:
        self._aggregator = aggregator
        self._publisher = publisher
        self._settings = settings
        self._telemetry = telemetry
        self._executor = ThreadPoolExecutor(PUBLISHERS, thread_name_prefix="put-records")
        self._pending: list[_Waiter] = []
        self._pending_bytes = 0
        self._waiting_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def waiting_bytes(self) -> int:
        """Bytes of events lingering or in flight."""
        return self._waiting_bytes

    async def commit(self, user_records: list[KeyedPayload]) -> None:
        """Return once Kinesis holds every one of these events.

        Raises BusyError (nothing taken), or the PublishError of this request's failed records.
        """
        size = sum(len(payload) for _, payload in user_records)
        if self._closing:
            raise BusyError("the server is shutting down; send the events again")
        if self._waiting_bytes + size > self._settings.max_waiting_bytes:
            raise BusyError(
                f"{self._waiting_bytes:,} bytes of events are already waiting for Kinesis; "
                "send the events again shortly"
            )
        loop = asyncio.get_running_loop()
        waiter = _Waiter(user_records, size, loop.create_future())
        self._pending.append(waiter)
        self._pending_bytes += size
        self._waiting_bytes += size
        if self._pending_bytes >= self._settings.flush_bytes:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._settings.linger_seconds, self._flush)
        await asyncio.shield(waiter.done)

    async def close(self) -> None:
        """Refuse new events, flush what is waiting and return once every flush has ended."""
        self._closing = True
        if self._pending:
            self._flush()
        while self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
        self._executor.shutdown(wait=True)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        waiters, self._pending, self._pending_bytes = self._pending, [], 0
        task = asyncio.get_running_loop().create_task(self._publish(waiters))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _publish(self, waiters: list[_Waiter]) -> None:
        user_records: list[KeyedPayload] = []
        owners: list[int] = []
        for owner, waiter in enumerate(waiters):
            user_records += waiter.user_records
            owners += [owner] * len(waiter.user_records)
        loop = asyncio.get_running_loop()
        try:
            flushed = await loop.run_in_executor(self._executor, self._write, user_records)
        except PublishRefusedError as refused:
            # Which records were written before the refusal is unknown: any event may be in.
            for waiter in waiters:
                count = len(waiter.user_records)
                _fail(waiter, PublishRefusedError(refused.message, events_written=count))
            return
        except BaseException as error:
            for waiter in waiters:
                _fail(waiter, error)
            raise
        finally:
            self._waiting_bytes -= sum(waiter.size for waiter in waiters)
        self._telemetry.published(flushed.report)
        self._settle(waiters, owners, flushed)

    def _write(self, user_records: list[KeyedPayload]) -> _Flushed:
        """On a worker thread: aggregate and put, retrying failed records within the budget."""
        packed = self._aggregator.pack(user_records)
        report = PublishReport()
        deadline = Deadline(self._settings.publish_budget_seconds)
        unwritten = self._publisher.write([record for record, _ in packed], deadline, report)
        return _Flushed(packed, {id(record): code for record, code in unwritten}, report)

    @staticmethod
    def _settle(waiters: list[_Waiter], owners: list[int], flushed: _Flushed) -> None:
        """Tell each request the fate of its own records."""
        written: Counter[int] = Counter()
        codes: defaultdict[int, set[str]] = defaultdict(set)
        failed_records: Counter[int] = Counter()
        for record, positions in flushed.packed:
            code = flushed.failures.get(id(record))
            if code is None:
                written.update(owners[position] for position in positions)
                continue
            for owner in {owners[position] for position in positions}:
                codes[owner].add(code)
                failed_records[owner] += 1
        for owner, waiter in enumerate(waiters):
            if owner not in codes:
                if not waiter.done.done():
                    waiter.done.set_result(None)
                continue
            owner_codes = codes[owner]
            _fail(
                waiter,
                PublishTimeoutError(
                    f"Kinesis did not take {failed_records[owner]} of the records holding this "
                    f"request's events in time ({', '.join(sorted(owner_codes))}); "
                    "retry the request",
                    throttled=owner_codes <= THROTTLING_CODES,
                    events_written=written[owner],
                ),
            )


def _fail(waiter: _Waiter, error: BaseException) -> None:
    if not waiter.done.done():
        waiter.done.set_exception(error)
        waiter.done.exception()  # retrieved here, so a waiter gone away logs no warning
