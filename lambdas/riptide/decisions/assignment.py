"""Experiment arms by hash: every stage that needs a shopper's arm recomputes it, none stores it.

A shopper's point in [0, 1) is the first 8 bytes of SHA-256("<experiment id>:<unit>"), where
the unit is the anonymousId (stable across a login) or, for calls that carry none, the userId.
The first `holdout` of [0, 1) is the holdout; the rest is split between the arms by weight,
in the order the experiment lists them. The same inputs give the same arm in any language.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

HOLDOUT = "holdout"
"""The variant of shoppers held out of every arm: they get the placement's fallback."""
_SCALE = float(2**64)


class ExperimentStatus(StrEnum):
    RUNNING = "running"
    """Shoppers are assigned and exposed; their events are attributed to their arms."""
    PAUSED = "paused"
    """Everybody gets the control arm and no exposure is logged; attribution goes on."""
    ENDED = "ended"
    """Everybody gets the winner (else control); events after `ended_at_ms` are not attributed."""


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    weight: float


@dataclass(frozen=True, slots=True)
class Experiment:
    """One experiment on one placement of one site; the first arm is the control."""

    id: str
    placement: str
    arms: tuple[Arm, ...]
    holdout: float = 0.0
    status: ExperimentStatus = ExperimentStatus.RUNNING
    started_at_ms: int = 0
    ended_at_ms: int | None = None
    winner: str | None = None

    @property
    def control(self) -> str:
        return self.arms[0].name

    def attributes(self, at_ms: int) -> bool:
        """Whether an event at `at_ms` (event time) counts towards this experiment's arms."""
        return self.started_at_ms <= at_ms and (
            self.ended_at_ms is None or at_ms < self.ended_at_ms
        )


def assignment_unit(anonymous_id: str | None, user_id: str | None) -> str | None:
    """Who is assigned: the anonymousId when there is one, else the userId."""
    return anonymous_id or user_id or None


def assignment_point(experiment_id: str, unit: str) -> float:
    digest = hashlib.sha256(f"{experiment_id}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def assign(experiment: Experiment, unit: str) -> str:
    """The variant of `unit` in `experiment`: an arm's name, or HOLDOUT."""
    point = assignment_point(experiment.id, unit)
    if point < experiment.holdout:
        return HOLDOUT
    share = (point - experiment.holdout) / (1.0 - experiment.holdout)
    total = sum(arm.weight for arm in experiment.arms)
    reached = 0.0
    for arm in experiment.arms:
        reached += arm.weight / total
        if share < reached:
            return arm.name
    return experiment.arms[-1].name


def variant_label(experiment_id: str, variant: str) -> str:
    """How a variant is named in rollups and reports: "<experiment>/<variant>"."""
    return f"{experiment_id}/{variant}"
