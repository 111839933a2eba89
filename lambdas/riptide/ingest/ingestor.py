"""One Tracking API request, from its body to events in Kinesis.

The order of the steps is deliberate: a write key in the Authorization header is checked before
the body is read, the body is bounded before it is inflated or parsed, every event is checked on
its own, and `ingest` returns only once Kinesis holds every accepted event. It raises an
IngestError for anything that stops the request as a whole; the front turns both outcomes into
an answer (riptide.ingest.service).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from riptide.ingest.body import Payload, parse_batch, parse_single, read_body
from riptide.ingest.config import IngestSettings, PartitionStrategy
from riptide.ingest.enrichment import Enricher
from riptide.ingest.events import KeyedPayload, Rejection, prepare_events
from riptide.ingest.exceptions import (
    BodyTooLargeError,
    MalformedBodyError,
    RejectedEventError,
    UnauthorizedError,
    UnknownWriteKeyError,
)
from riptide.ingest.publisher import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    KinesisPublisher,
    PublishReport,
)
from riptide.ingest.request import IngestRequest
from riptide.ingest.sdk_settings import sdk_settings
from riptide.ingest.telemetry import IngestTelemetry
from riptide.ingest.validation import parse_time
from riptide.ingest.write_keys import WriteKeyRegistry, write_key_from_header
from riptide.kpl import Aggregator, OrderedKeys, SpreadKeys
from riptide.retry import Deadline

logger = Logger(child=True)

API_GATEWAY_TIMEOUT_SECONDS = 30.0
"""API Gateway gives up on an integration after 30 s, whatever the Lambda timeout."""

ANSWER_MARGIN_SECONDS = 1.0
"""Time kept back to build and return the answer after the last PutRecords call."""


def publish_budget_seconds(remaining_seconds: float) -> float:
    """How long PutRecords retries may go on: the call in flight must end before anyone gives up."""
    ends_in = min(remaining_seconds, API_GATEWAY_TIMEOUT_SECONDS)
    return ends_in - ANSWER_MARGIN_SECONDS - CONNECT_TIMEOUT_SECONDS - READ_TIMEOUT_SECONDS


def build_aggregator(settings: IngestSettings) -> Aggregator:
    if settings.partition_strategy == PartitionStrategy.USER:
        return Aggregator(OrderedKeys(buckets=settings.partition_buckets))
    return Aggregator(SpreadKeys())


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request's accepted events as aggregator input, and a Rejection for each other event."""

    user_records: list[KeyedPayload]
    rejections: list[Rejection]


