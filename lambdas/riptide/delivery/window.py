"""The tumbling-window state envelope: a partial rollup and the shard range it holds.

Lambda hands the `state` of one invocation to the next one of the same shard and window. The
envelope keeps the rollup's own compact state next to the first and last user record it
covers; records at or before `last` are already inside, so a redelivered record is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riptide.delivery.positions import Coverage, Position

ENVELOPE_VERSION = 1


class UnreadableWindowStateError(ValueError):
    """The envelope is not one this code wrote: its records cannot be told apart or restored."""


@dataclass(frozen=True, slots=True)
class WindowState:
    coverage: Coverage | None = None
    rollup_state: dict[str, Any] | None = None

    @property
    def is_empty(self) -> bool:
        return self.coverage is None

    def to_json(self) -> dict[str, Any]:
        if self.coverage is None:
            return {}
        return {
            "v": ENVELOPE_VERSION,
            "first": self.coverage.first.to_json(),
            "last": self.coverage.last.to_json(),
            "rollup": self.rollup_state,
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> WindowState:
        """The envelope `to_json` wrote; UnreadableWindowStateError naming what does not fit."""
        if not state:
            return cls()
        if state.get("v") != ENVELOPE_VERSION:
            raise UnreadableWindowStateError(f"unknown envelope version {state.get('v')!r}")
        coverage = Coverage(_position(state, "first"), _position(state, "last"))
        rollup_state = state.get("rollup")
        if not isinstance(rollup_state, dict):
            raise UnreadableWindowStateError("the rollup state is not a JSON object")
        return cls(coverage=coverage, rollup_state=rollup_state)


def _position(state: dict[str, Any], name: str) -> Position:
    value = state.get(name)
    if not isinstance(value, list) or len(value) != 2:
        raise UnreadableWindowStateError(
            f"{name}: expected [sequence, sub-sequence], got {value!r}"
        )
    try:
        return Position.from_json(value)
    except (TypeError, ValueError) as error:
        raise UnreadableWindowStateError(f"{name}: {value!r} is not a position: {error}") from None
