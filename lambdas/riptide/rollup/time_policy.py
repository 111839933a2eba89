"""Which minute an event belongs to, and what happens to late and future-dated events.

Every decision is taken against the event's own receivedAt (the time our API received it), never
against the consumer's clock, so a retried or replayed batch lands in exactly the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from riptide import defaults
from riptide.rollup.exceptions import LateEventError

DELAYED_AFTER_SECONDS = 300
"""Kept events older than this (relative to receivedAt) are counted as `late_accepted`."""

LATE_ACCEPTED = "late_accepted"
FUTURE_CLAMPED = "future_clamped"


@dataclass(frozen=True, slots=True)
class TimePolicy:
    """Keep, clamp or quarantine an event by how far its timestamp is from its receivedAt.

    - timestamp more than `future_tolerance_seconds` after receivedAt: clamped to receivedAt
      (the device clock is wrong; the event still happened, and no earlier than receipt).
    - timestamp more than `late_tolerance_seconds` before receivedAt: quarantined with
      LateEventError (too old to append to rollups that are treated as final).
    - anything in between: kept in its own minute; if older than DELAYED_AFTER_SECONDS it is
      counted as `late_accepted` (offline replays from mobile SDKs).
    """

    late_tolerance_seconds: int = defaults.LATE_TOLERANCE_SECONDS
    future_tolerance_seconds: int = defaults.FUTURE_TOLERANCE_SECONDS

    def __post_init__(self) -> None:
        for name in ("late_tolerance_seconds", "future_tolerance_seconds"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"{name}: expected a whole number of seconds >= 0, got {value!r}")

    @property
    def quiet_ages(self) -> tuple[float, float]:
        """The (lowest, highest) age kept as is and counted nowhere: the hot path's fast check."""
        return -self.future_tolerance_seconds, min(
            DELAYED_AFTER_SECONDS, self.late_tolerance_seconds
        )

    def place(self, event_time: float, received_time: float) -> tuple[float, str | None]:
        """The time to roll the event up at, and the counter its placement bumps (if any).

        Raises LateEventError for events older than the late tolerance.
        """
        age = received_time - event_time
        if age < -self.future_tolerance_seconds:
            return received_time, FUTURE_CLAMPED
        if age > self.late_tolerance_seconds:
            raise LateEventError(
                f"timestamp: {_iso(event_time)} is {age:.0f} s before receivedAt "
                f"{_iso(received_time)}, over the late tolerance of "
                f"{self.late_tolerance_seconds} s"
            )
        if age <= DELAYED_AFTER_SECONDS:
            return event_time, None
        return event_time, LATE_ACCEPTED


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
