"""One Tracking API call as the ingest core reads it, whatever front it came through."""

from __future__ import annotations

from dataclasses import dataclass

from riptide.ingest.validation import EVENT_TYPES

BATCH = "batch"
SHORT_PATHS = {name[0]: name for name in (BATCH, *EVENT_TYPES)}
"""analytics-next and the mobile SDKs post to the first letter of the call: /v1/t, ..., /v1/b."""


def endpoint_for(path: str) -> str | None:
    """The call a /v1/<path> request makes ("batch", "track", ...), long or short; None if none.

    Every front routes through this, so each answers exactly the same paths.
    """
    if path in SHORT_PATHS:
        return SHORT_PATHS[path]
    return path if path == BATCH or path in EVENT_TYPES else None


def unknown_call_message(path: str) -> str:
    calls = ", ".join(f"/v1/{name}" for name in (*SHORT_PATHS.values(), *SHORT_PATHS))
    return f"no such call /v1/{path}; the calls are {calls}"


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
