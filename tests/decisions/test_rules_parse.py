"""A rules file is checked whole: every problem is named by its JSON path, none stops the
search for the others, and a good file parses into the placements and experiments it names."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riptide.decisions.assignment import Arm, Experiment, ExperimentStatus
from riptide.decisions.rules import RulesError, parse_rule_set
from tests.decisions.rulesets import EXAMPLE, SITE, encode, experiment, rules

Change = Callable[[dict[str, Any]], None]
HERO = "placements.home-hero"


def _hero_rule(position: int, **fields: Any) -> Change:
    def change(document: dict[str, Any]) -> None:
        document["placements"]["home-hero"]["rules"][position].update(fields)

    return change


def _cart_test(test: dict[str, Any]) -> Change:
    """Replace the second test of the cart rule's `all`."""

    def change(document: dict[str, Any]) -> None:
        document["placements"]["home-hero"]["rules"][1]["when"]["all"][1] = test

    return change


def _nested(condition: dict[str, Any], depth: int) -> dict[str, Any]:
    for _ in range(depth):
        condition = {"not": condition}
    return condition


def _experiments(*found: dict[str, Any]) -> Change:
    return lambda document: document.update(experiments=list(found))


def _arm(position: int, **fields: Any) -> dict[str, Any]:
    arms = experiment()["arms"]
    arms[position] = {**arms[position], **fields}
    return experiment(arms=arms)


