"""What can go wrong while taking in a request; answers.py maps each error to its HTTP answer."""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error the producer answers with; `code` is short and stable for clients."""

    code = "ingest_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedBodyError(IngestError):
    """The body cannot be read as a Tracking API request (not JSON, wrong shape, no events)."""

    code = "malformed_body"


class UnsupportedEncodingError(IngestError):
    """The body uses a Content-Encoding other than gzip or identity."""

    code = "unsupported_encoding"


class BodyTooLargeError(IngestError):
    """The (inflated) body or the number of events is over the configured limit."""

    code = "body_too_large"


class UnauthorizedError(IngestError):
    """No write key, or one that maps to no site."""

    code = "unauthorized"


class UnknownWriteKeyError(IngestError):
    """SDK settings were asked for a write key that maps to no site."""

    code = "unknown_write_key"


class WriteKeysUnavailableError(IngestError):
    """The write keys could not be loaded, so no request can be authenticated right now."""

    code = "write_keys_unavailable"


class BusyError(IngestError):
    """More bytes are waiting for Kinesis than the server may hold, or it is shutting down;
    nothing of the request was taken, so the client should come back soon."""

    code = "busy"


class PublishError(IngestError):
    """Kinesis did not take every record; `events_written` events of the request already are in
    Kinesis, and the client's retry sends them again."""

    def __init__(self, message: str, *, events_written: int) -> None:
        super().__init__(message)
        self.events_written = events_written


class PublishTimeoutError(PublishError):
    """Kinesis did not take every record within the time budget; the client should retry."""

    code = "kinesis_unavailable"

    def __init__(self, message: str, *, throttled: bool, events_written: int) -> None:
        super().__init__(message, events_written=events_written)
        self.throttled = throttled
        if throttled:
            self.code = "kinesis_throttled"


class PublishRefusedError(PublishError):
    """Kinesis refused the records for a reason retrying cannot fix (e.g. no such stream)."""

    code = "kinesis_refused"


class RejectedEventError(Exception):
    """One event breaks a rule; it is rejected alone and its neighbours go on.

    `code` names the rule for metrics, `field` the offending field (dotted path), `reason` says
    why in words a client developer can act on, `message_id` the event's messageId when known.
    """

    def __init__(self, code: str, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.code = code
        self.field = field
        self.reason = reason
        self.message_id: str | None = None
