"""The demo rules, as the rules engine reads them: one file per demo site, the home page's
placements, "complete your order" for a cart left 15 s but not for the cart-banner experiment's
control arm, and an A/A experiment whose arms show the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riptide.decisions.assignment import assign
from riptide.decisions.rules import Choice, Facts, RuleSet, parse_rule_set
from tools.local.decisions_run import DEMO_RULES, EXPERIMENTS
from tools.traffic import CATEGORIES, COMPLETE_YOUR_ORDER, HERO_PLACEMENT, HOME_PLACEMENTS, SITES

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
SHOPPERS = [f"anon-{number}" for number in range(200)]
TRENDS = {
    "trending": [{"productId": "p1", "category": "Apparel"}],
    "byCategory": {"Apparel": [{"productId": "p1"}]},
    "top": [{"productId": "p1", "events": 3}],
}


def rule_set(site: str) -> RuleSet:
    return parse_rule_set((DEMO_RULES / f"{site}.json").read_bytes(), site)


def shopper(cart_left_seconds_ago: float | None) -> dict[str, Any]:
    """A profile as the read API presents it: a cart last changed that long ago, or none."""
    changed = None
    if cart_left_seconds_ago is not None:
        changed = (NOW - timedelta(seconds=cart_left_seconds_ago)).isoformat()
    return {
        "cart": {"items": [], "value": 59.0 if changed else 0, "lastChangedAt": changed},
        "orders": {"count": 0, "revenue": 0.0},
        "categoryAffinity": {"Apparel": 2.0},
    }


def decide(rules: RuleSet, unit: str, profile: dict[str, Any]) -> dict[str, Choice]:
    now_ms = int(NOW.timestamp() * 1000)
    choices = rules.decide(
        list(HOME_PLACEMENTS), Facts(profile, {"path": "/"}, TRENDS), unit, now_ms
    )
    assert all(isinstance(choice, Choice) for choice in choices)
    return {choice.placement: choice for choice in choices}  # type: ignore[union-attr]


def test_every_demo_site_has_rules_for_the_home_page_and_both_experiments() -> None:
    assert sorted(path.stem for path in DEMO_RULES.glob("*.json")) == sorted(s.name for s in SITES)
    for site in SITES:
        rules = rule_set(site.name)
        assert set(HOME_PLACEMENTS) <= set(rules.placements)
        assert {e.id for e in rules.experiments} == {check.experiment for check in EXPERIMENTS}


@pytest.mark.parametrize("site", [site.name for site in SITES])
def test_a_cart_left_15_s_gets_complete_your_order_in_the_banner_arm_only(site: str) -> None:
    rules = rule_set(site)
    [banner] = [e for e in rules.experiments if e.id == "cart-banner"]
    arms = {unit: assign(banner, unit) for unit in SHOPPERS}
    assert set(arms.values()) == {"control", "banner"}

    for unit, arm in arms.items():
        left = decide(rules, unit, shopper(cart_left_seconds_ago=20))[HERO_PLACEMENT]
        filling = decide(rules, unit, shopper(cart_left_seconds_ago=5))[HERO_PLACEMENT]
        assert (left.experiment, left.variant) == ("cart-banner", arm)
        assert (left.content_id == COMPLETE_YOUR_ORDER) == (arm == "banner")
        assert filling.content_id == "hero-Apparel", "a cart being filled is no reminder"


def test_the_a_a_experiment_shows_both_arms_the_same() -> None:
    rules = rule_set(SITES[0].name)
    shown: dict[str, set[str]] = {}
    for unit in SHOPPERS:
        picks = decide(rules, unit, shopper(cart_left_seconds_ago=None))[HOME_PLACEMENTS[1]]
        assert picks.experiment == "picks-aa"
        shown.setdefault(str(picks.variant), set()).add(picks.content_id)
    assert set(shown) == {"a", "b"}
    assert shown["a"] == shown["b"] == {"picks-category"}


def test_every_category_has_its_hero() -> None:
    rules = rule_set(SITES[0].name)
    for category in CATEGORIES:
        profile = {**shopper(None), "categoryAffinity": {category: 1.0}}
        assert decide(rules, "anon-1", profile)[HERO_PLACEMENT].content_id == f"hero-{category}"
