"""Every answer the ingest core gives, and the one place where errors become status codes.

An Answer is plain data (status, JSON body, headers): each front (the Lambda handler, a
long-lived server) turns it into its own HTTP response. Error bodies carry `code` and `message`,
the fields Segment's SDKs read and log. Answers that ask the client to come back (429, 503) carry
Retry-After, which the SDKs honour; a 429 also carries X-RateLimit-Reset (seconds to wait), which
analytics-next's batching mode reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from riptide.config import ConfigurationError
from riptide.ingest.events import Rejection
from riptide.ingest.exceptions import (
    BodyTooLargeError,
    BusyError,
    IngestError,
    MalformedBodyError,
    PublishRefusedError,
    PublishTimeoutError,
    UnauthorizedError,
    UnknownWriteKeyError,
    UnsupportedEncodingError,
    WriteKeysUnavailableError,
)

THROTTLED_RETRY_AFTER_SECONDS = 1
UNAVAILABLE_RETRY_AFTER_SECONDS = 5

JSON = "application/json"
MISCONFIGURED = "misconfigured"
"""The code of the answer given while the function's settings are unusable."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer, free of any web framework: status, JSON body text and extra headers."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON


_STATUS_BY_ERROR: dict[type[IngestError], int] = {
    MalformedBodyError: 400,
    UnauthorizedError: 401,
    UnknownWriteKeyError: 404,
    BodyTooLargeError: 413,
    UnsupportedEncodingError: 415,
    PublishRefusedError: 500,
    WriteKeysUnavailableError: 503,
    PublishTimeoutError: 503,
    BusyError: 503,
}


def _encode(body: object) -> str:
    """JSON of an answer. Rejections echo client text, which may hold lone UTF-16 surrogates
    that UTF-8 cannot carry: those are escaped as \\uXXXX, so an answer never fails to encode
    (a 500 after a partial write would make the client send its events again)."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":"))


def status_for(error: IngestError | ConfigurationError) -> int:
    if isinstance(error, ConfigurationError):
        return 500
    if isinstance(error, PublishTimeoutError) and error.throttled:
        return 429
    return _STATUS_BY_ERROR.get(type(error), 500)


def error_answer(error: IngestError | ConfigurationError) -> Answer:
    """{"success": false, "code": ..., "message": ...} with the error's status."""
    status = status_for(error)
    headers = {}
    if status == 429:
        headers["Retry-After"] = str(THROTTLED_RETRY_AFTER_SECONDS)
        headers["X-RateLimit-Reset"] = str(THROTTLED_RETRY_AFTER_SECONDS)
    elif status == 503:
        headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    code, message = code_and_message(error)
    body = {"success": False, "code": code, "message": message}
    return Answer(status, _encode(body), headers)


def code_and_message(error: IngestError | ConfigurationError) -> tuple[str, str]:
    """The short stable code and the sentence an error answer carries."""
    if isinstance(error, ConfigurationError):
        return MISCONFIGURED, str(error)
    return error.code, error.message


def settings_answer(settings: dict[str, object]) -> Answer:
    return Answer(200, _encode(settings))


def events_answer(accepted: int, rejections: Sequence[Rejection]) -> Answer:
    """200 once the accepted events are in Kinesis; 400 when not a single event was acceptable."""
    rejected = [rejection.answer() for rejection in rejections]
    if accepted:
        body = {"success": True, "accepted": accepted, "rejected": rejected}
        return Answer(200, _encode(body))
    body = {
        "success": False,
        "code": "all_events_rejected",
        "message": f"none of the {len(rejected)} events was accepted; see rejected",
        "accepted": 0,
        "rejected": rejected,
    }
    return Answer(400, _encode(body))
