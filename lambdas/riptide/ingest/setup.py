"""Wire an Ingestor to real AWS clients from the environment; tests build theirs by hand.

This runs on the first request, not at import: botocore (and X-Ray's patch of it) is the largest
part of a cold start, and a container that never gets a request should not pay for it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from riptide.ingest.config import IngestSettings
from riptide.ingest.ingestor import Ingestor
from riptide.ingest.publisher import KinesisPublisher, kinesis_client
from riptide.ingest.telemetry import IngestTelemetry
from riptide.ingest.write_keys import WriteKeyRegistry


def secrets_manager_client() -> Any:
    import boto3

    return boto3.client("secretsmanager")


def ingestor_from_env(metrics: Metrics, logger: Logger, tracer: Tracer) -> Ingestor:
    """An Ingestor configured by the environment variables named in riptide.env.

    AWS calls show in X-Ray as subsegments: botocore is patched here, before the first client.
    """
    settings = IngestSettings.from_env()
    tracer.patch(["botocore"])
    return Ingestor(
        settings,
        WriteKeyRegistry(
            settings.write_keys_secret_id,
            secrets_manager_client,
            settings.write_keys_max_age_seconds,
        ),
        KinesisPublisher(settings.stream_name, kinesis_client),
        IngestTelemetry(metrics),
        logger,
    )
