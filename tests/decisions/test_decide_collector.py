"""POST /v1/decide on the collector, through its ASGI app built from the environment as in its
container: decisions answered once the group committer has put their exposures in Kinesis,
alongside Tracking API requests; a collector without the decider's settings answers 404 and
keeps taking events; half of those settings stop it at startup, naming what is missing."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from riptide.collector import service as collector_service
from riptide.collector.app import CollectorApp
from riptide.contract import DECISION_EVENT, Env
from riptide.decisions.settings import DECIDER_VARIABLES
from riptide.profiles import ProfileStore
from tests.decisions.asgi import AsgiServer
from tests.decisions.decide_fixtures import (
    READ_KEY,
    new_site_and_stream,
    read_stream,
    rules,
)
from tests.own_store import OwnStore
from tests.producer.fault_injecting_kinesis import FailCall, FaultInjectingKinesis
from tests.profiles.conftest import LIMITS, profile_consumer, store_url
from tests.profiles.events import batch, event, product

WRITE_KEY = "wk_decide_collector_1"


def collector_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, decisions: bool = True, **more: str
) -> tuple[str, str]:
    """The container's variables, pointed at moto and the local store: (site, stream)."""
    site, read_keys_arn, stream = new_site_and_stream()
    write_keys_arn = boto3.client("secretsmanager").create_secret(
        Name=f"riptide/write-keys-{stream}", SecretString=json.dumps({WRITE_KEY: site})
    )["ARN"]
    folder = tmp_path / "decisions"
    (folder / "rules").mkdir(parents=True)
    (folder / "rules" / f"{site}.json").write_text(json.dumps(rules(site)))
    variables = {
        Env.STREAM_NAME: stream,
        Env.WRITE_KEYS_SECRET_ARN: write_keys_arn,
        Env.COLLECTOR_LINGER_MS: "5",
        Env.PROFILE_STORE_CLUSTER: "false",
    }
    if decisions:
        variables |= {
            Env.PROFILE_STORE_URL: store_url(),
            Env.READ_KEYS_SECRET_ARN: read_keys_arn,
            Env.DECISIONS_URL: f"file://{folder}",
        }
    for name in DECIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in (variables | more).items():
        monkeypatch.setenv(name, value)
    return site, stream


def decide_body(anonymous_id: str, *placements: str) -> bytes:
    return json.dumps({"anonymousId": anonymous_id, "placements": list(placements)}).encode()


BEARER = {"authorization": f"Bearer {READ_KEY}"}


def shop(site: str, store_client: Any, anonymous_ids: list[str]) -> None:
    """Each shopper views an Apparel product: one batch, as the stream's positions must grow."""
    events = [
        event(site, name="Product Viewed", anonymous_id=anonymous_id,
              properties=product("p-1", "Apparel", 30.0))
        for anonymous_id in anonymous_ids
    ]  # fmt: skip
    outcome = profile_consumer(ProfileStore(store_client, LIMITS)).consume(batch([events]))
    assert outcome.applied == len(events)


def test_concurrent_decisions_are_answered_after_their_exposures_are_committed(
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    store_client: Any,
) -> None:
    site, stream = collector_environment(monkeypatch, tmp_path)
    shoppers = [f"anon-{n}" for n in range(20)]
    shop(site, store_client, shoppers)
    track = {"type": "track", "event": "Product Viewed", "anonymousId": "anon-0",
             "messageId": "m-track-1"}  # fmt: skip
    basic = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()

    async def run() -> list[Any]:
        async with AsgiServer(CollectorApp()) as server:
            return await asyncio.gather(
                server.request("POST", "/v1/track", json.dumps(track).encode(),
                               {"authorization": basic}),
                *(server.request("POST", "/v1/decide", decide_body(s, "home-hero", "footer"),
                                 BEARER) for s in shoppers),
            )  # fmt: skip

    tracked, *decided = asyncio.run(run())

    assert tracked.status == 200
    assert {reply.status for reply in decided} == {200}
    heroes = [reply.json()["decisions"][0] for reply in decided]
    assert {hero["content"]["id"] for hero in heroes} == {"hero-Apparel"}
    in_stream = read_stream(boto3.client("kinesis"), stream)
    exposures = [e for e in in_stream if e.get("event") == DECISION_EVENT]
    answered = [d["decisionId"] for reply in decided for d in reply.json()["decisions"]]
    assert sorted(e["messageId"] for e in exposures) == sorted(answered)
    assert {e["site"] for e in exposures} == {site}
    assert "m-track-1" in {e["messageId"] for e in in_stream}


