"""A site's rules, parsed: per placement, the content a shopper sees, and why.

Per placement: the experiment running on it (if any) assigns the shopper an arm; holdout
shoppers get the fallback; an arm with a fixed content gets it; otherwise the placement's rules,
by priority (highest first, ties in file order) and less those the arm switches off, are tried
and the first whose condition holds and whose content resolves wins; else the fallback. Paused
experiments give everybody the control arm, ended ones the winner (else the control); neither
exposes anybody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riptide.decisions.assignment import HOLDOUT, Experiment, ExperimentStatus, assign
from riptide.decisions.rules.conditions import Condition
from riptide.decisions.rules.contents import Content, ContentRef
from riptide.decisions.rules.experiments import NO_EFFECT, ArmEffect, ExperimentPlan
from riptide.decisions.rules.facts import Facts


@dataclass(frozen=True, slots=True)
class Choice:
    """The content chosen for a placement. `exposed` only under a running experiment: the
    decision is then an exposure of `experiment` / `variant` (HOLDOUT included). A paused or
    ended experiment names the arm it gives everybody, unexposed: log it without them."""

    placement: str
    content_id: str
    payload: dict[str, Any]
    rule: str | None
    experiment: str | None
    variant: str | None
    exposed: bool


@dataclass(frozen=True, slots=True)
class UnknownPlacement:
    placement: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    priority: float
    when: Condition
    content: ContentRef


@dataclass(frozen=True, slots=True)
class Placement:
    name: str
    rules: tuple[Rule, ...]
    """Highest priority first, ties in file order."""
    fallback: Content
    experiments: tuple[ExperimentPlan, ...]
    """The experiments on this placement, the running one (if any) first."""


@dataclass(frozen=True, slots=True)
class _Arm:
    """A shopper's arm on a placement, and whether showing it is an exposure."""

    experiment: str | None
    variant: str | None
    effect: ArmEffect
    exposed: bool


_NO_ARM = _Arm(None, None, NO_EFFECT, False)


class RuleSet:
    """One version of one site's rules."""

    def __init__(
        self,
        site: str,
        version: str,
        contents: Mapping[str, Content],
        placements: Mapping[str, Placement],
        experiments: tuple[Experiment, ...],
    ) -> None:
        self.site = site
        self.version = version
        self.experiments = experiments
        self.placements = tuple(placements)
        self._contents = contents
        self._placements = placements

    def decide(
        self, placements: Sequence[str], facts: Facts, unit: str | None, now_ms: int
    ) -> list[Choice | UnknownPlacement]:
        """A choice per placement, in order; `unit` is the shopper's assignment unit
        (riptide.decisions.assignment.assignment_unit)."""
        return [self._choose(name, facts, unit, now_ms) for name in placements]

    def _choose(
        self, name: str, facts: Facts, unit: str | None, now_ms: int
    ) -> Choice | UnknownPlacement:
        placement = self._placements.get(name)
        if placement is None:
            return UnknownPlacement(name)
        arm = _arm(placement, unit, now_ms)
        if arm.variant == HOLDOUT:
            return self._fallback(placement, facts, arm)
        if arm.effect.content is not None:
            content = self._contents[arm.effect.content]
            payload = content.payload_for(facts, need_products=False) or {}
            return Choice(name, content.id, payload, None, arm.experiment, arm.variant, arm.exposed)
        for rule in placement.rules:
            if rule.id in arm.effect.disabled_rules or not rule.when.holds(facts, now_ms):
                continue
            content = rule.content.resolve(self._contents, facts)
            payload = None if content is None else content.payload_for(facts, need_products=True)
            if content is not None and payload is not None:
                return Choice(
                    name, content.id, payload, rule.id, arm.experiment, arm.variant, arm.exposed
                )
        return self._fallback(placement, facts, arm)

    @staticmethod
    def _fallback(placement: Placement, facts: Facts, arm: _Arm) -> Choice:
        content = placement.fallback
        payload = content.payload_for(facts, need_products=False) or {}
        return Choice(
            placement.name, content.id, payload, None, arm.experiment, arm.variant, arm.exposed
        )


def _arm(placement: Placement, unit: str | None, now_ms: int) -> _Arm:
    """The shopper's arm of the placement's experiment: the running one assigns (from its
    start, and only a shopper with a unit), others give everybody the same arm."""
    if not placement.experiments:
        return _NO_ARM
    plan = placement.experiments[0]
    experiment = plan.experiment
    if experiment.status is ExperimentStatus.RUNNING:
        if unit is not None and experiment.started_at_ms <= now_ms:
            variant = assign(experiment, unit)
            return _Arm(experiment.id, variant, plan.effect(variant), exposed=True)
        variant = experiment.control
    elif experiment.status is ExperimentStatus.ENDED:
        variant = experiment.winner or experiment.control
    else:
        variant = experiment.control
    return _Arm(experiment.id, variant, plan.effect(variant), exposed=False)
