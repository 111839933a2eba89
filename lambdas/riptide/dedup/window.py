"""Which copy of a message counts: the first one seen, within a window, for every consumer.

A shopper's event can enter the stream twice (a client or the producer resends a request part
of which was written). Every consumer asks this window, per event, whether its copy counts. The
first copy any consumer shows the window claims (site, messageId) with its stream position
(shard, sequence number, sub-sequence number); a copy counts if and only if it holds the claim,
so a retried, bisected or replayed batch meets its own claims and counts the same events again,
and the rollup and profile consumers count the same copy.

Time: a claim is kept for `window + retry` after the later of its copy's arrival in the stream
(Kinesis' approximate arrival time) and the moment it was claimed, and a copy arriving a whole
window or more after the claimant counts. Arrival, not the event's receivedAt nor the time of
processing, because arrival is what the event source mapping's maximum record age is measured
from: a duplicate is retried at the latest `retry` after its arrival, so every evaluation of it
meets the claim and the decision never changes between a try and its retry. Processing time
would make a retry after the claim's expiry count a copy its first try dropped; receivedAt is
the client-facing time and not what bounds retries. A record without an arrival time (only
hand-built batches) stands in the processing time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec

from riptide.store import SiteKeys, StoreScript, StoreUnavailableError
from riptide.store.client import StoreError

CHUNK_COPIES = 500
"""Copies per script call: keeps one call's time on the server in the low milliseconds."""
_PACKAGE = "riptide.dedup"


@dataclass(frozen=True, slots=True)
class WindowLength:
    """How long copies of a message are recognised, and how long their records may be retried."""

    window_seconds: int
    retry_seconds: int
    """The event source mappings' maximum record age: a claim outlives its window by this."""


class Copy(NamedTuple):
    """One copy of an event at its place in the stream."""

    site: str
    message_id: str
    shard_id: str
    sequence_number: str
    sub_sequence: int
    arrived_at: float | None

    @property
    def position(self) -> str:
        return f"{self.shard_id} {self.sequence_number} {self.sub_sequence}"


class _Identity(msgspec.Struct, gc=False):
    site: str | None = None
    messageId: str | None = None


_identity = msgspec.json.Decoder(_Identity).decode


def message_identity(payload: bytes) -> tuple[str, str] | None:
    """(site, messageId) of an event, or None when it lacks either (it then always counts).

    Decodes only those two fields; an event too broken to read is left to the consumer's own
    validation, which quarantines or skips it with the reason.
    """
    try:
        event = _identity(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not event.site or not event.messageId:
        return None
    return event.site, event.messageId


class DedupWindow:
    """The window in the store behind `client` (a redis-py client or cluster client)."""

    def __init__(
        self,
        client: Any,
        length: WindowLength,
        *,
        chunk_copies: int = CHUNK_COPIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._length = length
        self._chunk_copies = chunk_copies
        self._clock = clock
        self._claim = StoreScript(client, _PACKAGE, "claim.lua")

    def duplicates(self, copies: Sequence[Copy]) -> list[bool]:
        """For each copy, in order, whether it is a duplicate to drop. One round trip.

        Copies go per site (one cluster slot each) in chunks of at most `chunk_copies`, all
        pipelined (one round trip per cluster node). Raises StoreUnavailableError if the store
        failed: nothing is decided then, and the caller fails its batch to have it retried.
        """
        if not copies:
            return []
        now_ms = int(self._clock() * 1000)
        by_site: dict[str, list[int]] = {}
        for index, copy in enumerate(copies):
            by_site.setdefault(copy.site, []).append(index)
        chunks: list[list[int]] = []
        calls: list[tuple[list[str], list[Any]]] = []
        for site, indexes in by_site.items():
            keys = SiteKeys(site)
            for start in range(0, len(indexes), self._chunk_copies):
                chunk = indexes[start : start + self._chunk_copies]
                args: list[Any] = [
                    now_ms,
                    self._length.window_seconds * 1000,
                    (self._length.window_seconds + self._length.retry_seconds) * 1000,
                ]
                for index in chunk:
                    arrived_at = copies[index].arrived_at
                    args += [
                        copies[index].position,
                        now_ms if arrived_at is None else int(arrived_at * 1000),
                    ]
                chunks.append(chunk)
                calls.append(([keys.message(copies[index].message_id) for index in chunk], args))
        try:
            answers = self._claim.run_pipelined(self._client, calls)
        except StoreError as error:
            raise StoreUnavailableError(f"the deduplication window failed: {error}") from error
        duplicate = [False] * len(copies)
        for chunk, counts in zip(chunks, answers, strict=True):
            for index, counts_it in zip(chunk, counts, strict=True):
                duplicate[index] = not counts_it
        return duplicate
