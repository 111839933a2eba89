"""One Tracking API call as the ingest core reads it, whatever front it came through."""

from __future__ import annotations

from dataclasses import dataclass

BATCH = "batch"


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """One Tracking API call: `endpoint` is "batch" or the single call's type ("track", ...)."""

    endpoint: str
    body: str | None
    is_base64_encoded: bool = False
    content_encoding: str | None = None
    authorization: str | None = None
    source_ip: str | None = None

    @property
    def is_batch(self) -> bool:
        return self.endpoint == BATCH
