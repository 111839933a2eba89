"""The README's example rules file parses and decides as the README says."""

from __future__ import annotations

import re
from pathlib import Path

from riptide.decisions.assignment import HOLDOUT, assign
from riptide.decisions.rules import Choice, Facts, RuleSet, parse_rule_set
from tests.decisions.rulesets import NOW_MS

README = Path(__file__).parents[2] / "README.md"


def example() -> RuleSet:
    text = README.read_text()
    marker = text.index("<!-- rules-example:")
    body = re.search(r"```json\n(.*?)```", text[marker:], re.DOTALL)
    assert body is not None
    return parse_rule_set(body.group(1).encode(), "northwind-outdoor")


def test_the_readme_example_shows_a_cart_left_a_while_to_the_banner_arm_only() -> None:
    rules = example()
    [experiment] = rules.experiments
    units = {assign(experiment, f"anon-{n}"): f"anon-{n}" for n in range(200)}
    cart_left = Facts(
        {"cart": {"value": 40.0, "lastChangedAt": "2026-12-01T11:30:00Z"},
         "categoryAffinity": {"Footwear": 4.0, "Apparel": 1.0}},
        {"path": "/"},
        {"top": [{"productId": "t1"}]},
    )  # fmt: skip

    shown = {
        variant: [
            choice.content_id
            for choice in rules.decide(["home-hero", "home-shelf"], cart_left, unit, NOW_MS)
            if isinstance(choice, Choice)
        ]
        for variant, unit in units.items()
    }

    assert shown == {
        "banner": ["complete-your-order", "top-sellers"],
        "control": ["hero-Footwear", "top-sellers"],
        HOLDOUT: ["hero-default", "top-sellers"],
    }
