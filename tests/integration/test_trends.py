"""The trends job against the real Druid: product events rolled up with the default dimensions
and appended to the datasource, then the trends documents the job writes from its SQL.

Each test's sites are its own (Druid keeps every earlier run's rows); the job's clock is fixed,
so which minute counts as recent never depends on when the test runs.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import trends.handler
from moto import mock_aws

from riptide.contract import Env
from riptide.decisions.documents import DirectoryDocuments, trends_key
from riptide.druid import DruidAuth, DruidClient, DruidRequestError, build_index_task
from riptide.retry import Deadline
from riptide.rollup import Rollup, RollupSchema, TimePolicy
from riptide.trends import TrendsJob, TrendsReport
from tests.fake_aws import REGION, use_fake_aws_credentials
from tests.integration.conftest import DruidHttp, DruidSettings, wait_for
from tools.lambda_kit.context import FunctionSpec

pytestmark = pytest.mark.druid

NOW = datetime(2026, 11, 28, 12, 0, 20, tzinfo=UTC)
"""The job's clock: recent is 11:45-12:00, baseline 10:45-11:45, top 11:00-12:00."""
TRENDS = FunctionSpec("riptide-trends", timeout_seconds=60, memory_mb=512)
DECISIONS_BUCKET = "riptide-decisions"
SCHEMA = RollupSchema.from_settings(None, None)


