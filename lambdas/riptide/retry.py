"""Bounded retries: exponential backoff with full jitter, inside a time budget.

Both ends of the pipeline retry remote calls (Kinesis PutRecords, Druid's task API). They share
this one policy so that every retry is bounded in time and spread out under contention.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff: attempt n sleeps uniform(0, min(cap, base * 2**n))."""

    base_seconds: float = 0.05
    cap_seconds: float = 2.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        return rand() * min(self.cap_seconds, self.base_seconds * (2 ** min(attempt, 32)))


@dataclass
class Deadline:
    """A point in monotonic time after which no new attempt may start."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    _ends_at: float = field(init=False)

    def __post_init__(self) -> None:
        self._ends_at = self.clock() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self._ends_at - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


def wait_before_retry(
    backoff: Backoff,
    attempt: int,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Sleep before retry number `attempt`; False (no sleep) when the budget cannot fit it."""
    pause = backoff.delay(attempt)
    if pause >= deadline.remaining():
        return False
    sleep(pause)
    return True
