"""The producer's composition root, and the one place where a request's outcome becomes an answer.

`IngestService.handle` builds the Ingestor on the first request (settings, write keys, Kinesis),
runs it, and answers: 200 or 400 with the per-event rejections, or the answer of whatever error
stopped the request, unusable settings included. botocore (and X-Ray's patch of it) is the
largest part of a cold start, so a container that never gets a request never pays for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from riptide.config import ConfigurationError
from riptide.ingest.answers import (
    Answer,
    code_and_message,
    error_answer,
    events_answer,
    settings_answer,
    status_for,
)
from riptide.ingest.config import IngestSettings
from riptide.ingest.events import Rejection
from riptide.ingest.exceptions import IngestError, PublishError
from riptide.ingest.ingestor import Ingestor
from riptide.ingest.publisher import KinesisPublisher, kinesis_client
from riptide.ingest.request import IngestRequest
from riptide.ingest.telemetry import IngestTelemetry
from riptide.ingest.write_keys import WriteKeyRegistry

LOGGED_REJECTIONS = 20
"""Rejections logged per request; the answer lists them all."""


class IngestService:
    """Answers Tracking API requests with an Ingestor built on first use by `build`."""

    def __init__(
        self, build: Callable[[], Ingestor], telemetry: IngestTelemetry, logger: Logger
    ) -> None:
        self._build = build
        self._ingestor: Ingestor | None = None
        self._telemetry = telemetry
        self._logger = logger

    @classmethod
    def from_env(
        cls,
        metrics: Metrics,
        logger: Logger,
        tracer: Tracer,
        environ: Mapping[str, str] | None = None,
    ) -> IngestService:
        """Wired to real AWS clients, with the settings of the environment variables."""
        telemetry = IngestTelemetry(metrics)

        def build() -> Ingestor:
            settings = IngestSettings.from_env(os.environ if environ is None else environ)
            tracer.patch(["botocore"])  # AWS calls show in X-Ray as subsegments
            return Ingestor(
                settings,
                WriteKeyRegistry(
                    settings.write_keys_secret_id,
                    secrets_manager_client,
                    settings.write_keys_max_age_seconds,
                ),
                KinesisPublisher(settings.stream_name, kinesis_client),
                telemetry,
            )

        return cls(build, telemetry, logger)

    def handle(self, request: IngestRequest, remaining_seconds: float) -> Answer:
        """The answer to one request; never raises for anything the client sent."""
        return self._answer(lambda ingestor: self._take(ingestor, request, remaining_seconds))

    def sdk_settings(self, write_key: str, host: str, protocol: str) -> Answer:
        """The SDK settings of `write_key`, pointing at protocol://host/v1; 404 when unknown."""
        return self._answer(
            lambda ingestor: settings_answer(ingestor.sdk_settings(write_key, host, protocol))
        )

    def _answer(self, work: Callable[[Ingestor], Answer]) -> Answer:
        """`work`'s answer, or the answer of the error that stopped it."""
        try:
            if self._ingestor is None:
                self._ingestor = self._build()
            return work(self._ingestor)
        except (IngestError, ConfigurationError) as error:
            return self.answer_error(error)

    def _take(self, ingestor: Ingestor, request: IngestRequest, remaining_seconds: float) -> Answer:
        accepted, rejections = ingestor.ingest(request, remaining_seconds)
        return self.answer_events(accepted, rejections)

    def answer_events(self, accepted: int, rejections: list[Rejection]) -> Answer:
        """The answer once `accepted` events are in Kinesis, counted and logged."""
        if rejections:
            self._telemetry.rejected(rejections)
            self._logger.info(
                "events rejected",
                extra={
                    "accepted": accepted,
                    "rejected": [r.answer() for r in rejections[:LOGGED_REJECTIONS]],
                },
            )
        self._telemetry.accepted(accepted)
        return events_answer(accepted, rejections)

    def answer_error(self, error: IngestError | ConfigurationError) -> Answer:
        """The answer to a request stopped by `error`, counted and logged."""
        code, message = code_and_message(error)
        status = status_for(error)
        self._telemetry.request_rejected(code)
        written = error.events_written if isinstance(error, PublishError) else 0
        if written:
            self._telemetry.possibly_duplicated(written)
            self._logger.warning(
                "answered with an error after some events were written; the retry duplicates them",
                extra={"status": status, "events_possibly_duplicated": written},
            )
        log = self._logger.error if status >= 500 else self._logger.info
        log(message, extra={"status": status, "code": code})
        return error_answer(error)


def secrets_manager_client() -> Any:
    import boto3

    return boto3.client("secretsmanager")
