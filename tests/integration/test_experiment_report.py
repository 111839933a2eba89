"""An experiment measured end to end: shoppers' decisions and orders go through the consumer
(experiments from a rules file at DECISIONS_URL) into the real Druid, and `riptide experiment
report` reads back exactly what each arm did."""

from __future__ import annotations

import io
import json
import uuid
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import consumer.handler
from riptide.contract import DECISION_EVENT, Env
from riptide.decisions.assignment import Arm, Experiment, assign
from riptide.delivery import Outbox
from tests.delivery.kinesis_events import CONSUMER, shard_records
from tests.integration.conftest import DruidHttp, DruidSettings, wait_for
from tests.integration.test_consumer_to_druid import (  # noqa: F401 (fixture)
    outbox,
    unique_shard_index,
)
from tools import cli
from tools.lambda_kit.kinesis import kinesis_event

pytestmark = pytest.mark.druid

STARTED = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
SINCE = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
PLAN = {
    # arm: (shoppers, exposed twice, buyers, buying twice, revenue per order)
    "control": (30, 5, 6, 1, 20.0),
    "banner": (30, 10, 18, 2, 25.0),
}
EXPECTED = {  # arm: (exposures, orders, revenue)
    "control": (35, 7, 140.0),
    "banner": (40, 20, 500.0),
}


def rules_file(site: str, experiment: str) -> dict[str, Any]:
    """A site whose home hero shows a banner to shoppers with a cart, but not in control."""
    return {
        "site": site,
        "version": "2026-11-27.1",
        "contents": {
            "complete-your-order": {"payload": {"headline": "Your cart is waiting"}},
            "hero-default": {"payload": {"image": "/img/hero.jpg"}},
        },
        "placements": {
            "home-hero": {
                "rules": [
                    {
                        "id": "complete-your-order",
                        "priority": 100,
                        "when": {"fact": "profile.cart.value", "gt": 0},
                        "content": "complete-your-order",
                    }
                ],
                "fallback": "hero-default",
            }
        },
        "experiments": [
            {
                "id": experiment,
                "placement": "home-hero",
                "status": "running",
                "startedAt": STARTED.isoformat().replace("+00:00", "Z"),
                "holdout": 0.0,
                "arms": [
                    {"name": "control", "weight": 1, "disableRules": ["complete-your-order"]},
                    {"name": "banner", "weight": 1},
                ],
            }
        ],
    }


class Shop:
    def __init__(self, site: str, experiment: str) -> None:
        self.site = site
        self.experiment = Experiment(experiment, "home-hero", (Arm("control", 1), Arm("banner", 1)))
        self.events: list[bytes] = []

    def shoppers(self, arm: str, count: int) -> list[str]:
        """`count` new anonymous shoppers the hash puts in `arm`."""
        found: list[str] = []
        while len(found) < count:
            shopper = f"anon-{uuid.uuid4().hex[:10]}"
            if assign(self.experiment, shopper) == arm:
                found.append(shopper)
        return found

    def track(self, shopper: str, event: str, at: datetime, **properties: Any) -> None:
        stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {
            "type": "track",
            "event": event,
            "anonymousId": shopper,
            "messageId": uuid.uuid4().hex,
            "site": self.site,
            "timestamp": stamp,
            "receivedAt": stamp,
            "properties": properties,
        }
        self.events.append(json.dumps(body).encode())

    def exposure(self, shopper: str, arm: str, at: datetime) -> None:
        """The Decision Made event the decider writes for a shopper in the experiment."""
        self.track(
            shopper,
            DECISION_EVENT,
            at,
            placement="home-hero",
            content_id="hero-default",
            rule=None,
            experiment=self.experiment.id,
            variant=arm,
            rules_version="2026-11-27.1",
        )


