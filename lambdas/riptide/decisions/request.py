"""A decide request's body, read with msgspec: every 400 names the field and says why.

{"anonymousId": "...", "userId": "...", "placements": ["home-hero"], "context": {"page": {...}}}
One of anonymousId / userId is required; 1 to MAX_PLACEMENTS distinct placements; `context` and
`context.page` are optional objects. Other fields are ignored, as the Tracking API ignores them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from riptide.ingest.exceptions import MalformedBodyError
from riptide.profiles.reads import MAX_ID_LENGTH

MAX_PLACEMENTS = 10
MAX_PLACEMENT_LENGTH = 100
MAX_BODY_BYTES = 65_536
"""A decide body is ids, placement names and a page's context: 64 KB is plenty."""

Identity = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
Placement = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PLACEMENT_LENGTH)]


class BadDecideRequestError(MalformedBodyError):
    """The body does not fit the decide request; `field` is the offending field's path."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field


class DecideContext(msgspec.Struct, frozen=True):
    page: dict[str, Any] = {}


class DecideRequest(msgspec.Struct, frozen=True):
    placements: Annotated[list[Placement], msgspec.Meta(min_length=1, max_length=MAX_PLACEMENTS)]
    anonymousId: Identity | None = None
    userId: Identity | None = None
    context: DecideContext = DecideContext()


_decode = msgspec.json.Decoder(DecideRequest).decode
_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")


def parse_decide_request(data: bytes) -> DecideRequest:
    """The request in `data`; BadDecideRequestError names the field that is wrong."""
    try:
        request = _decode(data)
    except msgspec.ValidationError as error:
        raise _validation_error(str(error)) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise BadDecideRequestError("", "the body is not a JSON object") from None
    if request.anonymousId is None and request.userId is None:
        raise BadDecideRequestError("userId", "userId or anonymousId is required (non-empty)")
    seen: set[str] = set()
    for index, placement in enumerate(request.placements):
        if placement in seen:
            raise BadDecideRequestError(f"placements[{index}]", f"{placement!r} is listed twice")
        seen.add(placement)
    return request


def _validation_error(text: str) -> BadDecideRequestError:
    """msgspec's "Expected `str`, got `int` - at `$.placements[0]`" as field and reason."""
    match = _AT.match(text)
    assert match is not None, "the pattern matches any text"
    reason, path = match["reason"], (match["path"] or "").lstrip(".")
    missing = _MISSING.match(reason)
    if missing:
        field = f"{path}.{missing['name']}" if path else missing["name"]
        return BadDecideRequestError(field, "missing (required)")
    if not path:
        return BadDecideRequestError("", "the body must be a JSON object")
    return BadDecideRequestError(path, _plain(reason))


def _plain(text: str) -> str:
    """msgspec's sentence as part of ours: "expected str, got int"."""
    return (text[:1].lower() + text[1:]).replace("`", "")
