"""What a shopper sees per placement: rules by priority, templates, products from trends, each
operator on present and missing facts, and the fallback when nothing applies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riptide.decisions.rules import Choice, Facts, UnknownPlacement, parse_rule_set
from tests.decisions.rulesets import NOW_MS, SITE, encode, rules

EXAMPLE_SET = parse_rule_set(encode(rules()), SITE)
AN_HOUR_AGO = "2026-12-01T11:00:00.000Z"
A_MINUTE_AGO = "2026-12-01T11:59:00.000Z"
TRENDS = {
    "byCategory": {
        "Apparel": [{"productId": "a1"}, {"productId": "a2"}, {"productId": "a3"}],
        "Camping": [],
    },
    "top": [{"productId": f"t{n}"} for n in range(5)],
    "trending": [{"productId": "a1", "category": "Apparel", "score": 2.7}],
}


def profile(
    *,
    cart_value: float = 0,
    cart_changed: str | None = None,
    orders: int = 0,
    affinity: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The parts of a profile as the read API presents it that the example's rules read."""
    return {
        "profileId": "a:anon-1",
        "cart": {"items": [], "value": cart_value, "lastChangedAt": cart_changed},
        "orders": {"count": orders, "revenue": 0.0, "currency": None, "lastOrderAt": None},
        "categoryAffinity": affinity or {},
    }


def choose(placement: str, facts: Facts) -> Choice:
    [choice] = EXAMPLE_SET.decide([placement], facts, "anon-1", NOW_MS)
    assert isinstance(choice, Choice)
    return choice


def hero(shopper: dict[str, Any] | None) -> tuple[str, str | None]:
    choice = choose("home-hero", Facts(shopper, {}, None))
    return choice.content_id, choice.rule


def test_the_rule_of_highest_priority_that_holds_wins() -> None:
    everything = profile(
        cart_value=40, cart_changed=AN_HOUR_AGO, orders=2, affinity={"Apparel": 3.0}
    )
    assert hero(everything) == ("complete-your-order", "complete-your-order")
    assert hero({**everything, "cart": {"value": 40, "lastChangedAt": A_MINUTE_AGO}}) == (
        "loyalty-offer",
        "loyalty",
    )
    assert hero(profile(orders=1, affinity={"Apparel": 3.0})) == ("hero-Apparel", "affinity-hero")
    assert hero(profile(orders=1)) == ("hero-default", None)
    assert hero(None) == ("hero-default", None)


def test_rules_of_equal_priority_are_tried_in_file_order() -> None:
    document = rules()
    document["placements"]["home-hero"]["rules"] = [
        {"id": "first", "priority": 5, "content": "hero-Apparel"},
        {"id": "second", "priority": 5, "content": "hero-Footwear"},
        {"id": "lower", "content": "loyalty-offer"},
    ]
    rule_set = parse_rule_set(encode(document), SITE)

    [choice] = rule_set.decide(["home-hero"], Facts(None, {}, None), None, NOW_MS)

    assert isinstance(choice, Choice) and choice.rule == "first"


def test_the_choice_carries_the_contents_payload() -> None:
    choice = choose("home-hero", Facts(profile(orders=3), {}, None))

    assert choice == Choice(
        placement="home-hero",
        content_id="loyalty-offer",
        payload={"headline": "10% off for regulars"},
        rule="loyalty",
        experiment=None,
        variant=None,
        exposed=False,
    )


def test_top_category_is_the_highest_affinity_and_names_its_hero() -> None:
    assert hero(profile(affinity={"Apparel": 1.0, "Footwear": 2.5})) == (
        "hero-Footwear",
        "affinity-hero",
    )


def test_a_template_naming_no_declared_content_lets_the_next_rule_try() -> None:
    assert hero(profile(affinity={"Camping": 9.0})) == ("hero-default", None)


@pytest.mark.parametrize(
    ("tier", "content"),
    [("gold", "offer-gold"), (1, "offer-1"), (True, "hero-default"), (1.0, "hero-default")],
)
def test_a_template_renders_strings_and_integers_only(tier: Any, content: str) -> None:
    document = rules()
    document["contents"].update({name: {} for name in ("offer-gold", "offer-1", "offer-True")})
    document["placements"]["home-hero"]["rules"] = [{"id": "tier", "content": "offer-{page.tier}"}]
    rule_set = parse_rule_set(encode(document), SITE)

    [choice] = rule_set.decide(["home-hero"], Facts(None, {"tier": tier}, None), None, NOW_MS)

    assert isinstance(choice, Choice) and choice.content_id == content


