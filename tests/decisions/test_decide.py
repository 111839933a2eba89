"""POST /v1/decide as a client sees it, through the context Lambda's handler: decisions from the
shopper's real profile, each decision's Decision Made event really in the stream (read back and
de-aggregated), arms as `assign` computes them, and the errors a client can act on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from context import handler as context_handler
from riptide.contract import DECISION_EVENT, Env
from riptide.decisions.assignment import Arm, Experiment, assign
from riptide.decisions.composition import compose_decide_service
from riptide.profiles import ProfileStore
from riptide.store import connect
from tests.decisions.decide_fixtures import (
    RULES_VERSION,
    DecideApi,
    cart_banner_rules,
    new_site_and_stream,
    post_decide,
    read_stream,
    rules,
)
from tests.own_store import OwnStore
from tests.producer.fault_injecting_kinesis import FailCall, FailRecords
from tests.profiles.conftest import LIMITS, store_url

HERO_TEST = Experiment("hero-test", "home-hero", (Arm("control", 1), Arm("loyal", 1)))


def decide(api: DecideApi, anonymous_id: str, *placements: str, **fields: Any) -> Any:
    body = {"anonymousId": anonymous_id, "placements": list(placements or ["home-hero"])}
    return api.post(body | fields)


def loyal_shopper(api: DecideApi) -> str:
    """An anonymousId whose arm of hero-test lets the loyalty rule apply."""
    anonymous_id = next(
        f"anon-{n}" for n in range(100) if assign(HERO_TEST, f"anon-{n}") == "loyal"
    )
    api.shop(anonymous_id, orders=2)
    return anonymous_id


def test_a_profile_that_meets_a_rule_gets_its_content_and_the_exposure_is_in_the_stream(
    make_api: Callable[..., DecideApi],
) -> None:
    api = make_api()
    api.write_rules(rules(api.site))
    shopper = loyal_shopper(api)

    reply = decide(api, shopper, "home-hero", "footer")

    assert reply.status == 200
    assert reply.body["rulesVersion"] == RULES_VERSION
    hero, footer = reply.body["decisions"]
    assert hero | {"decisionId": None} == {
        "placement": "home-hero",
        "decisionId": None,
        "content": {"id": "loyalty-offer", "payload": {"headline": "10% off for regulars"}},
        "rule": "loyalty",
        "experiment": "hero-test",
        "variant": "loyal",
    }
    assert footer["content"]["id"] == "newsletter"
    by_id = {exposure["messageId"]: exposure for exposure in api.exposures()}
    assert set(by_id) == {hero["decisionId"], footer["decisionId"]}
    logged = by_id[hero["decisionId"]]
    assert logged["event"] == DECISION_EVENT and logged["type"] == "track"
    assert logged["anonymousId"] == shopper and "userId" not in logged
    assert logged["properties"] == {
        "placement": "home-hero",
        "content_id": "loyalty-offer",
        "rule": "loyalty",
        "experiment": "hero-test",
        "variant": "loyal",
        "rules_version": RULES_VERSION,
    }
    assert logged["site"] == api.site  # enriched as a client's event is
    assert logged["timestamp"] == logged["receivedAt"]
    assert "experiment" not in by_id[footer["decisionId"]]["properties"]


def test_a_cart_left_a_while_shows_complete_your_order_in_the_banner_arm_only(
    make_api: Callable[..., DecideApi],
) -> None:
    api = make_api()
    api.write_rules(cart_banner_rules(api.site))
    cart_banner = Experiment("cart-banner", "home-hero", (Arm("control", 1), Arm("banner", 1)))
    shoppers = {assign(cart_banner, f"cart-{n}"): f"cart-{n}" for n in range(20)}
    api.shop(*shoppers.values(), cart=True)

    shown = {arm: decide(api, shopper).body["decisions"][0] for arm, shopper in shoppers.items()}

    assert shown["banner"]["content"] == {
        "id": "complete-your-order",
        "payload": {"headline": "Your cart is waiting", "cta": "/checkout"},
    }
    assert (shown["banner"]["rule"], shown["banner"]["variant"]) == (
        "complete-your-order",
        "banner",
    )
    assert shown["control"]["content"]["id"] == "hero-Apparel"  # the rule is off for control
    assert (shown["control"]["rule"], shown["control"]["variant"]) == ("affinity-hero", "control")


def test_a_shopper_without_a_profile_gets_the_fallback(make_api: Callable[..., DecideApi]) -> None:
    api = make_api()
    api.write_rules(rules(api.site))

    reply = decide(api, "anon-new", "footer", userId="u-new")

    assert reply.status == 200
    assert reply.body["decisions"][0]["content"]["id"] == "newsletter"
    [logged] = api.exposures()
    assert (logged["userId"], logged["anonymousId"]) == ("u-new", "anon-new")


def test_trends_and_page_context_are_facts_and_unusable_trends_are_none(
    make_api: Callable[..., DecideApi],
) -> None:
    api = make_api(trends_max_age_seconds=0)
    document = rules(api.site)
    document["placements"]["footer"]["rules"] = [
        {
            "id": "trending-on-sale-page",
            "priority": 10,
            "when": {
                "all": [
                    {"fact": "page.path", "eq": "/sale"},
                    {"fact": "trends.trending.0.productId", "exists": True},
                ]
            },
            "content": "loyalty-offer",
        }
    ]
    api.write_rules(document)
    on_sale = {"context": {"page": {"path": "/sale"}}}

    def rule(**fields: Any) -> Any:
        reply = decide(api, "anon-t", "footer", **fields)
        assert reply.status == 200
        return reply.body["decisions"][0]["rule"]

    assert rule(**on_sale) is None  # no trends document yet
    api.write_trends({"site": api.site, "trending": [{"productId": "p-9", "score": 2.0}]})
    assert rule(**on_sale) == "trending-on-sale-page"
    assert rule() is None  # not on the sale page
    api.documents.write(f"trends/{api.site}.json", b"{not json")
    assert rule(**on_sale) is None


@given(shopper=st.text(min_size=1, max_size=40))
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_each_shopper_sees_and_logs_the_arm_assign_gives(
    make_api: Callable[..., DecideApi], shopper: str
) -> None:
    api = make_api()
    api.write_rules(rules(api.site, holdout=0.2))

    reply = decide(api, shopper, userId=f"u-{shopper}")  # the anonymousId decides

    assert reply.status == 200
    [decision] = reply.body["decisions"]
    variant = assign(Experiment("hero-test", "home-hero", HERO_TEST.arms, holdout=0.2), shopper)
    assert decision["variant"] == variant
    [logged] = api.exposures()
    assert logged["messageId"] == decision["decisionId"]
    assert logged["properties"]["variant"] == variant
    assert logged["properties"]["experiment"] == "hero-test"


@pytest.mark.parametrize("status", ["paused", "ended"])
def test_paused_and_ended_experiments_log_the_decision_without_an_arm(
    make_api: Callable[..., DecideApi], status: str
) -> None:
    api = make_api()
    api.write_rules(rules(api.site, status=status))
    shopper = loyal_shopper(api)

    reply = decide(api, shopper)

    assert reply.status == 200
    [logged] = api.exposures()
    assert logged["messageId"] == reply.body["decisions"][0]["decisionId"]
    assert "experiment" not in logged["properties"]
    assert "variant" not in logged["properties"]


def test_an_unknown_placement_is_named_and_not_logged(make_api: Callable[..., DecideApi]) -> None:
    api = make_api()
    api.write_rules(rules(api.site))

    reply = decide(api, "anon-u", "sidebar", "footer")

    assert reply.status == 200
    unknown, footer = reply.body["decisions"]
    assert unknown["placement"] == "sidebar" and unknown["error"] == "unknown_placement"
    assert "decisionId" not in unknown
    assert [e["messageId"] for e in api.exposures()] == [footer["decisionId"]]


def test_a_site_without_rules_has_no_placements_and_says_why(
    make_api: Callable[..., DecideApi],
) -> None:
    api = make_api()

    reply = decide(api, "anon-r", "home-hero")

    assert reply.status == 200
    assert reply.body["rulesVersion"] is None
    [decision] = reply.body["decisions"]
    assert decision["error"] == "unknown_placement"
    assert f"rules/{api.site}.json" in decision["message"]
    assert api.exposures() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"anonymousId": "a"}, "placements"),
        ({"placements": ["home-hero"]}, "userId"),
        ({"anonymousId": "a", "placements": []}, "placements"),
        ({"anonymousId": "a", "placements": [f"p{n}" for n in range(11)]}, "placements"),
        ({"anonymousId": "a", "placements": ["home-hero", 7]}, "placements[1]"),
        ({"anonymousId": "a", "placements": ["footer", "footer"]}, "placements[1]"),
        ({"anonymousId": 42, "placements": ["footer"]}, "anonymousId"),
        ({"anonymousId": "", "placements": ["footer"]}, "anonymousId"),
        ({"userId": "u" * 300, "placements": ["footer"]}, "userId"),
        ({"anonymousId": "a", "placements": ["footer"], "context": []}, "context"),
        ({"anonymousId": "a", "placements": ["footer"], "context": {"page": 1}}, "context.page"),
        (["footer"], ""),
    ],
)
def test_a_bad_body_is_refused_naming_the_field(
    make_api: Callable[..., DecideApi], body: Any, field: str
) -> None:
    api = make_api()
    api.write_rules(rules(api.site))

    reply = api.post(body)

    assert reply.status == 400
    assert reply.body["code"] == "bad_request"
    assert reply.body["field"] == field
    assert reply.body["message"].startswith(f"{field}: " if field else "")
    assert api.exposures() == []


def test_a_body_that_is_not_json_is_refused(make_api: Callable[..., DecideApi]) -> None:
    api = make_api()

    reply = api.post(None, raw=b"{not json")

    assert (reply.status, reply.body["code"]) == (400, "bad_request")


@pytest.mark.parametrize("key", [None, "rk_unknown", "wk_decide_write_key"])
def test_only_a_read_key_of_the_site_may_ask(
    make_api: Callable[..., DecideApi], key: str | None
) -> None:
    api = make_api()
    api.write_rules(rules(api.site))

    reply = decide_with_key(api, key)

    assert reply.status == 401
    assert reply.body["code"] == "unauthorized"
    assert api.exposures() == []


def decide_with_key(api: DecideApi, key: str | None) -> Any:
    return api.post({"anonymousId": "anon-k", "placements": ["footer"]}, key=key)


def test_a_store_outage_answers_503_and_logs_nothing(
    make_api: Callable[..., DecideApi], tmp_path: Path
) -> None:
    own = OwnStore(tmp_path / "store")
    own.start()
    try:
        api = make_api(profiles=ProfileStore(connect(own.url), LIMITS))
        api.write_rules(rules(api.site))
        api.shop("anon-s", orders=2)
        assert decide(api, "anon-s").status == 200
        before = api.exposures()
    finally:
        own.stop()

    reply = decide(api, "anon-s")

    assert reply.status == 503
    assert reply.body["code"] == "profile_store_unavailable"
    assert reply.headers["Retry-After"]
    assert api.exposures() == before


def test_kinesis_failing_answers_503_and_shows_no_decision(
    make_api: Callable[..., DecideApi],
) -> None:
    api = make_api([FailCall("InternalFailure", status=500)], repeat_last=True)
    api.write_rules(rules(api.site))

    reply = decide(api, "anon-k", "home-hero", "footer")

    assert reply.status == 503
    assert reply.body["code"] == "kinesis_unavailable"
    assert "decisions" not in reply.body
    assert api.exposures() == []


def test_exposures_are_answered_once_kinesis_took_a_record_it_first_refused(
    make_api: Callable[..., DecideApi],
) -> None:
    api = make_api([FailRecords()])
    api.write_rules(rules(api.site))

    reply = decide(api, "anon-k", "home-hero", "footer")

    assert reply.status == 200
    assert len(api.kinesis.calls) == 2  # the throttled record was sent again
    assert sorted(e["messageId"] for e in api.exposures()) == sorted(
        d["decisionId"] for d in reply.body["decisions"]
    )


def test_the_function_composes_its_decider_from_its_environment(
    aws: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    store_client: Any,
) -> None:
    site, secret_arn, stream = new_site_and_stream()
    folder = tmp_path / "decisions"
    (folder / "rules").mkdir(parents=True)
    (folder / "rules" / f"{site}.json").write_text(json.dumps(rules(site)))
    for name, value in {
        Env.STREAM_NAME: stream,
        Env.PROFILE_STORE_URL: store_url(),
        Env.PROFILE_STORE_CLUSTER: "false",
        Env.READ_KEYS_SECRET_ARN: secret_arn,
        Env.DECISIONS_URL: f"file://{folder}",
    }.items():
        monkeypatch.setenv(name, value)
    service = compose_decide_service(context_handler.metrics, context_handler.logger)
    monkeypatch.setattr(context_handler, "decide_service", lambda: service)

    reply = post_decide({"anonymousId": "anon-e", "placements": ["footer"]})

    assert reply.status == 200
    [logged] = [e for e in read_stream(boto3.client("kinesis"), stream)]
    assert logged["messageId"] == reply.body["decisions"][0]["decisionId"]


def test_a_function_without_decide_settings_answers_500_naming_the_missing_one(
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (Env.STREAM_NAME, Env.DECISIONS_URL, Env.READ_KEYS_SECRET_ARN):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(Env.PROFILE_STORE_URL, store_url())
    service = compose_decide_service(context_handler.metrics, context_handler.logger)
    monkeypatch.setattr(context_handler, "decide_service", lambda: service)

    reply = post_decide({"anonymousId": "anon-m", "placements": ["footer"]})

    assert reply.status == 500
    assert reply.body["code"] == "misconfigured"
    assert Env.STREAM_NAME in reply.body["message"]
