"""From the raw HTTP body to events: base64, bounded gzip, and JSON that never takes down a batch.

The fast path decodes the envelope with msgspec, leaving each event as a `msgspec.Raw` slice of
the body, so an event's size is its bytes as sent and one broken event (a number out of range,
invalid UTF-8) is rejected alone when it is decoded. Only when the envelope itself does not parse
(Python's json module writes NaN and Infinity, which strict JSON lacks) does the body go through
the standard library, with those values marked so that just the events holding them are rejected.
"""

from __future__ import annotations

import binascii
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any

import msgspec

from riptide.ingest.exceptions import (
    BodyTooLargeError,
    MalformedBodyError,
    RejectedEventError,
    UnsupportedEncodingError,
)
from riptide.ingest.validation import message_id_of

_GZIP_WINDOW = 16 + zlib.MAX_WBITS
_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Payload:
    """A request's events and the batch-level fields that apply to all of them.

    Events are `msgspec.Raw` slices on the fast path and decoded values otherwise; read each with
    `decode_event`. Batch-level fields are decoded but not yet checked.
    """

    events: list[Any]
    sent_at: Any = None
    context: Any = None
    write_key: Any = None


def read_body(
    body: str | bytes | None,
    is_base64_encoded: bool,
    content_encoding: str | None,
    max_bytes: int,
) -> bytes:
    """The request body as bytes, base64-decoded and inflated, never more than `max_bytes`.

    `body` is text as API Gateway passes it, or the raw bytes a long-lived server reads.
    """
    if not body:
        raise MalformedBodyError("the body is empty; send a JSON object")
    if isinstance(body, bytes):
        data = body
    elif is_base64_encoded:
        try:
            data = binascii.a2b_base64(body, strict_mode=True)
        except (binascii.Error, ValueError):
            raise MalformedBodyError("the body is marked base64 but is not valid base64") from None
    else:
        try:
            data = body.encode()
        except UnicodeEncodeError:
            raise MalformedBodyError("the body is not valid UTF-8") from None
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        return _gunzip(data, max_bytes)
    if encoding != "identity":
        raise UnsupportedEncodingError(
            f"Content-Encoding {content_encoding!r} is not supported; send gzip or no encoding"
        )
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    return data


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Inflate at most max_bytes + 1 bytes, so a gzip bomb costs no more memory than the limit."""
    inflater = zlib.decompressobj(_GZIP_WINDOW)
    try:
        inflated = inflater.decompress(data, max_bytes + 1)
    except zlib.error as error:
        raise MalformedBodyError(f"the body is not valid gzip: {error}") from None
    if len(inflated) > max_bytes:
        raise BodyTooLargeError(
            f"the body inflates to more than {max_bytes:,} bytes; the limit is {max_bytes:,}"
        )
    if not inflater.eof:
        raise MalformedBodyError("the gzip body is truncated")
    if inflater.unused_data:
        raise MalformedBodyError("the body has data after the end of its gzip stream")
    return inflated


def _too_large(size: int, limit: int) -> BodyTooLargeError:
    return BodyTooLargeError(f"the body is {size:,} bytes; the limit is {limit:,}")


class _Envelope(msgspec.Struct):
    """A /v1/batch body read in one pass: the events as raw slices, the rest decoded."""

    batch: list[msgspec.Raw] | msgspec.UnsetType = msgspec.UNSET
    sentAt: Any = None
    context: Any = None
    writeKey: Any = None


_decode_envelope = msgspec.json.Decoder(_Envelope).decode
_decode_object = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_decode_raw_list = msgspec.json.Decoder(list[msgspec.Raw]).decode


def parse_batch(data: bytes) -> Payload:
    """A /v1/batch body: {"batch": [event, ...], "sentAt"?, "context"?, "writeKey"?}."""
    try:
        envelope = _decode_envelope(data)
    except msgspec.ValidationError as error:
        raise _envelope_error(data, error) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        return _parse_batch_leniently(data)
    except RecursionError:
        raise _too_deep() from None
    if envelope.batch is msgspec.UNSET:
        raise _no_batch()
    return Payload(
        envelope.batch,
        sent_at=envelope.sentAt,
        context=envelope.context,
        write_key=envelope.writeKey,
    )


def _envelope_error(data: bytes, error: msgspec.ValidationError) -> MalformedBodyError:
    """Why a well-formed body does not fit, worked out again step by step (errors only)."""
    try:
        envelope = _decode_object(data)
    except msgspec.ValidationError:
        return _not_an_object()
    batch = envelope.get("batch")
    if batch is not None:
        try:
            _decode_raw_list(batch)
        except msgspec.ValidationError:
            return _batch_not_a_list()
    return MalformedBodyError(f"the body holds a value that cannot be read: {error}")


def parse_single(data: bytes, max_event_bytes: int) -> Payload:
    """A single call's body (/v1/track, ...): the event itself, which may carry its writeKey."""
    try:
        event = decode_event(msgspec.Raw(data), max_event_bytes)
    except RejectedEventError as error:
        at = f"{error.field}: " if error.field else ""
        raise MalformedBodyError(f"{at}{error.reason}") from None
    return Payload([event], write_key=event.pop("writeKey", None))


