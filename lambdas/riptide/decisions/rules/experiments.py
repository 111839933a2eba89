"""Experiments of a rules file, parsed into riptide.decisions.assignment's Experiment.

Each arm may switch rules of its placement off (`disableRules`) or show a fixed content
(`content`); an arm with neither sees the placement as the rules make it. The first arm is the
control. At most one experiment per placement runs at a time, so a shopper's exposure on a
placement names one arm.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from riptide.decisions.assignment import HOLDOUT, Arm, Experiment, ExperimentStatus
from riptide.decisions.rules.problems import ABSENT, Problems, index, key


@dataclass(frozen=True, slots=True)
class ArmEffect:
    """What an arm changes on its placement."""

    disabled_rules: frozenset[str] = frozenset()
    content: str | None = None


@dataclass(frozen=True, slots=True)
class ExperimentPlan:
    experiment: Experiment
    effects: dict[str, ArmEffect] = field(default_factory=dict)

    def effect(self, variant: str) -> ArmEffect:
        return self.effects.get(variant, NO_EFFECT)


NO_EFFECT = ArmEffect()


def parse_time_ms(value: Any, path: str, problems: Problems) -> int | None:
    """An ISO 8601 time (UTC when it names no offset) as milliseconds since the epoch."""
    text = problems.string(value, path)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.add(path, f"must be an ISO 8601 time, not '{text}'")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_experiments(
    value: Any,
    path: str,
    rules_by_placement: Mapping[str, Collection[str]],
    contents: Collection[str],
    problems: Problems,
) -> tuple[ExperimentPlan, ...]:
    """The file's experiments; `rules_by_placement` names each placement's rule ids."""
    items = problems.list(value, path, empty=True)
    if items is None:
        return ()
    plans: list[ExperimentPlan] = []
    for position, item in enumerate(items):
        plan = _parse_experiment(
            item, index(path, position), rules_by_placement, contents, problems
        )
        if plan is not None:
            plans.append(plan)
    _check_unique(plans, path, problems)
    return tuple(plans)


def _check_unique(plans: list[ExperimentPlan], path: str, problems: Problems) -> None:
    seen: set[str] = set()
    running: dict[str, str] = {}
    for plan in plans:
        experiment = plan.experiment
        if experiment.id in seen:
            problems.add(path, f"experiment id '{experiment.id}' is used twice")
        seen.add(experiment.id)
        if experiment.status is ExperimentStatus.RUNNING:
            other = running.setdefault(experiment.placement, experiment.id)
            if other != experiment.id:
                problems.add(
                    path,
                    f"experiments '{other}' and '{experiment.id}' both run on placement "
                    f"'{experiment.placement}': at most one runs per placement",
                )


def _parse_experiment(
    value: Any,
    path: str,
    rules_by_placement: Mapping[str, Collection[str]],
    contents: Collection[str],
    problems: Problems,
) -> ExperimentPlan | None:
    fields = problems.object(
        value,
        path,
        required=("id", "placement", "status", "startedAt", "arms"),
        optional=("holdout", "endedAt", "winner"),
    )
    if fields is None:
        return None
    before = len(problems.found)
    experiment_id = problems.name(fields.get("id", ABSENT), key(path, "id"))
    placement = problems.string(fields.get("placement", ABSENT), key(path, "placement"))
    if placement is not None and placement not in rules_by_placement:
        problems.add(key(path, "placement"), f"unknown placement '{placement}'")
        placement = None
    status = _status(fields.get("status", ABSENT), key(path, "status"), problems)
    started_at_ms = parse_time_ms(fields.get("startedAt", ABSENT), key(path, "startedAt"), problems)
    holdout = problems.number(
        fields.get("holdout", 0.0), key(path, "holdout"), low=0.0, high=1.0, high_open=True
    )
    rule_ids = None if placement is None else rules_by_placement[placement]
    arms = _parse_arms(fields.get("arms", ABSENT), key(path, "arms"), rule_ids, contents, problems)
    ended_at_ms = _parse_end(fields, path, status, started_at_ms, problems)
    winner = fields.get("winner")
    names = {arm.name for arm, _ in arms or ()}
    if (
        winner is not None
        and arms is not None
        and (not isinstance(winner, str) or winner not in names)
    ):
        problems.add(key(path, "winner"), f"unknown arm {winner!r}")
    if len(problems.found) > before or arms is None:
        return None
    experiment = Experiment(
        id=str(experiment_id),
        placement=str(placement),
        arms=tuple(arm for arm, _ in arms),
        holdout=float(holdout or 0.0),
        status=ExperimentStatus(status),
        started_at_ms=int(started_at_ms or 0),
        ended_at_ms=ended_at_ms,
        winner=winner,
    )
    return ExperimentPlan(experiment, {arm.name: effect for arm, effect in arms})


def _parse_end(
    fields: dict[str, Any],
    path: str,
    status: ExperimentStatus | None,
    started_at_ms: int | None,
    problems: Problems,
) -> int | None:
    """When an ended experiment ended; only an ended one names its end and winner."""
    if status is not ExperimentStatus.ENDED:
        for name in ("endedAt", "winner"):
            if name in fields and status is not None:
                problems.add(key(path, name), f"only an ended experiment has '{name}'")
        return None
    if "endedAt" not in fields:
        problems.add(path, "an ended experiment needs 'endedAt'")
        return None
    ended_at_ms = parse_time_ms(fields["endedAt"], key(path, "endedAt"), problems)
    if started_at_ms is not None and ended_at_ms is not None and ended_at_ms <= started_at_ms:
        problems.add(key(path, "endedAt"), "must be after startedAt")
    return ended_at_ms


def _status(value: Any, path: str, problems: Problems) -> ExperimentStatus | None:
    if value is ABSENT:
        return None
    try:
        return ExperimentStatus(value)
    except ValueError:
        allowed = ", ".join(status.value for status in ExperimentStatus)
        problems.add(path, f"must be one of {allowed}, not {value!r}")
        return None


def _parse_arms(
    value: Any,
    path: str,
    rule_ids: Collection[str] | None,
    contents: Collection[str],
    problems: Problems,
) -> list[tuple[Arm, ArmEffect]] | None:
    items = problems.list(value, path)
    if items is None:
        return None
    if len(items) < 2:
        problems.add(path, "an experiment needs at least two arms (the first is the control)")
    arms: list[tuple[Arm, ArmEffect]] = []
    names: set[str] = set()
    for position, item in enumerate(items):
        arm = _parse_arm(item, index(path, position), rule_ids, contents, problems)
        if arm is None:
            continue
        if arm[0].name in names:
            problems.add(index(path, position), f"arm name '{arm[0].name}' is used twice")
        names.add(arm[0].name)
        arms.append(arm)
    return arms if len(arms) == len(items) else None


def _parse_arm(
    value: Any,
    path: str,
    rule_ids: Collection[str] | None,
    contents: Collection[str],
    problems: Problems,
) -> tuple[Arm, ArmEffect] | None:
    fields = problems.object(
        value, path, required=("name",), optional=("weight", "disableRules", "content")
    )
    if fields is None:
        return None
    before = len(problems.found)
    name = problems.name(fields.get("name", ABSENT), key(path, "name"))
    if name == HOLDOUT:
        problems.add(key(path, "name"), f"'{HOLDOUT}' names the shoppers held out, not an arm")
    weight = problems.number(fields.get("weight", 1), key(path, "weight"), low=0)
    if weight == 0:
        problems.add(key(path, "weight"), "must be above 0")
    if "disableRules" in fields and "content" in fields:
        problems.add(path, "an arm has 'disableRules' or 'content', not both")
    disabled = _disabled_rules(fields.get("disableRules", []), path, rule_ids, problems)
    content = fields.get("content")
    if content is not None:
        content_path = key(path, "content")
        if problems.string(content, content_path) is not None and content not in contents:
            problems.add(content_path, f"unknown content '{content}'")
    if len(problems.found) > before:
        return None
    return Arm(str(name), float(weight or 0)), ArmEffect(frozenset(disabled), content)


def _disabled_rules(
    value: Any, path: str, rule_ids: Collection[str] | None, problems: Problems
) -> list[str]:
    path = key(path, "disableRules")
    items = problems.list(value, path, empty=True)
    if items is None or rule_ids is None:
        return []
    for position, rule_id in enumerate(items):
        if not isinstance(rule_id, str) or rule_id not in rule_ids:
            problems.add(index(path, position), f"unknown rule {rule_id!r}")
    return items