def test_products_come_from_the_fact_list_the_template_names() -> None:
    facts = Facts(profile(affinity={"Apparel": 1.0}), {}, TRENDS)

    choice = choose("home-shelf", facts)

    assert (choice.content_id, choice.rule) == ("trending-now", "trending-in-category")
    assert choice.payload == {
        "title": "Trending now",
        "products": [{"productId": "a1"}, {"productId": "a2"}],
    }


@pytest.mark.parametrize(
    "facts",
    [
        Facts(profile(affinity={"Camping": 1.0}), {}, TRENDS),  # an empty list
        Facts(profile(affinity={"Kayaks": 1.0}), {}, TRENDS),  # no list
        Facts(profile(), {}, TRENDS),  # no top category
        Facts(None, {}, TRENDS),  # no profile
    ],
)
def test_a_rule_whose_products_are_missing_gives_way(facts: Facts) -> None:
    choice = choose("home-shelf", facts)

    assert (choice.content_id, choice.rule) == ("top-sellers", None)
    assert choice.payload["products"] == TRENDS["top"][:3]


def test_a_fallback_shows_even_without_its_products() -> None:
    choice = choose("home-shelf", Facts(None, {}, None))

    assert choice.content_id == "top-sellers"
    assert choice.payload == {"title": "Top sellers", "products": []}


def test_an_unknown_placement_is_named_among_the_choices() -> None:
    answers = EXAMPLE_SET.decide(["home-hero", "checkout"], Facts(None, {}, None), "a", NOW_MS)

    assert isinstance(answers[0], Choice)
    assert answers[1] == UnknownPlacement("checkout")


PAGE = {"path": "/shoes", "tags": ["sale", "new"], "price": 20, "flags": {"beta": True}}
SHOPPER = {
    "orders": {"count": 2, "lastOrderAt": AN_HOUR_AGO},
    "lastSeen": {"at": A_MINUTE_AGO},
    "traits": {"plan": "gold", "vip": True, "note": None},
    "categoryAffinity": {"Apparel": 2.0},
}
OPERATORS: list[tuple[dict[str, Any], bool]] = [
    ({"fact": "profile.orders.count", "eq": 2}, True),
    ({"fact": "profile.orders.count", "eq": 2.0}, True),
    ({"fact": "profile.orders.count", "eq": 3}, False),
    ({"fact": "profile.traits.vip", "eq": 1}, False),  # a boolean is no number
    ({"fact": "profile.traits.vip", "eq": True}, True),
    ({"fact": "profile.traits.plan", "ne": "silver"}, True),
    ({"fact": "profile.traits.plan", "ne": "gold"}, False),
    ({"fact": "profile.orders.count", "gt": 1}, True),
    ({"fact": "profile.orders.count", "gt": 2}, False),
    ({"fact": "profile.orders.count", "gte": 2}, True),
    ({"fact": "profile.orders.count", "gte": 3}, False),
    ({"fact": "profile.orders.count", "lt": 3}, True),
    ({"fact": "profile.orders.count", "lt": 2}, False),
    ({"fact": "profile.orders.count", "lte": 2}, True),
    ({"fact": "profile.orders.count", "lte": 1}, False),
    ({"fact": "profile.traits.plan", "gt": 0}, False),  # order compares numbers only
    ({"fact": "page.path", "in": ["/", "/shoes"]}, True),
    ({"fact": "page.path", "in": ["/", "/hats"]}, False),
    ({"fact": "page.tags", "contains": "sale"}, True),
    ({"fact": "page.tags", "contains": "old"}, False),
    ({"fact": "page.path", "contains": "sho"}, True),
    ({"fact": "profile.categoryAffinity", "contains": "Apparel"}, True),
    ({"fact": "profile.categoryAffinity", "contains": "Kayaks"}, False),
    ({"fact": "page.price", "contains": 2}, False),
    ({"fact": "page.flags.beta", "exists": True}, True),
    ({"fact": "page.flags.beta", "exists": False}, False),
    ({"fact": "profile.orders.lastOrderAt", "olderThanSeconds": 3000}, True),
    ({"fact": "profile.orders.lastOrderAt", "olderThanSeconds": 3600}, False),
    ({"fact": "profile.lastSeen.at", "withinSeconds": 60}, True),
    ({"fact": "profile.lastSeen.at", "withinSeconds": 59}, False),
    ({"fact": "page.path", "withinSeconds": 60}, False),  # not a time
    ({"fact": "profile.topCategory", "eq": "Apparel"}, True),
    ({"fact": "trends.trending.0.category", "eq": "Apparel"}, True),
    ({"fact": "trends.byCategory.{profile.topCategory}.1.productId", "eq": "a2"}, True),
    ({"all": [{"fact": "page.path", "eq": "/shoes"}, {"fact": "page.price", "lt": 30}]}, True),
    ({"all": [{"fact": "page.path", "eq": "/shoes"}, {"fact": "page.price", "lt": 10}]}, False),
    ({"any": [{"fact": "page.path", "eq": "/"}, {"fact": "page.price", "lt": 30}]}, True),
    ({"any": [{"fact": "page.path", "eq": "/"}, {"fact": "page.price", "lt": 10}]}, False),
    ({"not": {"fact": "page.path", "eq": "/"}}, True),
    ({"not": {"fact": "page.path", "eq": "/shoes"}}, False),
]
MISSING_FACTS = [
    "profile.orders.refunds",
    "profile.traits.note",  # null
    "profile.traits.plan.tier",  # into a string
    "page.tags.7",  # past the end of a list
    "page.tags.²",  # a digit, but no index
    "trends.byCategory.{profile.traits.missing}",
]
ALL_OPERANDS = {
    "eq": None, "ne": 1, "gt": 0, "gte": 0, "lt": 9, "lte": 9, "in": [None], "contains": "x",
    "exists": True, "olderThanSeconds": 0, "withinSeconds": 10**9,
}  # fmt: skip