class EventWriter:
    """Writes events to one stream: enriched, aggregated and published as the producer does.

    The Ingestor takes clients' requests with it; the decider writes its own events (the
    exposure log) with it, so both go through one codec, one enrichment and one publisher.
    """

    def __init__(
        self,
        settings: IngestSettings,
        publisher: KinesisPublisher,
        telemetry: IngestTelemetry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._publisher = publisher
        self._telemetry = telemetry
        self._clock = clock
        self._monotonic = monotonic
        self._aggregator = build_aggregator(settings)
        self._ordered = settings.partition_strategy == PartitionStrategy.USER

    def publish(self, user_records: list[KeyedPayload], deadline: Deadline) -> None:
        """Aggregate and write `user_records`; return once Kinesis holds every one of them.

        Raises PublishError when Kinesis did not take them all before `deadline`.
        """
        if not user_records:
            return
        report = PublishReport()
        try:
            self._publisher.publish(self._aggregator.aggregate(user_records), deadline, report)
        finally:
            self._telemetry.published(report)
        self._report_lost_answers(report)

    def deadline(self, remaining_seconds: float) -> Deadline:
        """The publish budget of a request whose caller gives up in `remaining_seconds`."""
        return Deadline(publish_budget_seconds(remaining_seconds), self._monotonic)

    def prepare_authenticated(self, site: str, events: list[dict[str, Any]]) -> PreparedRequest:
        """Events the service writes itself for `site`, whose caller is already authenticated:
        checked, enriched and serialized exactly as a client's events are (site, timestamp,
        receivedAt), with no batch context and no client address."""
        enricher = Enricher(
            site=site,
            received_at=self._clock(),
            source_ip=None,
            truncate_ip=self._settings.truncate_ip,
        )
        user_records, rejections = prepare_events(
            events,
            enricher,
            max_event_bytes=self._settings.max_event_bytes,
            ordered=self._ordered,
        )
        return PreparedRequest(user_records, rejections)

    def _report_lost_answers(self, report: PublishReport) -> None:
        """Events sent again after a PutRecords answer was lost may be in Kinesis twice."""
        duplicated = report.events_sent_again_after_lost_answer
        if duplicated:
            self._telemetry.possibly_duplicated(duplicated)
            logger.warning(
                "a PutRecords answer was lost and its events were sent again; they may be in "
                "the stream twice",
                extra={"events_possibly_duplicated": duplicated},
            )


class Ingestor(EventWriter):
    """Takes Tracking API requests for one stream; build once per Lambda container."""

    def __init__(
        self,
        settings: IngestSettings,
        write_keys: WriteKeyRegistry,
        publisher: KinesisPublisher,
        telemetry: IngestTelemetry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, publisher, telemetry, clock, monotonic)
        self._write_keys = write_keys

    def sdk_settings(self, write_key: str, host: str, protocol: str) -> dict[str, Any]:
        """The SDK settings of `write_key`, sending events to protocol://host/v1.

        Raises UnknownWriteKeyError for a key that maps to no site.
        """
        try:
            self._write_keys.site_for(write_key)
        except UnauthorizedError:
            raise UnknownWriteKeyError("no such write key") from None
        return sdk_settings(write_key, host, protocol)

    def ingest(
        self, request: IngestRequest, remaining_seconds: float
    ) -> tuple[int, list[Rejection]]:
        """The number of events now in Kinesis and a Rejection for each event left out.

        Raises IngestError when the request cannot be taken as a whole.
        """
        deadline = self.deadline(remaining_seconds)
        prepared = self.prepare(request)
        self.publish(prepared.user_records, deadline)
        return len(prepared.user_records), prepared.rejections

    def prepare(self, request: IngestRequest) -> PreparedRequest:
        """Everything before aggregation: authenticate, read, parse, check and enrich.

        Raises IngestError when the request cannot be taken as a whole.
        """
        settings = self._settings
        received_at = self._clock()
        header_key = write_key_from_header(request.authorization)
        site = self._write_keys.site_for(header_key) if header_key is not None else None
        body_limit = settings.max_batch_bytes if request.is_batch else settings.max_event_bytes
        data = read_body(
            request.body, request.is_base64_encoded, request.content_encoding, body_limit
        )
        if request.is_batch:
            payload = parse_batch(data)
        else:
            payload = parse_single(data, settings.max_event_bytes)
        if site is None:
            site = self._write_keys.site_for(payload.write_key)
        self._check_count(payload)
        enricher = Enricher(
            site=site,
            received_at=received_at,
            source_ip=request.source_ip,
            truncate_ip=settings.truncate_ip,
            batch_context=_batch_context(payload),
            batch_sent_at=_batch_sent_at(payload),
        )
        user_records, rejections = prepare_events(
            payload.events,
            enricher,
            max_event_bytes=settings.max_event_bytes,
            endpoint_type=None if request.is_batch else request.endpoint,
            ordered=self._ordered,
        )
        return PreparedRequest(user_records, rejections)

    def _check_count(self, payload: Payload) -> None:
        count = len(payload.events)
        if count == 0:
            raise MalformedBodyError('"batch" is empty; send at least one event')
        limit = self._settings.max_batch_events
        if count > limit:
            raise BodyTooLargeError(f"the batch has {count:,} events; the limit is {limit:,}")


def _batch_context(payload: Payload) -> dict[str, Any] | None:
    context = payload.context
    if context is None or isinstance(context, dict):
        return context
    raise MalformedBodyError("context must be an object")


def _batch_sent_at(payload: Payload) -> datetime | None:
    try:
        return parse_time(payload.sent_at, "sentAt")
    except RejectedEventError as error:
        raise MalformedBodyError(f"sentAt: {error.reason}") from None
