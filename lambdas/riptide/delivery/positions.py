"""Where a delivery starts and ends in a shard, and the task id derived from that.

A position is (sequence number, sub-sequence number): the Kinesis record and the index of the
user record inside its KPL aggregate. Deliveries always cover whole Kinesis records, so a range
is decided by its first and last Kinesis record; the sub-sequence numbers make the id say
exactly which user records it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TASK_ID_PREFIX = "riptide"
_UNSAFE_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9_\-.]")


@dataclass(frozen=True, slots=True, order=True)
class Position:
    sequence: int
    sub_sequence: int = 0

    def to_json(self) -> list[int | str]:
        return [str(self.sequence), self.sub_sequence]

    @classmethod
    def from_json(cls, value: list[int | str]) -> Position:
        return cls(int(value[0]), int(value[1]))


@dataclass(frozen=True, slots=True)
class Coverage:
    """The user records, from `first` to `last` inclusive, that one delivery holds."""

    first: Position
    last: Position

    def covers(self, sequence: int) -> bool:
        return self.first.sequence <= sequence <= self.last.sequence

    def overlaps(self, other: Coverage) -> bool:
        return (
            self.first.sequence <= other.last.sequence
            and other.first.sequence <= self.last.sequence
        )

    def extended_to(self, last: Position) -> Coverage:
        return Coverage(self.first, last)


def delivery_task_id(datasource: str, shard_id: str, coverage: Coverage) -> str:
    """A Druid task id that names exactly what the task carries, so a retry reuses it.

    Druid ids may not contain '/' or whitespace nor start with '.'; the datasource and shard
    parts are reduced to safe characters.
    """
    first, last = coverage.first, coverage.last
    return "_".join(
        (
            _TASK_ID_PREFIX,
            _UNSAFE_ID_CHARACTERS.sub("-", datasource),
            _UNSAFE_ID_CHARACTERS.sub("-", shard_id),
            f"{first.sequence}.{first.sub_sequence}",
            f"{last.sequence}.{last.sub_sequence}",
        )
    )


def late_task_id(delivery_id: str) -> str:
    """The id of the task that carries a delivery's late rows, apart from its on-time ones."""
    return f"{delivery_id}_late"


def redrive_task_id(original_id: str, redrive: int) -> str:
    """The id of the `redrive`-th resubmission of a task that FAILED having published nothing."""
    return f"{original_id}_redrive{redrive}"