def minutes_before_now(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


class Shop:
    """Segment events of one site, as the producer stores them, for the default rollup."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.events: list[bytes] = []

    def track(
        self,
        event: str,
        count: int,
        at: datetime,
        product: str | None = None,
        category: str | None = None,
    ) -> None:
        properties: dict[str, Any] = {}
        if product is not None:
            properties["product_id"] = product
        if category is not None:
            properties["category"] = category
        moment = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for index in range(count):
            body = {
                "type": "track",
                "event": event,
                "anonymousId": f"a{index}",
                "site": self.site,
                "timestamp": moment,
                "receivedAt": moment,
                "properties": properties,
            }
            self.events.append(json.dumps(body).encode())

    def product_events(self) -> int:
        """What Druid holds for this shop once loaded: every event here names a product."""
        return len(self.events)


def load(druid_settings: DruidSettings, pipeline: DruidHttp, task_id: str, *shops: Shop) -> None:
    """Roll the shops' events up with the default schema, append them as the consumer does, and
    wait until SQL sees all of them."""
    rollup = Rollup(SCHEMA, TimePolicy())
    for shop in shops:
        for payload in shop.events:
            rollup.add(payload)
    task = build_index_task(
        task_id=task_id,
        datasource=druid_settings.datasource,
        rows_ndjson=rollup.to_ndjson(),
        intervals=rollup.intervals(),
        dimensions=SCHEMA.druid_dimensions(),
        metrics_spec=SCHEMA.druid_metrics_spec(),
    )
    submitted = pipeline.request("POST", "/druid/indexer/v1/task", task)
    assert submitted.status == 200, submitted
    states = pipeline.wait_for_tasks(druid_settings.datasource, task_id)
    assert set(states.values()) == {"SUCCESS"}, states
    for shop in shops:
        wait_for(
            lambda shop=shop: pipeline.sql(
                f'SELECT SUM("events") AS "events" FROM "{druid_settings.datasource}" '
                'WHERE "site" = ? AND "product" IS NOT NULL',
                [shop.site],
            ),
            lambda answer, shop=shop: (
                answer.status == 200 and answer.json()[0]["events"] == shop.product_events()
            ),
            f"the product events of {shop.site} to be queryable",
        )


def pipeline_client(druid_settings: DruidSettings, url: str | None = None) -> DruidClient:
    return DruidClient(
        url or druid_settings.url, DruidAuth(druid_settings.user, druid_settings.password)
    )


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def read_document(documents: DirectoryDocuments, site: str) -> dict[str, Any]:
    document = documents.read(trends_key(site))
    assert document is not None, f"no trends document for {site}"
    return json.loads(document.body)


@pytest.fixture
def documents(tmp_path: Path) -> DirectoryDocuments:
    return DirectoryDocuments(tmp_path)


def northwind(site: str) -> Shop:
    """A shop whose trends are worked out by hand in the test below."""
    shop = Shop(site)
    # Rising: 35 views and 5 orders (orders name no category) recently, 60 views an hour ago.
    shop.track("Product Viewed", 35, minutes_before_now(10), "p-rising", "Apparel")
    shop.track("Order Completed", 5, minutes_before_now(5), "p-rising")
    shop.track("Product Viewed", 60, minutes_before_now(50), "p-rising", "Apparel")
    # New, but only two views: the raw ratio (2 against 0) would put it first.
    shop.track("Product Added", 2, minutes_before_now(3), "p-new", "Apparel")
    # Steady: 10 recently, 40 in the hour before (as many per minute); none of it in the top hour.
    shop.track("Product Viewed", 10, minutes_before_now(14), "p-steady", "Shoes")
    shop.track("Product Viewed", 40, minutes_before_now(70), "p-steady", "Shoes")
    # Shoes on the rise: 12 recently, 8 in the hour before (in the top hour too).
    shop.track("Product Added", 12, minutes_before_now(1), "p-shoes-up", "Shoes")
    shop.track("Product Viewed", 8, minutes_before_now(30), "p-shoes-up", "Shoes")
    # Falling: the most events of the last hour, nearly none recently.
    shop.track("Product Viewed", 1, minutes_before_now(2), "p-falling", "Apparel")
    shop.track("Product Viewed", 120, minutes_before_now(45), "p-falling", "Apparel")
    # Not counted: other events, the minute still being gathered, before the baseline.
    shop.track("Checkout Started", 50, minutes_before_now(4), "p-steady", "Shoes")
    shop.track("Product Viewed", 30, NOW, "p-steady", "Shoes")
    shop.track("Product Viewed", 30, minutes_before_now(76), "p-steady", "Shoes")
    return shop


def test_trends_rank_products_by_smoothed_rise_per_site_and_category(
    druid_settings: DruidSettings, pipeline_http: DruidHttp, documents, run_id: str
):
    shop = northwind(f"trends-a-{run_id}")
    other = Shop(f"trends-b-{run_id}")
    other.track("Product Viewed", 3, minutes_before_now(6), "p-rising", "Apparel")
    load(druid_settings, pipeline_http, f"riptide_trends_{run_id}", shop, other)
    job = TrendsJob(
        pipeline_client(druid_settings), druid_settings.datasource, documents, clock=lambda: NOW
    )

    report = job.run(Deadline(60))

    assert report.failures == 0
    rising = {"productId": "p-rising", "category": "Apparel", "recent": 40, "baseline": 60}
    new = {"productId": "p-new", "category": "Apparel", "recent": 2, "baseline": 0}
    shoes = {"productId": "p-shoes-up", "category": "Shoes", "recent": 12, "baseline": 8}
    assert read_document(documents, shop.site) == {
        "site": shop.site,
        "generatedAt": "2026-11-28T12:00:20Z",
        "recentMinutes": 15,
        "baselineMinutes": 60,
        "trending": [
            {**shoes, "score": 2.43},  # (12 + 5) / (8 / 4 + 5)
            {**rising, "score": 2.25},  # (40 + 5) / (60 / 4 + 5)
            {**new, "score": 1.4},  # (2 + 5) / (0 + 5)
        ],
        "byCategory": {
            "Apparel": [{**rising, "score": 2.25}, {**new, "score": 1.4}],
            "Shoes": [{**shoes, "score": 2.43}],
        },
        "top": [
            {"productId": "p-falling", "category": "Apparel", "events": 121},
            {"productId": "p-rising", "category": "Apparel", "events": 100},
            {"productId": "p-shoes-up", "category": "Shoes", "events": 20},
            {"productId": "p-steady", "category": "Shoes", "events": 10},
            {"productId": "p-new", "category": "Apparel", "events": 2},
        ],
    }
    other_trend = {"productId": "p-rising", "category": "Apparel", "recent": 3, "baseline": 0}
    assert read_document(documents, other.site) == {
        "site": other.site,
        "generatedAt": "2026-11-28T12:00:20Z",
        "recentMinutes": 15,
        "baselineMinutes": 60,
        "trending": [{**other_trend, "score": 1.6}],
        "byCategory": {"Apparel": [{**other_trend, "score": 1.6}]},
        "top": [{"productId": "p-rising", "category": "Apparel", "events": 3}],
    }


def test_a_site_gone_quiet_gets_empty_trends(
    druid_settings: DruidSettings, pipeline_http: DruidHttp, documents, run_id: str
):
    quiet = f"trends-quiet-{run_id}"
    documents.write(trends_key(quiet), b'{"trending": [{"productId": "p-old"}]}')
    job = TrendsJob(
        pipeline_client(druid_settings), druid_settings.datasource, documents, clock=lambda: NOW
    )

    job.run(Deadline(60))

    document = read_document(documents, quiet)
    assert (document["trending"], document["byCategory"], document["top"]) == ([], {}, [])


@pytest.mark.parametrize("failure", ["unreachable", "wrong password", "no such datasource"])
def test_a_failed_query_leaves_every_document_as_it_was(
    druid_settings: DruidSettings, documents, run_id: str, failure: str
):
    site = f"trends-kept-{run_id}"
    previous = b'{"site": "%s", "trending": [{"productId": "p-1"}]}' % site.encode()
    documents.write(trends_key(site), previous)
    auth = DruidAuth(druid_settings.user, druid_settings.password)
    druid, datasource = DruidClient(druid_settings.url, auth), druid_settings.datasource
    if failure == "unreachable":
        druid = DruidClient(closed_port_url(), auth)
    elif failure == "wrong password":
        druid = DruidClient(druid_settings.url, DruidAuth(druid_settings.user, "not-it"))
    else:
        datasource = f"no_such_{run_id}"
    job = TrendsJob(druid, datasource, documents, clock=lambda: NOW)

    report = job.run(Deadline(2))

    assert report == TrendsReport(refreshed=0, failures=1)
    assert documents.read(trends_key(site)).body == previous
    assert documents.keys("trends/") == [trends_key(site)]


def test_sql_parameters_carry_any_text_and_druids_refusal_is_named(
    druid_settings: DruidSettings, run_id: str
):
    client = pipeline_client(druid_settings)
    awkward = f'it\'s "{run_id}"; DROP TABLE x; --'

    rows = client.sql(
        'SELECT ? AS "text", ? AS "moment", ? + 1 AS "number"',
        [awkward, NOW, 41],
        Deadline(30),
    )
    with pytest.raises(DruidRequestError) as refused:
        client.sql('SELECT "no_such_column" FROM "events_1m"', [], Deadline(30))

    assert rows == [{"text": awkward, "moment": "2026-11-28T12:00:20.000Z", "number": 42}]
    assert refused.value.status == 400
    assert "no_such_column" in refused.value.druid_message


@pytest.fixture
def decisions_bucket(
    monkeypatch: pytest.MonkeyPatch, druid_settings: DruidSettings
) -> Iterator[Any]:
    """moto's S3 as the document store and its Secrets Manager holding the pipeline user, with
    the function's environment as the stack sets it."""
    use_fake_aws_credentials(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=DECISIONS_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        secret = boto3.client("secretsmanager").create_secret(
            Name="riptide/druid",
            SecretString=json.dumps(
                {"username": druid_settings.user, "password": druid_settings.password}
            ),
        )
        for name, value in {
            Env.DECISIONS_URL: f"s3://{DECISIONS_BUCKET}/decisions",
            Env.DRUID_URL: druid_settings.url,
            Env.DRUID_DATASOURCE: druid_settings.datasource,
            Env.DRUID_SECRET_ARN: secret["ARN"],
        }.items():
            monkeypatch.setenv(name, value)
        trends.handler.trends_job.cache_clear()
        yield s3
    trends.handler.trends_job.cache_clear()


def emitted_metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The metrics blob Powertools printed for the trends function (embedded metric format)."""
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    (blob,) = [line for line in emitted if "TrendsFailures" in line]
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Riptide"
    return blob


def test_the_scheduled_function_writes_trends_to_the_bucket(
    decisions_bucket: Any,
    druid_settings: DruidSettings,
    pipeline_http: DruidHttp,
    run_id: str,
    capsys: pytest.CaptureFixture[str],
):
    shop = Shop(f"trends-fn-{run_id}")
    a_minute_ago = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    shop.track("Product Viewed", 4, a_minute_ago, "p-9", "Garden")
    load(druid_settings, pipeline_http, f"riptide_trends_fn_{run_id}", shop)
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

    summary = trends.handler.handler(scheduled, TRENDS.frozen_context())

    assert summary["failures"] == 0 and summary["refreshed"] >= 1
    metrics = emitted_metrics(capsys)
    assert (metrics["TrendsSitesRefreshed"], metrics["TrendsFailures"]) == (
        [float(summary["refreshed"])],
        [0.0],
    )
    stored = decisions_bucket.get_object(
        Bucket=DECISIONS_BUCKET, Key=f"decisions/{trends_key(shop.site)}"
    )
    document = json.loads(stored["Body"].read())
    assert document["top"] == [{"productId": "p-9", "category": "Garden", "events": 4}]
    assert [entry["productId"] for entry in document["trending"]] == ["p-9"]


def test_the_function_reports_a_failed_query_and_keeps_the_documents(
    decisions_bucket: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    key = f"decisions/{trends_key('shop-1')}"
    decisions_bucket.put_object(Bucket=DECISIONS_BUCKET, Key=key, Body=b'{"top": []}')
    monkeypatch.setenv(Env.DRUID_URL, closed_port_url())
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

    summary = trends.handler.handler(scheduled, TRENDS.frozen_context(remaining_millis=5_000))

    assert summary == {"refreshed": 0, "failures": 1}
    metrics = emitted_metrics(capsys)
    assert (metrics["TrendsSitesRefreshed"], metrics["TrendsFailures"]) == ([0.0], [1.0])
    stored = decisions_bucket.get_object(Bucket=DECISIONS_BUCKET, Key=key)
    assert stored["Body"].read() == b'{"top": []}'
