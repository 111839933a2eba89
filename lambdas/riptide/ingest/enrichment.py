"""What the server adds to each accepted event: when it arrived, when it happened, where from.

- receivedAt: the server's clock when the request arrived.
- timestamp: corrected for the client's clock skew, as Segment and RudderStack do:
  receivedAt - (sentAt - originalTimestamp), with the event's sentAt else the batch's, and its
  originalTimestamp else its timestamp. Without sentAt the client's timestamp (else its
  originalTimestamp) is kept; with no client time at all, timestamp = receivedAt.
- context: the batch-level context merged under the event's own (the event's keys win), and
  context.ip from the connection when the client sent none. With truncate_ip the stored address
  loses its last IPv4 octet or last 80 bits of IPv6, and a client value that is not an IP
  address is replaced by the connection's (truncated), so no full address is ever kept.
- messageId: a random UUID4 when the client sent none, so downstream can always deduplicate.
- site: the site id of the write key, overwriting any value the client sent.
Every time the server writes is ISO-8601 UTC with milliseconds and a Z.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from riptide.ingest.exceptions import RejectedEventError
from riptide.ingest.validation import ClientTimes

_IPV4_KEEP = (2**32 - 1) ^ 0xFF
_IPV6_KEEP = (2**128 - 1) ^ (2**80 - 1)


def iso_utc(moment: datetime) -> str:
    """2026-11-27T16:35:46.123Z"""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class _UtcText:
    """iso_utc for UTC datetimes, faster: the text up to the second is cached per second.

    One lives as long as one request, whose events cluster within seconds of each other, so most
    lookups hit and the cache never holds more entries than the request has events.
    """

    def __init__(self) -> None:
        self._by_second: dict[int, str] = {}

    def __call__(self, moment: datetime) -> str:
        second = moment.toordinal() * 86_400 + moment.hour * 3_600 + moment.minute * 60
        second += moment.second
        prefix = self._by_second.get(second)
        if prefix is None:
            prefix = moment.replace(microsecond=0, tzinfo=None).isoformat()
            self._by_second[second] = prefix
        return f"{prefix}.{moment.microsecond // 1000:03d}Z"


@lru_cache(maxsize=4096)
def anonymize_ip(address: str) -> str | None:
    """The address with its host part zeroed (IPv4 /24, IPv6 /48); None if it is no address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version == 4:
        return str(ipaddress.IPv4Address(int(ip) & _IPV4_KEEP))
    return str(ipaddress.IPv6Address(int(ip) & _IPV6_KEEP))


class Enricher:
    """Adds the server-side fields to each event of one request."""

    def __init__(
        self,
        *,
        site: str,
        received_at: datetime,
        source_ip: str | None,
        truncate_ip: bool,
        batch_context: dict[str, Any] | None = None,
        batch_sent_at: datetime | None = None,
    ) -> None:
        self._site = site
        self._received_at = received_at.astimezone(UTC)
        self._utc_text = _UtcText()
        self._received_at_text = iso_utc(received_at)
        self._truncate = truncate_ip
        if truncate_ip and source_ip:
            source_ip = anonymize_ip(source_ip)
        self._source_ip = source_ip
        self._batch_context = batch_context or None
        self._batch_sent_at = batch_sent_at

    def enrich(self, event: dict[str, Any], times: ClientTimes) -> None:
        """Add timestamp, messageId, receivedAt, context and site to `event` in place."""
        event["timestamp"] = self._timestamp(times)
        if event.get("messageId") is None:
            event["messageId"] = str(uuid.uuid4())
        event["receivedAt"] = self._received_at_text
        event["context"] = self._context(event.get("context"))
        event["site"] = self._site

    def _timestamp(self, times: ClientTimes) -> str:
        timestamp, original_timestamp, sent_at = times
        sent_at = sent_at or self._batch_sent_at
        client_time = original_timestamp or timestamp
        try:
            if sent_at is not None and client_time is not None:
                return self._utc_text(self._received_at - (sent_at - client_time))
            if sent_at is None and client_time is not None:
                return iso_utc(timestamp or client_time)
        except OverflowError:
            raise RejectedEventError(
                "bad_timestamp", "timestamp", "the corrected timestamp falls outside years 1-9999"
            ) from None
        return self._received_at_text

    def _context(self, own: dict[str, Any] | None) -> dict[str, Any]:
        batch = self._batch_context
        if batch is not None:
            context = {**batch, **own} if own else dict(batch)
        else:
            context = own if own is not None else {}
        ip = context.get("ip")
        if self._truncate:
            ip = (anonymize_ip(ip) if isinstance(ip, str) else None) or self._source_ip
        elif not ip:
            ip = self._source_ip
        if ip is None:
            context.pop("ip", None)
        else:
            context["ip"] = ip
        return context
