"""The profile consumer's engine: one shard's batch in, profiles updated exactly once.

Records are de-aggregated and read in stream order; the deduplication window drops the copies
of a message that another position claimed first (the same copies the rollup consumer drops);
the rest are grouped per site into chunks of at most `chunk_events` (one atomic script call
each, a bounded time on the server) and all chunks go out in one pipelined round trip. A
chunk's events at or below the site's high-water mark for the shard were applied before and are
skipped, so Lambda's retries, bisected halves and replays of the same records change no profile.

Ordering: within a shard every profile sees its events in stream order. A shopper whose events
land on several shards (partitionStrategy=spread) has them applied in an order no one chose;
the rules are built for that: first/last and the session go by event time, counts, orders and
scores add up the same in any order, the cart goes by the server's receivedAt (an add applied
after the order that followed it is ignored). What order can still change: traits (the identify
applied last wins a key), which session an out-of-order event counts in, and identity joins of
a shared device (an anonymousId follows the user who identified on it last, by stream order).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from riptide.dedup import Copy, DedupWindow
from riptide.kinesis_batch import KinesisBatch, ShardRecord
from riptide.kpl import CorruptRecordError, deaggregate
from riptide.profiles.events import (
    ProfileEvent,
    UnusableEventError,
    profile_event,
    stream_position,
)
from riptide.profiles.store import Chunk, ChunkResult, ProfileStore
from riptide.store import StoreUnavailableError

CHUNK_EVENTS = 500
"""Events per script call: keeps one call's time on the server in the low milliseconds."""

logger = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    events: int = 0
    applied: int = 0
    replayed: int = 0
    unusable: int = 0
    duplicates: int = 0
    profiles_written: int = 0
    store_commands: int = 0
    store_calls: int = 0
    freshness_ms: list[int] = field(default_factory=list)
    """Event accepted (receivedAt) to visible in its profile, for each event applied."""
    failed_from: str | None = None
    """The sequence number Lambda must retry from, when the store failed."""

    def response(self) -> dict[str, list[dict[str, str]]]:
        failures = [] if self.failed_from is None else [{"itemIdentifier": self.failed_from}]
        return {"batchItemFailures": failures}


class ProfileConsumer:
    def __init__(
        self,
        store: ProfileStore,
        dedup: DedupWindow,
        chunk_events: int = CHUNK_EVENTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._dedup = dedup
        self._chunk_events = chunk_events
        self._clock = clock
        self.observers: list[Callable[[BatchOutcome], None]] = []
        """Told each batch's outcome (e.g. the local pipeline gathering freshness figures)."""

    def consume(self, batch: KinesisBatch) -> BatchOutcome:
        outcome = BatchOutcome()
        try:
            chunks = list(self.chunks(batch, outcome))
            if chunks:
                self._apply(chunks, outcome)
        except StoreUnavailableError as error:
            logger.warning("profile store failed; the batch will be retried: %s", error)
            outcome.failed_from = batch.records[0].sequence_number
        for observer in self.observers:
            observer(outcome)
        return outcome

    def _apply(self, chunks: list[Chunk], outcome: BatchOutcome) -> None:
        results = self._store.apply(chunks)
        visible_ms = int(self._clock() * 1000)
        for chunk, result in zip(chunks, results, strict=True):
            self._count(outcome, result)
            if result.applied:
                outcome.freshness_ms += [
                    visible_ms - event.received_ms for event in chunk.events[-result.applied :]
                ]

    def chunks(self, batch: KinesisBatch, outcome: BatchOutcome) -> Iterator[Chunk]:
        """The batch's usable events that count, as chunks per site, each in stream order.

        Raises StoreUnavailableError when the deduplication window cannot answer.
        """
        by_site: dict[str, list[ProfileEvent]] = {}
        for event in self._counted(batch, outcome):
            pending = by_site.setdefault(event.site, [])
            pending.append(event)
            if len(pending) == self._chunk_events:
                yield Chunk(event.site, batch.shard_id, pending)
                by_site[event.site] = []
        for site, pending in by_site.items():
            if pending:
                yield Chunk(site, batch.shard_id, pending)

    def _counted(self, batch: KinesisBatch, outcome: BatchOutcome) -> list[ProfileEvent]:
        """The usable events minus the copies the deduplication window drops, in one round trip."""
        events: list[ProfileEvent] = []
        copies: list[Copy] = []
        asked: list[int] = []
        for event, record, sub_sequence in self._events(batch, outcome):
            if event.message_id is not None:
                copies.append(
                    Copy(
                        event.site,
                        event.message_id,
                        batch.shard_id,
                        record.sequence_number,
                        sub_sequence,
                        record.arrived_at,
                    )
                )
                asked.append(len(events))
            events.append(event)
        dropped = {
            index
            for index, duplicate in zip(asked, self._dedup.duplicates(copies), strict=True)
            if duplicate
        }
        outcome.duplicates += len(dropped)
        return [event for index, event in enumerate(events) if index not in dropped]

    @staticmethod
    def _events(
        batch: KinesisBatch, outcome: BatchOutcome
    ) -> Iterator[tuple[ProfileEvent, ShardRecord, int]]:
        for record in batch.records:
            try:
                payloads = deaggregate(record.data)
            except CorruptRecordError as error:
                logger.error(
                    "skipped a corrupt Kinesis record",
                    extra={"sequenceNumber": record.sequence_number, "reason": str(error)},
                )
                outcome.unusable += 1
                continue
            for sub_sequence, payload in enumerate(payloads):
                outcome.events += 1
                position = stream_position(record.sequence_number, sub_sequence)
                try:
                    yield profile_event(payload, position), record, sub_sequence
                except UnusableEventError as error:
                    logger.warning(
                        "skipped an event no profile can take",
                        extra={"position": position, "reason": str(error)},
                    )
                    outcome.unusable += 1

    @staticmethod
    def _count(outcome: BatchOutcome, result: ChunkResult) -> None:
        outcome.applied += result.applied
        outcome.replayed += result.replayed
        outcome.profiles_written += result.profiles_written
        outcome.store_commands += result.store_commands
        outcome.store_calls += 1