def holds(condition: dict[str, Any], facts: Facts) -> bool:
    document = rules()
    document["placements"] = {
        "probe": {"rules": [{"id": "hit", "when": condition, "content": "hero-Apparel"}],
                  "fallback": "hero-default"}
    }  # fmt: skip
    [choice] = parse_rule_set(encode(document), SITE).decide(["probe"], facts, None, NOW_MS)
    assert isinstance(choice, Choice)
    return choice.rule == "hit"


@pytest.mark.parametrize(("condition", "expected"), OPERATORS, ids=str)
def test_each_operator_on_present_facts(condition: dict[str, Any], expected: bool) -> None:
    assert holds(condition, Facts(SHOPPER, PAGE, TRENDS)) is expected


@pytest.mark.parametrize("operator", list(ALL_OPERANDS))
@pytest.mark.parametrize("fact", MISSING_FACTS)
def test_no_test_of_a_missing_fact_holds_but_exists_false(operator: str, fact: str) -> None:
    facts = Facts(SHOPPER, PAGE, TRENDS)

    assert holds({"fact": fact, operator: ALL_OPERANDS[operator]}, facts) is False
    assert holds({"fact": fact, "exists": False}, facts) is True
    assert holds({"not": {"fact": fact, operator: ALL_OPERANDS[operator]}}, facts) is True


@pytest.mark.parametrize("fact", ["profile.orders.count", "page.path", "trends.top.0"])
def test_facts_of_a_shopper_without_profile_page_or_trends_are_missing(fact: str) -> None:
    assert holds({"fact": fact, "exists": False}, Facts(None, {}, None)) is True


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
EXAMPLE_FACT_NAMES = ["cart", "orders", "categoryAffinity", "value", "count", "lastChangedAt",
                      "byCategory", "top", "Apparel", "path"]  # fmt: skip
documents = st.dictionaries(
    st.sampled_from(EXAMPLE_FACT_NAMES) | st.text(max_size=5), json_values, max_size=5
)


@given(st.none() | documents, documents, st.none() | documents, st.none() | st.text())
def test_any_facts_give_a_choice_for_every_placement(
    shopper: dict[str, Any] | None,
    page: dict[str, Any],
    trends: dict[str, Any] | None,
    unit: str | None,
) -> None:
    placements = ["home-hero", "home-shelf"]

    choices = EXAMPLE_SET.decide(placements, Facts(shopper, page, trends), unit, NOW_MS)

    assert [choice.placement for choice in choices if isinstance(choice, Choice)] == placements