def test_kinesis_failing_answers_503_on_the_collector(
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _, stream = collector_environment(
        monkeypatch, tmp_path, **{Env.COLLECTOR_PUBLISH_BUDGET_SECONDS: "0.001"}
    )
    failing = FaultInjectingKinesis(boto3.client("kinesis"), [FailCall("InternalFailure", 500)],
                                    repeat_last=True)  # fmt: skip
    monkeypatch.setattr(collector_service, "kinesis_client", lambda: failing)

    async def run() -> Any:
        async with AsgiServer(CollectorApp()) as server:
            return await server.request("POST", "/v1/decide", decide_body("a", "footer"), BEARER)

    reply = asyncio.run(run())

    assert reply.status == 503
    assert reply.json()["code"] == "kinesis_unavailable"
    assert failing.calls  # it was tried
    assert read_stream(boto3.client("kinesis"), stream) == []


def test_a_store_outage_answers_503_on_the_collector(
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    own = OwnStore(tmp_path / "store")
    collector_environment(monkeypatch, tmp_path, **{Env.PROFILE_STORE_URL: own.url})

    async def run() -> Any:
        async with AsgiServer(CollectorApp()) as server:
            health = await server.request("GET", "/health")
            decided = await server.request("POST", "/v1/decide", decide_body("a", "footer"), BEARER)
            return health, decided

    health, reply = asyncio.run(run())

    assert health.status == 200
    assert reply.status == 503
    assert reply.json()["code"] == "profile_store_unavailable"


def test_a_collector_without_decide_settings_answers_404_and_takes_events(
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    collector_environment(monkeypatch, tmp_path, decisions=False)
    basic = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    track = {"type": "track", "event": "Product Viewed", "anonymousId": "a"}

    async def run() -> tuple[Any, Any]:
        async with AsgiServer(CollectorApp()) as server:
            decided = await server.request("POST", "/v1/decide", decide_body("a", "x"), BEARER)
            tracked = await server.request(
                "POST", "/v1/track", json.dumps(track).encode(), {"authorization": basic}
            )
            return decided, tracked

    decided, tracked = asyncio.run(run())

    assert decided.status == 404
    assert decided.json()["code"] == "decisions_not_served"
    assert all(name in decided.json()["message"] for name in DECIDER_VARIABLES)
    assert tracked.status == 200


def test_half_the_decide_settings_stop_the_collector_naming_the_rest(
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    collector_environment(monkeypatch, tmp_path)
    monkeypatch.delenv(Env.DECISIONS_URL)

    async def run() -> str | None:
        async with AsgiServer(CollectorApp()) as server:
            return server.startup_failure

    failure = asyncio.run(run())

    assert failure is not None and Env.DECISIONS_URL in failure


def test_decide_answers_cors_preflights_and_only_post(
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    run: Callable[..., Any] = asyncio.run,
) -> None:
    collector_environment(monkeypatch, tmp_path)

    async def go() -> tuple[Any, Any]:
        async with AsgiServer(CollectorApp()) as server:
            preflight = await server.request(
                "OPTIONS", "/v1/decide", headers={"origin": "https://shop.example"}
            )
            get = await server.request("GET", "/v1/decide")
            return preflight, get

    preflight, get = run(go())

    assert preflight.status == 204
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    assert get.status == 405
