"""The shoppers' decision client against a stand-in decide API behind the local HTTP API.

The stand-in (`stand_in_decide`) is a handler of a few lines, not the decider: it answers as
the decide API's contract says (a decision per known placement, an error entry for an unknown
one, 503 when the profile store is down), so the tests see what the client shows a shopper and
what it counts, over real HTTP.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tools.lambda_kit.context import FunctionSpec, LambdaContext
from tools.local.collector import free_port
from tools.local.decide_client import CONNECTION_FAILED, HttpDecisionClient
from tools.local.gateway import CONTEXT_ROUTES, LocalHttpApi
from tools.traffic import SITES

SITE = SITES[0]
DOWN = "shopper-while-the-store-is-down"


class StandInDecide:
    """Answers POST /v1/decide as the contract says; keeps every request it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        body = json.loads(event["body"])
        self.requests.append((event["headers"]["authorization"], body))
        if body.get("anonymousId") == DOWN:
            return {"statusCode": 503, "body": json.dumps({"code": "store_unavailable"})}
        decisions = [
            {
                "placement": placement,
                "decisionId": str(uuid.uuid4()),
                "content": {"id": "complete-your-order", "payload": {}},
                "rule": "complete-your-order",
                "experiment": "cart-banner",
                "variant": "banner",
            }
            if placement == "home-hero"
            else {"placement": placement, "error": "unknown_placement"}
            for placement in body["placements"]
        ]
        answer = {"rulesVersion": "1", "decisions": decisions}
        return {"statusCode": 200, "body": json.dumps(answer)}


@pytest.fixture
def decide_api() -> Iterator[tuple[LocalHttpApi, StandInDecide]]:
    stand_in = StandInDecide()
    function = FunctionSpec("riptide-context", "eu-west-1", 10, 512)
    with LocalHttpApi(stand_in, function, routes=CONTEXT_ROUTES) as api:
        yield api, stand_in


def test_an_answer_shows_each_placement_s_content_and_counts_the_decision_made_events_promised(
    decide_api: tuple[LocalHttpApi, StandInDecide],
) -> None:
    api, stand_in = decide_api
    client = HttpDecisionClient(api.url)

    shown = client.ask(
        SITE, {"anonymousId": "a-1", "userId": "u-1"}, ("home-hero", "nowhere"), {"path": "/"}
    ).result()
    client.close()

    assert shown == {"home-hero": "complete-your-order"}
    assert stand_in.requests == [
        (
            f"Bearer {SITE.read_key}",
            {
                "anonymousId": "a-1",
                "userId": "u-1",
                "placements": ["home-hero", "nowhere"],
                "context": {"page": {"path": "/"}},
            },
        )
    ]
    counts = client.counts
    assert (counts.calls, dict(counts.statuses), counts.decisions) == (1, {200: 1}, 1)
    assert dict(counts.shown) == {"home-hero: complete-your-order": 1}
    assert len(counts.latencies_ms) == 1


def test_a_failed_call_shows_the_page_s_defaults_and_promises_no_events(
    decide_api: tuple[LocalHttpApi, StandInDecide],
) -> None:
    api, _ = decide_api
    client = HttpDecisionClient(api.url)
    nobody_listens = HttpDecisionClient(f"http://127.0.0.1:{free_port()}")

    refused = client.ask(SITE, {"anonymousId": DOWN}, ("home-hero",), {"path": "/"}).result()
    unanswered = nobody_listens.ask(SITE, {"userId": "u"}, ("home-hero",), {}).result()
    client.close()
    nobody_listens.close()

    assert refused == unanswered == {}
    assert dict(client.counts.statuses) == {503: 1} and client.counts.decisions == 0
    assert dict(nobody_listens.counts.statuses) == {CONNECTION_FAILED: 1}
    assert nobody_listens.counts.decisions == 0
