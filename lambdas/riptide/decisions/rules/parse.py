"""A rules file (JSON) into a RuleSet, or a RulesError naming every problem by its JSON path."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, NamedTuple

import msgspec

from riptide.decisions.assignment import ExperimentStatus
from riptide.decisions.rules.conditions import Always, parse_condition
from riptide.decisions.rules.contents import Content, parse_content_ref, parse_contents
from riptide.decisions.rules.experiments import ExperimentPlan, parse_experiments
from riptide.decisions.rules.problems import ABSENT, Problems, RulesError, index, key
from riptide.decisions.rules.ruleset import Placement, Rule, RuleSet


def parse_rule_set(body: bytes, site: str) -> RuleSet:
    """The rules in `body` for `site`; RulesError lists every problem found."""
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise RulesError([f"not valid JSON: {error}"]) from None
    problems = Problems()
    fields = problems.object(
        document,
        "",
        required=("site", "version", "contents", "placements"),
        optional=("experiments",),
    )
    if fields is None:
        raise RulesError(problems.found)
    named_site = problems.string(fields.get("site", ABSENT), "site")
    if named_site is not None and named_site != site:
        problems.add("site", f"must be '{site}', the site this file is for, not '{named_site}'")
    version = problems.string(fields.get("version", ABSENT), "version")
    raw_contents = fields.get("contents", ABSENT)
    contents = parse_contents(raw_contents, "contents", problems)
    declared = list(raw_contents) if isinstance(raw_contents, dict) else list(contents)
    raw_placements = problems.mapping(fields.get("placements", ABSENT), "placements")
    if raw_placements == {}:
        problems.add("placements", "must declare at least one placement")
    drafts = {
        name: _parse_rules(entry, key("placements", name), declared, problems)
        for name, entry in (raw_placements or {}).items()
    }
    plans = parse_experiments(
        fields.get("experiments", []),
        "experiments",
        {name: draft.rule_ids for name, draft in drafts.items()},
        declared,
        problems,
    )
    problems.raise_any()
    placements = {
        name: _placement(name, draft.rules, contents[str(draft.fallback)], plans)
        for name, draft in drafts.items()
    }
    experiments = tuple(plan.experiment for plan in plans)
    return RuleSet(str(named_site), str(version), contents, placements, experiments)


def _placement(
    name: str, rules: list[Rule], fallback: Content, plans: tuple[ExperimentPlan, ...]
) -> Placement:
    ordered = sorted(rules, key=lambda rule: -rule.priority)
    mine = [plan for plan in plans if plan.experiment.placement == name]
    mine.sort(key=lambda plan: plan.experiment.status is not ExperimentStatus.RUNNING)
    return Placement(name, tuple(ordered), fallback, tuple(mine))


class _Draft(NamedTuple):
    """A placement as parsed so far."""

    rules: list[Rule]
    fallback: str | None
    rule_ids: set[str]
    """Every rule id named, also of rules with problems: arms may name them."""


def _parse_rules(value: Any, path: str, declared: Collection[str], problems: Problems) -> _Draft:
    fields = problems.object(value, path, required=("fallback",), optional=("rules",))
    if fields is None:
        return _Draft([], None, set())
    fallback = parse_content_ref(
        fields.get("fallback", ABSENT), key(path, "fallback"), declared, problems, templates=False
    )
    rules: list[Rule] = []
    items = problems.list(fields.get("rules", []), key(path, "rules"), empty=True) or []
    for position, item in enumerate(items):
        rule = _parse_rule(item, index(key(path, "rules"), position), declared, problems)
        if rule is None:
            continue
        if any(other.id == rule.id for other in rules):
            problems.add(index(key(path, "rules"), position), f"rule id '{rule.id}' is used twice")
        rules.append(rule)
    rule_ids = {
        item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)
    }
    return _Draft(rules, None if fallback is None else fallback.text, rule_ids)


def _parse_rule(
    value: Any, path: str, declared: Collection[str], problems: Problems
) -> Rule | None:
    fields = problems.object(value, path, required=("id", "content"), optional=("priority", "when"))
    if fields is None:
        return None
    rule_id = problems.name(fields.get("id", ABSENT), key(path, "id"))
    priority = problems.number(fields.get("priority", 0), key(path, "priority"))
    when = (
        parse_condition(fields["when"], key(path, "when"), problems)
        if "when" in fields
        else Always()
    )
    content = parse_content_ref(
        fields.get("content", ABSENT), key(path, "content"), declared, problems
    )
    if rule_id is None or priority is None or when is None or content is None:
        return None
    return Rule(rule_id, priority, when, content)
