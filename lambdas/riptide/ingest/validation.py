"""The rules an event must follow to be accepted, checked one event at a time.

Identity rules, decided here once: userId and anonymousId may be strings or integers (some SDKs
send numeric ids); an integer is stored as its decimal string, and an empty string or null counts
as absent and is removed, so downstream an id, when present, is always a non-empty string.
Timestamps are ISO-8601; one without a UTC offset is read as UTC.

This runs for every event, so the common case (string ids, known type) takes the fewest steps;
the rarer cases and every error message live in small helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from riptide.ingest.exceptions import RejectedEventError

EVENT_TYPES = ("alias", "group", "identify", "page", "screen", "track")
MAX_MESSAGE_ID_CHARS = 100
_KNOWN_TYPES = frozenset(EVENT_TYPES)
_OBJECT_FIELDS = ("context", "properties", "traits")
_SHOWN_VALUE_CHARS = 40
_parse_iso = datetime.fromisoformat
_ABSENT = object()

ClientTimes = tuple[datetime | None, datetime | None, datetime | None]
"""The client's clocks as sent, parsed: (timestamp, originalTimestamp, sentAt), None if absent."""


def check_event(event: dict[str, Any], endpoint_type: str | None = None) -> ClientTimes:
    """Check and normalize one event in place; RejectedEventError names the first broken rule.

    `endpoint_type` is the call's type for single calls (/v1/track: "track"), which an event may
    leave out; None for /v1/batch, where every event must say its type.
    """
    event.pop("writeKey", None)
    get = event.get
    event_type = get("type")
    if endpoint_type is not None or event_type.__class__ is not str:
        event_type = _check_type(event, endpoint_type)
    elif event_type not in _KNOWN_TYPES:
        raise _unknown_type(event_type)
    user_id = get("userId", _ABSENT)
    anonymous_id = get("anonymousId", _ABSENT)
    # Common case: each id a non-empty string or not there at all, and at least one there.
    if (
        not (user_id is _ABSENT or (user_id.__class__ is str and user_id))
        or not (anonymous_id is _ABSENT or (anonymous_id.__class__ is str and anonymous_id))
        or user_id is anonymous_id
    ):
        _normalize_identity(event)
    if event_type == "track":
        name = get("event")
        if name.__class__ is not str or not name:
            raise RejectedEventError(
                "missing_event_name",
                "event",
                "a track call needs the event name, a non-empty string",
            )
    message_id = get("messageId")
    if message_id is not None and (
        message_id.__class__ is not str or not 0 < len(message_id) <= MAX_MESSAGE_ID_CHARS
    ):
        raise _bad_message_id(message_id)
    for field in _OBJECT_FIELDS:
        value = get(field)
        if value is not None and value.__class__ is not dict:
            raise RejectedEventError("not_an_object", field, f"{field} must be an object")
    timestamp = get("timestamp")
    original = get("originalTimestamp")
    sent_at = get("sentAt")
    return (
        None if timestamp is None else parse_time(timestamp, "timestamp"),
        None if original is None else parse_time(original, "originalTimestamp"),
        None if sent_at is None else parse_time(sent_at, "sentAt"),
    )


def message_id_of(event: Any) -> str | None:
    """The messageId an event was sent with, to name it in a rejection."""
    if isinstance(event, dict):
        message_id = event.get("messageId")
        if isinstance(message_id, str):
            return message_id[:MAX_MESSAGE_ID_CHARS]
    return None


def parse_time(value: Any, field: str) -> datetime | None:
    """An ISO-8601 date-time (UTC when it has no offset), None when absent."""
    if value is None:
        return None
    if value.__class__ is str:
        try:
            moment = _parse_iso(value)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    raise RejectedEventError(
        "bad_timestamp", field, f"{_shown(value)} is not an ISO-8601 date-time"
    )


def _check_type(event: dict[str, Any], endpoint_type: str | None) -> str:
    event_type = event.get("type")
    if event_type is None and endpoint_type is not None:
        event["type"] = endpoint_type
        return endpoint_type
    if endpoint_type is not None and event_type != endpoint_type:
        raise RejectedEventError(
            "type_mismatch",
            "type",
            f"{_shown(event_type)} does not match the endpoint /v1/{endpoint_type}",
        )
    if not isinstance(event_type, str) or event_type not in _KNOWN_TYPES:
        raise _unknown_type(event_type)
    return event_type


def _unknown_type(event_type: Any) -> RejectedEventError:
    return RejectedEventError(
        "unknown_type", "type", f"{_shown(event_type)} is not one of {', '.join(EVENT_TYPES)}"
    )


def _normalize_identity(event: dict[str, Any]) -> None:
    """The identity rules in full: integers become strings, empty or null ids are removed."""
    identified = False
    for field in ("userId", "anonymousId"):
        value = event.get(field)
        if isinstance(value, str):
            if value:
                identified = True
                continue
        elif isinstance(value, int) and not isinstance(value, bool):
            event[field] = str(value)
            identified = True
            continue
        elif value is not None:
            raise RejectedEventError(
                "bad_identity", field, f"{field} must be a string or an integer"
            )
        event.pop(field, None)
    if not identified:
        raise RejectedEventError(
            "missing_identity", "userId", "userId or anonymousId is required (non-empty)"
        )


def _bad_message_id(message_id: Any) -> RejectedEventError:
    if not isinstance(message_id, str) or not message_id:
        return RejectedEventError(
            "bad_message_id", "messageId", "messageId must be a non-empty string"
        )
    return RejectedEventError(
        "bad_message_id",
        "messageId",
        f"messageId is {len(message_id)} characters; the limit is {MAX_MESSAGE_ID_CHARS}",
    )


def _shown(value: Any) -> str:
    """A value quoted for an error message, cut short so one answer cannot grow huge."""
    text = repr(value)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 3] + "..."