def decode_event(item: Any, max_bytes: int) -> dict[str, Any]:
    """One event of a Payload as a dict; RejectedEventError says what is wrong with it."""
    if item.__class__ is msgspec.Raw and len(item) <= max_bytes:
        try:
            event = _decode_any(item)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            pass
        else:
            if event.__class__ is dict:
                return event
    try:
        return _decode_event_slowly(item, max_bytes)
    except RejectedEventError as error:
        error.message_id = _message_id_in(item)
        raise


def _decode_event_slowly(item: Any, max_bytes: int) -> dict[str, Any]:
    """Every case but a raw slice that decodes to an object: find and name what is wrong."""
    if isinstance(item, msgspec.Raw):
        size = len(item)
        if size > max_bytes:
            raise _event_too_large(size, max_bytes)
        try:
            event = _decode_any(item)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            event = _decode_event_leniently(bytes(item))
    else:
        _reject_unrepresentable(item)
        size = len(_encode(item))
        if size > max_bytes:
            raise _event_too_large(size, max_bytes)
        event = item
    if not isinstance(event, dict):
        raise RejectedEventError("not_an_object", "", "an event must be a JSON object")
    return event


def _message_id_in(item: Any) -> str | None:
    """The messageId of an event that could not be taken, read as leniently as possible."""
    if isinstance(item, msgspec.Raw):
        try:
            item = json.loads(bytes(item), parse_constant=_NonFinite, parse_float=_parse_float)
        except (ValueError, RecursionError):
            return None
    return message_id_of(item)


def _event_too_large(size: int, limit: int) -> RejectedEventError:
    return RejectedEventError(
        "too_large", "", f"the event is {size:,} bytes; the limit is {limit:,}"
    )


def _parse_batch_leniently(data: bytes) -> Payload:
    envelope = _loads_leniently(data)
    if not isinstance(envelope, dict):
        raise _not_an_object()
    batch = envelope.get("batch")
    if batch is None:
        raise _no_batch()
    if not isinstance(batch, list):
        raise _batch_not_a_list()
    context = envelope.get("context")
    _reject_unrepresentable(context, "context", MalformedBodyError)
    return Payload(
        batch, sent_at=envelope.get("sentAt"), context=context, write_key=envelope.get("writeKey")
    )


def _not_an_object() -> MalformedBodyError:
    return MalformedBodyError("the body must be a JSON object")


def _no_batch() -> MalformedBodyError:
    return MalformedBodyError('the body has no "batch"; send {"batch": [event, ...]}')


def _batch_not_a_list() -> MalformedBodyError:
    return MalformedBodyError('"batch" must be a list of events')


def _too_deep() -> MalformedBodyError:
    return MalformedBodyError("the body is nested too deeply to decode")


class _NonFinite:
    """Stands in for NaN, Infinity or an out-of-range float, so the event holding it is found."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _parse_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def _loads_leniently(data: bytes) -> Any:
    """Standard-library decode that accepts NaN and Infinity (marking them); else a clear 400."""
    try:
        return json.loads(data, parse_constant=_NonFinite, parse_float=_parse_float)
    except UnicodeDecodeError as error:
        raise MalformedBodyError(f"the body is not valid UTF-8 (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise MalformedBodyError(f"the body is not valid JSON: {error}") from None
    except ValueError as error:
        raise MalformedBodyError(f"the body holds a number that cannot be read: {error}") from None
    except RecursionError:
        raise _too_deep() from None


def _decode_event_leniently(data: bytes) -> Any:
    """Find out why msgspec would not decode one event, as an RejectedEventError."""
    try:
        event = json.loads(data, parse_constant=_NonFinite, parse_float=_parse_float)
    except UnicodeDecodeError as error:
        raise RejectedEventError(
            "invalid_utf8", "", f"the event is not valid UTF-8 (byte {error.start} of the event)"
        ) from None
    except json.JSONDecodeError as error:
        raise RejectedEventError(
            "invalid_json", "", f"the event is not valid JSON: {error}"
        ) from None
    except ValueError as error:
        raise RejectedEventError(
            "number_out_of_range", "", f"a number cannot be read: {error}"
        ) from None
    except RecursionError:
        raise RejectedEventError("too_deep", "", "the event is nested too deeply") from None
    _reject_unrepresentable(event)
    return event


def _reject_unrepresentable(
    value: Any, path: str = "", error: type[Exception] = RejectedEventError
) -> None:
    """Raise for the first NaN, Infinity, out-of-range float or lone surrogate under `value`."""
    try:
        problem = _first_unrepresentable(value, path)
    except RecursionError:
        problem = path, "is nested too deeply"
    if problem is None:
        return
    where, reason = problem
    if error is RejectedEventError:
        raise RejectedEventError("unrepresentable_value", where, reason)
    raise error(f"{where}: {reason}")


def _first_unrepresentable(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, _NonFinite):
        return path, f"{value.text} is not a JSON number; send a finite number or null"
    if isinstance(value, str):
        return None if _is_unicode(value) else (path, "holds a lone UTF-16 surrogate")
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if not _is_unicode(key):
                return child, "the key holds a lone UTF-16 surrogate"
            found = _first_unrepresentable(item, child)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unrepresentable(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