def a_test_shop(site: str, experiment: str) -> Shop:
    shop = Shop(site, experiment)
    minute = SINCE + timedelta(minutes=3)
    for arm, (count, twice, buyers, buying_twice, revenue) in PLAN.items():
        shoppers = shop.shoppers(arm, count)
        for index, shopper in enumerate(shoppers):
            shop.track(shopper, "Page Viewed", minute)
            for _ in range(2 if index < twice else 1):
                shop.exposure(shopper, arm, minute)
            if index >= count - buyers:
                for _ in range(2 if index >= count - buying_twice else 1):
                    shop.track(shopper, "Order Completed", minute, revenue=revenue)
        # Before --since: attributed, but outside the report's span.
        shop.exposure(shoppers[0], arm, SINCE - timedelta(minutes=10))
        # Before the experiment started: no arm, so in no report.
        shop.track(shoppers[-1], "Order Completed", STARTED - timedelta(minutes=5), revenue=99.0)
    # A decision outside any experiment is no exposure.
    shop.track(shop.shoppers("banner", 1)[0], DECISION_EVENT, minute, placement="footer")
    return shop


def every_event_queryable(pipeline: DruidHttp, settings: DruidSettings, shop: Shop) -> None:
    """Wait until Druid answers for every event of the shop (its segments of both hours)."""
    wait_for(
        lambda: pipeline.sql(
            f'SELECT SUM("events") AS "events" FROM "{settings.datasource}" WHERE "site" = ?',
            [shop.site],
        ),
        lambda answer: answer.status == 200 and answer.json()[0]["events"] == len(shop.events),
        f"the {len(shop.events)} events of {shop.site} to be queryable",
    )


def report(settings: DruidSettings, *arguments: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        status = cli.main(
            [
                "experiment",
                "report",
                *arguments,
                "--druid-url",
                settings.url,
                "--datasource",
                settings.datasource,
                "--user",
                settings.user,
                "--password",
                settings.password,
            ]
        )
    return status, out.getvalue()


def test_the_report_gives_each_arm_its_exposures_orders_revenue_and_the_lift(
    outbox: Outbox,  # noqa: F811
    druid_settings: DruidSettings,
    pipeline_http: DruidHttp,
    run_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    site, experiment = f"shop-{run_id}", f"cart-banner-{run_id}"
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / f"{site}.json").write_text(json.dumps(rules_file(site, experiment)))
    monkeypatch.setenv(Env.DECISIONS_URL, tmp_path.as_uri())
    consumer.handler.shard_consumer.cache_clear()
    shop = a_test_shop(site, experiment)
    groups = [shop.events[at : at + 40] for at in range(0, len(shop.events), 40)]
    records = shard_records(unique_shard_index(run_id), groups)

    response = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

    assert response == {"batchItemFailures": []}
    every_event_queryable(pipeline_http, druid_settings, shop)

    status, printed = report(
        druid_settings,
        *("--experiment", experiment, "--site", site, "--since", SINCE.isoformat(), "--json"),
    )

    assert status == cli.EXIT_PASS
    arms = {arm["arm"]: arm for arm in json.loads(printed)["arms"]}
    assert list(arms) == ["control", "banner"]
    assert figures(arms) == EXPECTED
    for arm, (count, _, buyers, _, _) in PLAN.items():
        assert (arms[arm]["users"], arms[arm]["buyers"]) == (count, buyers)
    banner = arms["banner"]
    assert banner["conversion"] == pytest.approx(18 / 30)
    assert banner["revenuePerUserDifference"] == pytest.approx(500 / 30 - 140 / 30)
    lift = banner["conversionDifference"]
    assert lift["estimate"] == pytest.approx(18 / 30 - 6 / 30)
    assert 0 < lift["low"] < lift["estimate"] < lift["high"]
    assert arms["control"]["conversionDifference"] is None

    status, printed = report(druid_settings, "--experiment", experiment, "--site", site, "--json")

    assert status == cli.EXIT_PASS
    everything = {arm["arm"]: arm for arm in json.loads(printed)["arms"]}
    assert figures(everything) == {  # the exposures before --since; never the earlier orders
        arm: (exposures + 1, orders, revenue)
        for arm, (exposures, orders, revenue) in EXPECTED.items()
    }


def figures(arms: dict[str, dict[str, Any]]) -> dict[str, tuple[int, int, float]]:
    return {
        arm: (found["exposures"], found["orders"], found["revenue"]) for arm, found in arms.items()
    }
