"""Ingest: take Segment Tracking API requests, check and enrich each event, put them in Kinesis.

`Ingestor.handle` answers one request; `ingestor_from_env` builds one from the environment.
"""

from riptide.ingest.config import IngestSettings, PartitionStrategy
from riptide.ingest.exceptions import (
    BodyTooLargeError,
    ConfigurationError,
    IngestError,
    InvalidEventError,
    MalformedBodyError,
    PublishError,
    PublishRefusedError,
    PublishTimeoutError,
    UnauthorizedError,
    UnsupportedEncodingError,
    WriteKeysUnavailableError,
)
from riptide.ingest.ingestor import Ingestor
from riptide.ingest.request import BATCH, IngestRequest
from riptide.ingest.setup import ingestor_from_env

__all__ = [
    "BATCH",
    "BodyTooLargeError",
    "ConfigurationError",
    "IngestError",
    "IngestRequest",
    "IngestSettings",
    "Ingestor",
    "InvalidEventError",
    "MalformedBodyError",
    "PartitionStrategy",
    "PublishError",
    "PublishRefusedError",
    "PublishTimeoutError",
    "UnauthorizedError",
    "UnsupportedEncodingError",
    "WriteKeysUnavailableError",
    "ingestor_from_env",
]