BROKEN: list[tuple[str, Change, list[str]]] = [
    ("unknown operator", _cart_test({"fact": "profile.cart.lastChangedAt", "older": 600}),
     [f"{HERO}.rules[1].when.all[1]: unknown operator 'older'"]),
    ("no operator", _cart_test({"fact": "profile.cart.value"}),
     [f"{HERO}.rules[1].when.all[1]: a test needs one operator: eq, ne, gt, gte, lt, lte, in, "
      "contains, exists, olderThanSeconds, withinSeconds"]),
    ("two operators", _cart_test({"fact": "profile.cart.value", "gt": 0, "lt": 9}),
     [f"{HERO}.rules[1].when.all[1]: a test has one operator, not 2"]),
    ("neither a test nor a combinator", _cart_test({"gt": 0}),
     [f"{HERO}.rules[1].when.all[1]: a condition needs 'fact' and one operator, or one of "
      "all/any/not"]),
    ("a combinator beside a test", _cart_test({"not": {"fact": "page.path", "exists": True},
                                               "fact": "page.path"}),
     [f"{HERO}.rules[1].when.all[1]: 'not' stands alone in its object, not with 'fact'"]),
    ("conditions nested too deep",
     _hero_rule(2, when=_nested({"fact": "page.path", "exists": True}, 16)),
     [f"{HERO}.rules[2].when" + ".not" * 16 + ": conditions nest at most 16 deep"]),
    ("empty all", _hero_rule(1, when={"all": []}),
     [f"{HERO}.rules[1].when.all: must not be empty"]),
    ("unknown fact root", _cart_test({"fact": "profil.cart.value", "gt": 0}),
     [f"{HERO}.rules[1].when.all[1].fact: unknown fact 'profil.cart.value': a fact is "
      "profile.<path>, page.<path> or trends.<path>"]),
    ("a root alone", _cart_test({"fact": "page", "exists": True}),
     [f"{HERO}.rules[1].when.all[1].fact: unknown fact 'page': a fact is profile.<path>, "
      "page.<path> or trends.<path>"]),
    ("an empty segment", _cart_test({"fact": "page..path", "exists": True}),
     [f"{HERO}.rules[1].when.all[1].fact: fact 'page..path' has an empty segment"]),
    ("a number operator given text", _cart_test({"fact": "profile.cart.value", "gt": "0"}),
     [f"{HERO}.rules[1].when.all[1].gt: must be a number, not a string"]),
    ("a boolean is no number", _cart_test({"fact": "profile.cart.value", "gte": True}),
     [f"{HERO}.rules[1].when.all[1].gte: must be a number, not a boolean"]),
    ("negative seconds", _cart_test({"fact": "page.seenAt", "withinSeconds": -1}),
     [f"{HERO}.rules[1].when.all[1].withinSeconds: must be at least 0, not -1"]),
    ("in without a list", _cart_test({"fact": "page.path", "in": "/"}),
     [f"{HERO}.rules[1].when.all[1].in: must be a list, not a string"]),
    ("exists not a boolean", _cart_test({"fact": "page.path", "exists": 1}),
     [f"{HERO}.rules[1].when.all[1].exists: must be true or false, not a number"]),
    ("a condition not an object", _hero_rule(2, when=["profile.orders.count"]),
     [f"{HERO}.rules[2].when: a condition must be an object, not a list"]),
    ("unknown rule field", _hero_rule(2, prio=3),
     [f"{HERO}.rules[2].prio: unknown field"]),
    ("priority not a number", _hero_rule(2, priority="high"),
     [f"{HERO}.rules[2].priority: must be a number, not a string"]),
    ("rule id used twice", _hero_rule(2, id="complete-your-order"),
     [f"{HERO}.rules[2]: rule id 'complete-your-order' is used twice"]),
    ("unknown content", _hero_rule(2, content="loyalty"),
     [f"{HERO}.rules[2].content: unknown content 'loyalty'"]),
    ("a template no content matches", _hero_rule(0, content="banner-{profile.topCategory}"),
     [f"{HERO}.rules[0].content: unknown content 'banner-{{profile.topCategory}}'"]),
    ("an unmatched brace", _hero_rule(0, content="hero-{profile.topCategory"),
     [f"{HERO}.rules[0].content: unmatched '{{' in 'hero-{{profile.topCategory'"]),
    ("a template of an unknown fact", _hero_rule(0, content="hero-{shopper.category}"),
     [f"{HERO}.rules[0].content: unknown fact 'shopper.category': a fact is profile.<path>, "
      "page.<path> or trends.<path>"]),
    ("a rule without content",
     lambda d: d["placements"]["home-hero"]["rules"][2].pop("content"),
     [f"{HERO}.rules[2]: missing field 'content'"]),
    ("a fallback with a template",
     lambda d: d["placements"]["home-hero"].update(fallback="hero-{profile.topCategory}"),
     [f"{HERO}.fallback: must name a content, without templates: 'hero-{{profile.topCategory}}'"]),
    ("no fallback", lambda d: d["placements"]["home-hero"].pop("fallback"),
     [f"{HERO}: missing field 'fallback'"]),
    ("another site", lambda d: d.update(site="southwind"),
     [f"site: must be '{SITE}', the site this file is for, not 'southwind'"]),
    ("no version", lambda d: d.pop("version"), ["missing field 'version'"]),
    ("an unknown top-level field", lambda d: d.update(experiment=[]),
     ["experiment: unknown field"]),
    ("no placements", lambda d: d.update(placements={}),
     ["placements: must declare at least one placement"]),
    ("a payload not an object", lambda d: d["contents"]["hero-default"].update(payload=[1]),
     ["contents.hero-default.payload: must be an object"]),
    ("a content named with a brace",
     lambda d: d["contents"].update({"hero-{x}": {"payload": {}}}),
     ["contents.hero-{x}: a name holds no '{' or '}'"]),
    ("products beyond the limit",
     lambda d: d["contents"]["top-sellers"]["products"].update(limit=0),
     ["contents.top-sellers.products.limit: must be at least 1, not 0"]),
    ("products without a source",
     lambda d: d["contents"]["top-sellers"]["products"].pop("from"),
     ["contents.top-sellers.products: missing field 'from'"]),
    ("an arm switching off an unknown rule",
     _experiments(_arm(0, disableRules=["complete-my-order"])),
     ["experiments[0].arms[0].disableRules[0]: unknown rule 'complete-my-order'"]),
    ("an arm switching off a rule with problems of its own",
     lambda d: (_hero_rule(1, priority="high")(d), _experiments(experiment())(d)),
     [f"{HERO}.rules[1].priority: must be a number, not a string"]),
    ("an arm showing an unknown content", _experiments(_arm(1, content="banner")),
     ["experiments[0].arms[1].content: unknown content 'banner'"]),
    ("an arm with both effects",
     _experiments(_arm(0, content="hero-default")),
     ["experiments[0].arms[0]: an arm has 'disableRules' or 'content', not both"]),
    ("an arm named holdout", _experiments(_arm(1, name="holdout")),
     ["experiments[0].arms[1].name: 'holdout' names the shoppers held out, not an arm"]),
    ("an arm of no weight", _experiments(_arm(1, weight=0)),
     ["experiments[0].arms[1].weight: must be above 0"]),
    ("arm names used twice", _experiments(_arm(1, name="control")),
     ["experiments[0].arms[1]: arm name 'control' is used twice"]),
    ("one arm", _experiments(experiment(arms=[{"name": "control"}])),
     ["experiments[0].arms: an experiment needs at least two arms (the first is the control)"]),
    ("an unknown placement", _experiments(experiment(placement="checkout")),
     ["experiments[0].placement: unknown placement 'checkout'"]),
    ("an unknown status", _experiments(experiment(status="stopped")),
     ["experiments[0].status: must be one of running, paused, ended, not 'stopped'"]),
    ("a holdout of everybody", _experiments(experiment(holdout=1)),
     ["experiments[0].holdout: must be below 1.0, not 1"]),
    ("no start", _experiments({k: v for k, v in experiment().items() if k != "startedAt"}),
     ["experiments[0]: missing field 'startedAt'"]),
    ("a start that is no time", _experiments(experiment(startedAt="yesterday")),
     ["experiments[0].startedAt: must be an ISO 8601 time, not 'yesterday'"]),
    ("ended without an end", _experiments(experiment(status="ended")),
     ["experiments[0]: an ended experiment needs 'endedAt'"]),
    ("an end before the start",
     _experiments(experiment(status="ended", endedAt="2026-11-30T00:00:00Z")),
     ["experiments[0].endedAt: must be after startedAt"]),
    ("a winner of a running experiment", _experiments(experiment(winner="banner")),
     ["experiments[0].winner: only an ended experiment has 'winner'"]),
    ("a winner that is no name",
     _experiments(experiment(status="ended", endedAt="2026-12-02T00:00:00Z", winner=["b"])),
     ["experiments[0].winner: unknown arm ['b']"]),
    ("an unknown winner",
     _experiments(experiment(status="ended", endedAt="2026-12-02T00:00:00Z", winner="b")),
     ["experiments[0].winner: unknown arm 'b'"]),
    ("two running on one placement", _experiments(experiment(), experiment(id="a-a")),
     ["experiments: experiments 'cart-banner' and 'a-a' both run on placement 'home-hero': "
      "at most one runs per placement"]),
    ("an experiment id used twice",
     _experiments(experiment(), experiment(status="paused")),
     ["experiments: experiment id 'cart-banner' is used twice"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "problems"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_a_broken_file_is_refused_naming_where(change: Change, problems: list[str]) -> None:
    document = rules()
    change(document)

    with pytest.raises(RulesError) as refused:
        parse_rule_set(encode(document), SITE)

    assert refused.value.problems == problems
    assert str(refused.value) == "\n".join(problems)


def test_every_problem_is_named_not_only_the_first() -> None:
    document = rules(version=7, experiments=[_arm(0, disableRules=["nope"])])
    _cart_test({"fact": "profile.cart.lastChangedAt", "older": 600})(document)
    _hero_rule(2, content="loyalty")(document)

    with pytest.raises(RulesError) as refused:
        parse_rule_set(encode(document), SITE)

    assert refused.value.problems == [
        "version: must be a string, not a number",
        f"{HERO}.rules[1].when.all[1]: unknown operator 'older'",
        f"{HERO}.rules[2].content: unknown content 'loyalty'",
        "experiments[0].arms[0].disableRules[0]: unknown rule 'nope'",
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"site": ', "not valid JSON: "),
        (b"[]", "must be an object, not a list"),
    ],
)
def test_a_file_that_is_no_rules_object_is_refused(body: bytes, problem: str) -> None:
    with pytest.raises(RulesError) as refused:
        parse_rule_set(body, SITE)

    assert len(refused.value.problems) == 1
    assert refused.value.problems[0].startswith(problem)


def test_a_good_file_parses_into_its_placements_and_experiments() -> None:
    document = rules(
        experiments=[
            experiment(holdout=0.1),
            experiment(
                id="old-hero",
                status="ended",
                endedAt="2026-12-01T06:00:00+00:00",
                winner="plain",
                arms=[{"name": "hero"}, {"name": "plain", "weight": 3, "content": "hero-default"}],
            ),
        ]
    )

    rule_set = parse_rule_set(encode(document), SITE)

    assert (rule_set.site, rule_set.version) == (SITE, EXAMPLE["version"])
    assert rule_set.placements == ("home-hero", "home-shelf")
    assert rule_set.experiments == (
        Experiment(
            id="cart-banner",
            placement="home-hero",
            arms=(Arm("control", 1.0), Arm("banner", 1.0)),
            holdout=0.1,
            status=ExperimentStatus.RUNNING,
            started_at_ms=1_796_083_200_000,
        ),
        Experiment(
            id="old-hero",
            placement="home-hero",
            arms=(Arm("hero", 1.0), Arm("plain", 3.0)),
            status=ExperimentStatus.ENDED,
            started_at_ms=1_796_083_200_000,
            ended_at_ms=1_796_104_800_000,
            winner="plain",
        ),
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value, the value itself included."""
    found = [path]
    if isinstance(value, dict):
        for name, inner in value.items():
            found.extend(_places(inner, (*path, name)))
    elif isinstance(value, list):
        for position, inner in enumerate(value):
            found.extend(_places(inner, (*path, position)))
    return found


WITH_EXPERIMENTS = rules(
    experiments=[
        experiment(holdout=0.1),
        experiment(id="old", status="ended", endedAt="2026-12-02T00:00:00Z", winner="banner"),
    ]
)
PLACES = _places(WITH_EXPERIMENTS)[1:]


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(PLACES), json_values), min_size=1, max_size=3))
def test_any_change_to_a_file_parses_or_is_refused_naming_where(
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    document = copy.deepcopy(WITH_EXPERIMENTS)
    for path, value in changes:
        _replace(document, path, value)

    try:
        parse_rule_set(encode(document), SITE)
    except RulesError as refused:
        assert refused.problems
        assert all(problem.strip() for problem in refused.problems)


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        try:
            document = document[step]
        except (KeyError, IndexError, TypeError):
            return  # an earlier change removed the way there
    try:
        document[path[-1]] = value
    except (IndexError, TypeError):
        return
