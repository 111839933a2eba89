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
        if not state:
            return cls()
        if state.get("v") != ENVELOPE_VERSION:
            raise ValueError(f"window state: unknown envelope version {state.get('v')!r}")
        return cls(
            coverage=Coverage(
                Position.from_json(state["first"]), Position.from_json(state["last"])
            ),
            rollup_state=state["rollup"],
        )
