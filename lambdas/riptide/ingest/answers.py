"""Every HTTP answer the producer gives, and the one place where errors become status codes.

Error bodies carry `code` and `message`, the fields Segment's SDKs read and log. Answers that
ask the client to come back (429, 503) carry Retry-After, which the SDKs honour; a 429 also
carries X-RateLimit-Reset (seconds to wait), which analytics-next's batching mode reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_lambda_powertools.event_handler import Response

from riptide.ingest.events import Rejection
from riptide.ingest.exceptions import (
    BodyTooLargeError,
    ConfigurationError,
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

_STATUS_BY_ERROR: dict[type[IngestError], int] = {
    MalformedBodyError: 400,
    UnauthorizedError: 401,
    UnknownWriteKeyError: 404,
    BodyTooLargeError: 413,
    UnsupportedEncodingError: 415,
    PublishRefusedError: 500,
    ConfigurationError: 500,
    WriteKeysUnavailableError: 503,
    PublishTimeoutError: 503,
}
_JSON = "application/json"


def _encode(body: object) -> str:
    """JSON of an answer. Rejections echo client text, which may hold lone UTF-16 surrogates
    that UTF-8 cannot carry: those are escaped as \\uXXXX, so an answer never fails to encode
    (a 500 after a partial write would make the client send its events again)."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":"))


def status_for(error: IngestError) -> int:
    if isinstance(error, PublishTimeoutError) and error.throttled:
        return 429
    return _STATUS_BY_ERROR.get(type(error), 500)


def error_answer(error: IngestError) -> Response:
    """{"success": false, "code": ..., "message": ...} with the error's status."""
    status = status_for(error)
    headers = {}
    if status == 429:
        headers["Retry-After"] = str(THROTTLED_RETRY_AFTER_SECONDS)
        headers["X-RateLimit-Reset"] = str(THROTTLED_RETRY_AFTER_SECONDS)
    elif status == 503:
        headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    body = {"success": False, "code": error.code, "message": error.message}
    return Response(status, _JSON, _encode(body), headers)


def settings_answer(settings: dict[str, object]) -> Response:
    return Response(200, _JSON, _encode(settings))


def events_answer(accepted: int, rejections: Sequence[Rejection]) -> Response:
    """200 once the accepted events are in Kinesis; 400 when not a single event was acceptable."""
    rejected = [rejection.answer() for rejection in rejections]
    if accepted:
        body = {"success": True, "accepted": accepted, "rejected": rejected}
        return Response(200, _JSON, _encode(body))
    body = {
        "success": False,
        "code": "all_events_rejected",
        "message": f"none of the {len(rejected)} events was accepted; see rejected",
        "accepted": 0,
        "rejected": rejected,
    }
    return Response(400, _JSON, _encode(body))
