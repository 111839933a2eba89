"""Ingest: take Segment Tracking API requests, check and enrich each event, put them in Kinesis.

`IngestService.handle` answers one request with an `Answer` (status, body, headers), free of any
web framework; `IngestService.from_env` wires it from the environment.
"""

from riptide.ingest.answers import Answer
from riptide.ingest.config import IngestSettings, PartitionStrategy
from riptide.ingest.exceptions import (
    BodyTooLargeError,
    BusyError,
    IngestError,
    MalformedBodyError,
    PublishError,
    PublishRefusedError,
    PublishTimeoutError,
    RejectedEventError,
    UnauthorizedError,
    UnsupportedEncodingError,
    WriteKeysUnavailableError,
)
from riptide.ingest.ingestor import Ingestor
from riptide.ingest.request import BATCH, IngestRequest
from riptide.ingest.service import IngestService

__all__ = [
    "BATCH",
    "Answer",
    "BodyTooLargeError",
    "BusyError",
    "IngestError",
    "IngestRequest",
    "IngestService",
    "IngestSettings",
    "Ingestor",
    "MalformedBodyError",
    "PartitionStrategy",
    "PublishError",
    "PublishRefusedError",
    "PublishTimeoutError",
    "RejectedEventError",
    "UnauthorizedError",
    "UnsupportedEncodingError",
    "WriteKeysUnavailableError",
]
