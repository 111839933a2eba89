"""Every answer of the decide API, and the one place where its errors become status codes.

Errors answer {"code", "message"} (and "field" for a body that does not fit), as the profile
read API does. 503 asks the client to come back (Retry-After): the read keys, the profile store
or Kinesis is down. No decision is ever answered whose exposure is not in Kinesis.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aws_lambda_powertools import Logger

from riptide.config import ConfigurationError
from riptide.decisions.request import BadDecideRequestError
from riptide.ingest.answers import UNAVAILABLE_RETRY_AFTER_SECONDS, Answer
from riptide.ingest.exceptions import (
    BodyTooLargeError,
    BusyError,
    IngestError,
    MalformedBodyError,
    PublishRefusedError,
    PublishTimeoutError,
    UnauthorizedError,
    UnsupportedEncodingError,
    WriteKeysUnavailableError,
)
from riptide.store import StoreUnavailableError

DecideFailure = IngestError | StoreUnavailableError | ConfigurationError
"""What stops a decide request as a whole (rules and trends that cannot be read never do)."""
DECIDE_FAILURES = (IngestError, StoreUnavailableError, ConfigurationError)

_encode = msgspec.json.Encoder().encode

_STATUS_AND_CODE: tuple[tuple[type[Exception], int, str], ...] = (
    (MalformedBodyError, 400, "bad_request"),
    (UnauthorizedError, 401, "unauthorized"),
    (BodyTooLargeError, 413, "body_too_large"),
    (UnsupportedEncodingError, 415, "unsupported_encoding"),
    (WriteKeysUnavailableError, 503, "read_keys_unavailable"),
    (StoreUnavailableError, 503, "profile_store_unavailable"),
    (PublishTimeoutError, 503, "kinesis_unavailable"),
    (BusyError, 503, "busy"),
    (PublishRefusedError, 500, "kinesis_refused"),
    (ConfigurationError, 500, "misconfigured"),
)


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, _encode(body).decode(), headers or {})


def failure_answer(error: DecideFailure, logger: Logger) -> Answer:
    """The answer to a request stopped by `error`, logged (as an error when it is ours)."""
    status, code = _status_and_code(error)
    message = error.message if isinstance(error, IngestError) else str(error)
    body: dict[str, Any] = {"code": code, "message": message}
    if isinstance(error, BadDecideRequestError):
        body["field"] = error.field
    headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)} if status == 503 else {}
    log = logger.error if status >= 500 else logger.info
    log(f"decide: {message}", extra={"status": status, "code": code})
    return json_answer(status, body, headers)


def _status_and_code(error: DecideFailure) -> tuple[int, str]:
    for kind, status, code in _STATUS_AND_CODE:
        if isinstance(error, kind):
            return status, code
    return 500, "error"
