"""The per-event hot path: decode, check, enrich and serialize each event of a payload.

Each event stands alone: whatever is wrong with one becomes a Rejection naming its index, and the
events around it go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from riptide.ingest.body import decode_event
from riptide.ingest.enrichment import Enricher
from riptide.ingest.exceptions import RejectedEventError
from riptide.ingest.validation import check_event, message_id_of

KeyedPayload = tuple[str | None, bytes]
"""(ordering key or None, the enriched event as compact JSON): what the aggregator takes."""

_encode = msgspec.json.Encoder().encode

SERVER_FIELDS_ALLOWANCE_BYTES = 1024
"""Room for what enrichment adds (receivedAt, timestamp, messageId, context.ip, site) above the
per-event limit; anything more came from the batch context, copied into every event."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One event left out, and why; `code` is the metric dimension, the rest goes to the client."""

    index: int
    message_id: str | None
    field: str
    reason: str
    code: str

    def answer(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "messageId": self.message_id,
            "field": self.field,
            "reason": self.reason,
        }


def prepare_events(
    items: list[Any],
    enricher: Enricher,
    *,
    max_event_bytes: int,
    endpoint_type: str | None = None,
    ordered: bool = False,
) -> tuple[list[KeyedPayload], list[Rejection]]:
    """User records for the accepted events and a Rejection for each other one, in input order.

    With `ordered`, each record carries its ordering key: userId, else anonymousId.
    """
    records: list[KeyedPayload] = []
    rejections: list[Rejection] = []
    enrich = enricher.enrich
    for index, item in enumerate(items):
        event = None
        try:
            event = decode_event(item, max_event_bytes)
            enrich(event, check_event(event, endpoint_type))
            payload = _serialize(event)
            if len(payload) > max_event_bytes + SERVER_FIELDS_ALLOWANCE_BYTES:
                raise RejectedEventError(
                    "too_large",
                    "context",
                    f"with the batch context merged in, the event is {len(payload):,} bytes; "
                    f"the limit is {max_event_bytes:,}",
                )
        except RejectedEventError as error:
            message_id = error.message_id if event is None else message_id_of(event)
            rejections.append(Rejection(index, message_id, error.field, error.reason, error.code))
            continue
        key = (event.get("userId") or event.get("anonymousId")) if ordered else None
        records.append((key, payload))
    return records, rejections


def _serialize(event: dict[str, Any]) -> bytes:
    try:
        return _encode(event)
    except (ValueError, TypeError, RecursionError) as error:
        raise RejectedEventError(
            "unencodable", "", f"the event cannot be written as JSON: {error}"
        ) from None
