"""The decider's wiring: read keys, the profile store, rules and trends from DECISIONS_URL, and
the event writer its exposures go through (the function's own, or the collector's)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics

from riptide.decisions.decider import Decider
from riptide.decisions.documents import open_documents
from riptide.decisions.rulebook import RuleBook
from riptide.decisions.service import DecideService
from riptide.decisions.settings import DecideSettings
from riptide.decisions.trends import TrendsCache
from riptide.ingest.config import WRITE_KEYS_MAX_AGE_SECONDS
from riptide.ingest.ingestor import EventWriter
from riptide.ingest.publisher import KinesisPublisher, kinesis_client
from riptide.ingest.service import secrets_manager_client
from riptide.ingest.telemetry import IngestTelemetry
from riptide.ingest.write_keys import WriteKeyRegistry
from riptide.profiles.composition import compose_profile_store


def documents_client() -> Any:
    """S3 for rules and trends, read on the request path: short timeouts, few retries, so a
    slow S3 delays a decision by a second or two at most (the last good rules keep serving)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"}
    )
    return boto3.client("s3", config=config)


def compose_decider(settings: DecideSettings, writer: EventWriter, logger: Logger) -> Decider:
    documents = open_documents(settings.decisions_url, documents_client)
    read_keys = WriteKeyRegistry(
        settings.read_keys_secret_id,
        secrets_manager_client,
        WRITE_KEYS_MAX_AGE_SECONDS,
        kind="read",
    )
    return Decider(
        read_keys,
        compose_profile_store(settings.profiles),
        RuleBook(documents, logger=logger),
        TrendsCache(documents, logger),
        writer,
    )


def compose_decide_service(metrics: Metrics, logger: Logger) -> DecideService:
    """The function's decide API: settings read and clients made on the first request."""

    def build() -> Decider:
        settings = DecideSettings.from_env()
        publisher = KinesisPublisher(settings.ingest.stream_name, kinesis_client)
        writer = EventWriter(settings.ingest, publisher, IngestTelemetry(metrics))
        return compose_decider(settings, writer, logger)

    return DecideService(build, logger)
