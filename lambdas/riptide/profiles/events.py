"""From a user record's bytes to the compact row the update script applies.

Only the paths the attributes name are read (riptide.profiles.attributes); nothing else of the
event, and never context.ip, reaches the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from riptide.profiles.attributes import ATTRIBUTES, TRACK, Attribute, Path

_decode = msgspec.json.Decoder(dict).decode


class UnusableEventError(ValueError):
    """The event cannot update a profile; the message says which field and why."""


class ProfileEvent(NamedTuple):
    """One event as the update script takes it (field order is the script's)."""

    position: str
    label: str
    call: str
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    timestamp_ms: int
    received_ms: int
    values: dict[str, Any]
    site: str
    message_id: str | None


def stream_position(sequence_number: str, sub_sequence: int) -> str:
    """A position that orders as text as it does in the shard: (digits, sequence, sub-sequence).

    Sequence numbers have up to 129 digits, beyond a Lua number; a fixed-width length prefix
    makes plain string comparison agree with numeric order.
    """
    return f"{len(sequence_number):03d}{sequence_number}:{sub_sequence:06d}"


def _at(event: dict[str, Any], path: Path) -> Any:
    value: Any = event
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _source_value(attribute: Attribute, event: dict[str, Any]) -> Any:
    """The attribute's value: one source's value, or a map of the sources present."""
    if len(attribute.source) == 1:
        ((path,),) = (attribute.source.values(),)
        return _at(event, path)
    found = {name: _at(event, path) for name, path in attribute.source.items()}
    return {name: value for name, value in found.items() if value is not None} or None


_FOR_EVERY_EVENT = tuple(a for a in ATTRIBUTES if a.source and not a.when)
_BY_LABEL: dict[str, tuple[Attribute, ...]] = {}
for _attribute in ATTRIBUTES:
    for _label in _attribute.when:
        _BY_LABEL.setdefault(_label, ())
        _BY_LABEL[_label] += (_attribute,)


def _milliseconds(text: Any, field: str) -> int:
    if not isinstance(text, str):
        raise UnusableEventError(f"{field}: missing or not a string")
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        raise UnusableEventError(f"{field}: not an ISO-8601 time ({text[:40]!r})") from None


def _identity(event: dict[str, Any], field: str) -> str | None:
    value = event.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise UnusableEventError(f"{field}: must be a string")


def profile_event(payload: bytes, position: str) -> ProfileEvent:
    """The event's row; UnusableEventError when it names no identity, site or time."""
    try:
        event = _decode(payload)
    except msgspec.DecodeError as error:
        raise UnusableEventError(f"event: not a JSON object ({error})") from None
    call = event.get("type")
    if not isinstance(call, str):
        raise UnusableEventError("type: missing or not a string")
    site = event.get("site")
    if not isinstance(site, str) or not site:
        raise UnusableEventError("site: missing (the producer sets it from the write key)")
    user_id = _identity(event, "userId")
    anonymous_id = _identity(event, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise UnusableEventError("userId and anonymousId: one of them is required")
    label = event.get("event") if call == TRACK else call
    if not isinstance(label, str) or not label:
        raise UnusableEventError("event: a track call needs an event name")
    values = {}
    for attribute in (*_FOR_EVERY_EVENT, *_BY_LABEL.get(label, ())):
        value = _source_value(attribute, event)
        if value is not None:
            values[attribute.name] = value
    return ProfileEvent(
        position=position,
        label=label,
        call=call,
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=_identity(event, "previousId") if call == "alias" else None,
        timestamp_ms=_milliseconds(event.get("timestamp"), "timestamp"),
        received_ms=_milliseconds(event.get("receivedAt") or event.get("timestamp"), "receivedAt"),
        values=values,
        site=site,
        message_id=message_id if isinstance(message_id := event.get("messageId"), str) else None,
    )
