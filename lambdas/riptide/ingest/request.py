"""One Tracking API call as the ingest core reads it, whatever front it came through."""

from __future__ import annotations

from dataclasses import dataclass

from riptide.ingest.validation import EVENT_TYPES

BATCH = "batch"
CALLS = (BATCH, *EVENT_TYPES)
"""What POST /v1/<call> takes: a batch, or one event of a type."""


def endpoint_for(call: str) -> str | None:
    """The call a /v1/<call> request makes ("batch", "track", ...); None when there is none.

    Every front routes through this, so each answers exactly the same paths.
    """
    return call if call in CALLS else None


def unknown_call_message(call: str) -> str:
    calls = ", ".join(f"/v1/{name}" for name in CALLS)
    return f"no such call /v1/{call}; the calls are {calls}"


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """One Tracking API call: `endpoint` is "batch" or the single call's type ("track", ...).

    `body` is text (base64 when `is_base64_encoded`) as API Gateway passes it, or raw bytes.
    """

    endpoint: str
    body: str | bytes | None
    is_base64_encoded: bool = False
    content_encoding: str | None = None
    authorization: str | None = None
    source_ip: str | None = None

    @property
    def is_batch(self) -> bool:
        return self.endpoint == BATCH
