"""Experiments in decisions: each arm's effect, the holdout's fallback, and what paused, ended
and not yet started experiments show (everybody one arm, nobody exposed)."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest

from riptide.decisions.assignment import HOLDOUT, assign
from riptide.decisions.rules import Choice, Facts, RuleSet, parse_rule_set
from tests.decisions.rulesets import NOW_MS, SITE, encode, experiment, rules

CART_LEFT = Facts(
    {"cart": {"value": 40.0, "lastChangedAt": "2026-12-01T11:00:00Z"}, "orders": {"count": 2}},
    {},
    None,
)
ENDED = {"status": "ended", "endedAt": "2026-12-01T06:00:00Z"}


def rule_set(*experiments: dict[str, Any]) -> RuleSet:
    return parse_rule_set(encode(rules(experiments=list(experiments))), SITE)


def unit_in(found: RuleSet, variant: str) -> str:
    """A shopper the rule set's first experiment assigns to `variant`."""
    return next(
        unit
        for unit in (f"anon-{n}" for n in count())
        if assign(found.experiments[0], unit) == variant
    )


def hero(found: RuleSet, unit: str | None, now_ms: int = NOW_MS) -> Choice:
    [choice] = found.decide(["home-hero"], CART_LEFT, unit, now_ms)
    assert isinstance(choice, Choice)
    return choice


def shown(choice: Choice) -> tuple[str, str | None, str | None, str | None, bool]:
    return choice.content_id, choice.rule, choice.experiment, choice.variant, choice.exposed


def test_each_arm_sees_the_placement_as_its_effect_makes_it() -> None:
    found = rule_set(experiment())

    control = hero(found, unit_in(found, "control"))
    banner = hero(found, unit_in(found, "banner"))

    assert shown(control) == ("loyalty-offer", "loyalty", "cart-banner", "control", True)
    assert shown(banner) == (
        "complete-your-order",
        "complete-your-order",
        "cart-banner",
        "banner",
        True,
    )


def test_an_arm_with_a_content_shows_it_whatever_the_rules() -> None:
    arms = [{"name": "rules"}, {"name": "plain", "content": "hero-default"}]
    found = rule_set(experiment(arms=arms))

    assert shown(hero(found, unit_in(found, "plain"))) == (
        "hero-default",
        None,
        "cart-banner",
        "plain",
        True,
    )
    assert hero(found, unit_in(found, "rules")).rule == "complete-your-order"


def test_holdout_shoppers_get_the_fallback_and_are_exposed_as_holdout() -> None:
    found = rule_set(experiment(holdout=0.5))

    assert shown(hero(found, unit_in(found, HOLDOUT))) == (
        "hero-default",
        None,
        "cart-banner",
        HOLDOUT,
        True,
    )


@pytest.mark.parametrize(
    ("changes", "variant", "content"),
    [
        ({"status": "paused"}, "control", "loyalty-offer"),
        (ENDED, "control", "loyalty-offer"),
        ({**ENDED, "winner": "banner"}, "banner", "complete-your-order"),
    ],
    ids=["paused", "ended", "ended with a winner"],
)
def test_paused_and_ended_experiments_show_everybody_one_arm_unexposed(
    changes: dict[str, Any], variant: str, content: str
) -> None:
    running = rule_set(experiment())
    found = rule_set(experiment(**changes))

    for unit in (unit_in(running, "control"), unit_in(running, "banner"), None):
        choice = hero(found, unit)
        assert (choice.content_id, choice.variant, choice.exposed) == (content, variant, False)


def test_before_its_start_or_without_a_shopper_a_running_experiment_exposes_nobody() -> None:
    found = rule_set(experiment(startedAt="2026-12-02T00:00:00Z"))
    banner_shopper = unit_in(found, "banner")

    assert shown(hero(found, banner_shopper)) == (
        "loyalty-offer",
        "loyalty",
        "cart-banner",
        "control",
        False,
    )
    assert hero(rule_set(experiment()), None).exposed is False


def test_an_experiment_changes_only_its_placement() -> None:
    found = rule_set(experiment(placement="home-shelf", arms=[{"name": "a"}, {"name": "b"}]))

    choice = hero(found, "anon-1")

    assert shown(choice) == ("complete-your-order", "complete-your-order", None, None, False)


def test_the_running_experiment_decides_beside_an_ended_one() -> None:
    arms = [{"name": "a"}, {"name": "b", "content": "hero-default"}]
    ended = experiment(id="old", **ENDED, arms=arms, winner="b")
    found = parse_rule_set(encode(rules(experiments=[ended, experiment()])), SITE)
    banner_shopper = next(
        f"anon-{n}" for n in count() if assign(found.experiments[1], f"anon-{n}") == "banner"
    )

    assert shown(hero(found, banner_shopper))[2:] == ("cart-banner", "banner", True)
