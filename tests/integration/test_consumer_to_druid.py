"""The consumer and the Druid client against the real Druid: what SQL returns afterwards.

Kinesis events are built as the stream delivers them (KPL aggregates of Segment events); S3
and Secrets Manager are moto's. Each test uses a shard id of its own, so its task ids and rows
are its own even though Druid keeps everything from earlier runs.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from datasketches import hll_sketch
from moto import mock_aws

import consumer.handler
import consumer.reconciler
from riptide.contract import Env
from riptide.delivery import Outbox
from riptide.druid import (
    DruidAuth,
    DruidClient,
    DruidRequestError,
    apply_compaction_config,
    build_compaction_config,
    build_index_task,
)
from riptide.retry import Deadline
from tests.delivery.kinesis_events import CONSUMER, RECONCILER, segment_event, shard_records
from tests.fake_aws import REGION, use_fake_aws_credentials
from tests.integration.conftest import Answer, DruidHttp, DruidSettings, wait_for
from tests.profiles.conftest import store_url
from tools.lambda_kit.kinesis import StreamRecord, kinesis_event

pytestmark = pytest.mark.druid

OUTBOX_BUCKET = "riptide-outbox"
QUARANTINE_BUCKET = "riptide-quarantine"
HLL_LG_K = 12
HLL_RELATIVE_ERROR = max(
    abs(hll_sketch.get_rel_err(upper, True, HLL_LG_K, 3)) for upper in (True, False)
)
"""Three standard deviations of an lgK 12 sketch merged from several: about 5%."""
CLIENT_DEADLINE_SECONDS = 30

Key = tuple[int, str]
"""(minute after 10:00, event name): one Druid row per key for the test's site."""


class Shop:
    """Segment events of one site and what Druid must hold for them afterwards."""

    def __init__(self, site: str, seed: int) -> None:
        self.site = site
        self.events: list[bytes] = []
        self._random = random.Random(seed)
        self._counts: Counter[Key] = Counter()
        self._revenue: defaultdict[Key, float] = defaultdict(float)
        self._users: defaultdict[Key, set[str]] = defaultdict(set)

    def visit(self, minute: int, event: str, users: range, revenue: float | None) -> None:
        """One event per user in `users`, in random order, a few users twice.

        User ids are the same in every run, so the HLL estimates are too: a test that passes
        once keeps passing.
        """
        visitors = [f"u{user}" for user in users]
        visitors += self._random.sample(visitors, len(visitors) // 10)
        self._random.shuffle(visitors)
        key = (minute, event)
        for user in visitors:
            payload = segment_event(
                user_id=user, revenue=revenue, minute=minute, event=event, site=self.site
            )
            self.events.append(payload)
            self._counts[key] += 1
            self._revenue[key] += revenue or 0.0
            self._users[key].add(user)

    def expected_sums(self) -> dict[Key, tuple[int, float]]:
        return {key: (count, self._revenue[key]) for key, count in self._counts.items()}

    def distinct_users(self) -> dict[Key, int]:
        return {key: len(users) for key, users in self._users.items()}

    def distinct_users_overall(self) -> int:
        return len(set().union(*self._users.values()))

    def records(self, shard_index: int, events_per_record: int = 50) -> list[StreamRecord]:
        groups = [
            self.events[start : start + events_per_record]
            for start in range(0, len(self.events), events_per_record)
        ]
        return shard_records(shard_index, groups)


def busy_shop(site: str) -> Shop:
    """Two minutes of a shop: product views and orders, some users in both minutes."""
    shop = Shop(site, seed=7)
    shop.visit(0, "Product Viewed", range(0, 3000), revenue=None)
    shop.visit(0, "Order Completed", range(0, 400), revenue=19.75)
    shop.visit(1, "Product Viewed", range(2000, 4500), revenue=None)
    shop.visit(1, "Order Completed", range(350, 800), revenue=4.5)
    return shop


def unique_shard_index(run_id: str) -> int:
    """A shard of its own: the task ids derive from shard id and sequence numbers."""
    return int(run_id, 16) % 10**12


def run_id_shard(run_id: str) -> str:
    """The shard id of `unique_shard_index`, which every task id of the test contains."""
    return f"shardId-{unique_shard_index(run_id):012d}"


def site_rows(pipeline: DruidHttp, settings: DruidSettings, site: str) -> Answer:
    """One row per minute and event of `site`, with its sums and unique users."""
    return pipeline.sql(
        f"""
        SELECT TIME_EXTRACT(__time, 'MINUTE') AS "minute", "event",
               SUM("events") AS "events", SUM("revenue") AS "revenue",
               APPROX_COUNT_DISTINCT_DS_HLL("users") AS "users"
        FROM "{settings.datasource}"
        WHERE "site" = ?
        GROUP BY 1, 2
        ORDER BY 1, 2
        """,
        [site],
    )


def site_unique_users(pipeline: DruidHttp, settings: DruidSettings, site: str) -> int:
    """Unique users of `site` over all its rows: Druid merges the rows' sketches."""
    answer = pipeline.sql(
        f"""SELECT APPROX_COUNT_DISTINCT_DS_HLL("users") AS "users" FROM "{settings.datasource}"
        WHERE "site" = ?""",
        [site],
    )
    assert answer.status == 200, answer
    (row,) = answer.json()
    return row["users"]


def within_hll_error(estimate: int, exact: int) -> bool:
    return abs(estimate - exact) <= HLL_RELATIVE_ERROR * exact


def wait_until_queryable(
    pipeline: DruidHttp, settings: DruidSettings, shop: Shop, run_id: str
) -> list[dict]:
    """The shop's rows, once every task of the test succeeded and all its events are visible."""
    states = pipeline.wait_for_tasks(settings.datasource, run_id_shard(run_id))
    assert set(states.values()) == {"SUCCESS"}, states
    expected_events = sum(count for count, _ in shop.expected_sums().values())
    # Until the broker has seen the new segments, SQL may not know the datasource or a column
    # yet (400) or may miss rows.
    answer = wait_for(
        lambda: site_rows(pipeline, settings, shop.site),
        lambda answer: (
            answer.status == 200 and sum(row["events"] for row in answer.json()) >= expected_events
        ),
        f"all {expected_events} events of site {shop.site} to be queryable",
    )
    return answer.json()


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch, druid_settings: DruidSettings) -> Iterator[Outbox]:
    """The consumer's outbox, with the consumer configured for the real Druid and moto's S3
    and Secrets Manager (holding the pipeline user's credentials)."""
    use_fake_aws_credentials(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (OUTBOX_BUCKET, QUARANTINE_BUCKET):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        secret = boto3.client("secretsmanager").create_secret(
            Name="riptide/druid",
            SecretString=json.dumps(
                {"username": druid_settings.user, "password": druid_settings.password}
            ),
        )
        for name, value in {
            Env.DRUID_URL: druid_settings.url,
            Env.DRUID_DATASOURCE: druid_settings.datasource,
            Env.DRUID_SECRET_ARN: secret["ARN"],
            Env.OUTBOX_BUCKET: OUTBOX_BUCKET,
            Env.QUARANTINE_BUCKET: QUARANTINE_BUCKET,
            Env.PROFILE_STORE_URL: store_url(),
            Env.PROFILE_STORE_CLUSTER: "false",
        }.items():
            monkeypatch.setenv(name, value)
        consumer.handler.shard_consumer.cache_clear()
        consumer.reconciler.reconciliation.cache_clear()
        yield Outbox(s3, OUTBOX_BUCKET, druid_settings.datasource)
    consumer.handler.shard_consumer.cache_clear()
    consumer.reconciler.reconciliation.cache_clear()


def test_pushed_rollups_are_exactly_what_sql_returns(
    outbox: Outbox, druid_settings: DruidSettings, pipeline_http: DruidHttp, run_id: str
):
    shop = busy_shop(f"shop-{run_id}")
    records = shop.records(unique_shard_index(run_id))

    response = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

    assert response == {"batchItemFailures": []}
    rows = wait_until_queryable(pipeline_http, druid_settings, shop, run_id)
    sums = {(row["minute"], row["event"]): (row["events"], row["revenue"]) for row in rows}
    assert sums == shop.expected_sums()
    users = {(row["minute"], row["event"]): row["users"] for row in rows}
    for key, distinct in shop.distinct_users().items():
        assert within_hll_error(users[key], distinct), (key, users[key], distinct)
    overall = site_unique_users(pipeline_http, druid_settings, shop.site)
    assert within_hll_error(overall, shop.distinct_users_overall()), overall


def test_reconciler_sees_the_tasks_succeed_and_clears_the_outbox(
    outbox: Outbox, druid_settings: DruidSettings, pipeline_http: DruidHttp, run_id: str
):
    shop = Shop(f"shop-{run_id}", seed=1)
    shop.visit(0, "Order Completed", range(20), revenue=2.5)
    event = kinesis_event(shop.records(unique_shard_index(run_id)))
    assert consumer.handler.handler(event, CONSUMER.frozen_context()) == {"batchItemFailures": []}
    assert len(list(outbox.pending())) == 1
    pipeline_http.wait_for_tasks(druid_settings.datasource, run_id_shard(run_id))

    summary = consumer.reconciler.handler({}, RECONCILER.frozen_context())

    assert summary["still_pending"] == 0
    assert list(outbox.pending()) == []


def test_batch_delivered_twice_is_counted_once(
    outbox: Outbox, druid_settings: DruidSettings, pipeline_http: DruidHttp, run_id: str
):
    shop = Shop(f"shop-{run_id}", seed=2)
    shop.visit(0, "Order Completed", range(200), revenue=3.25)
    event = kinesis_event(shop.records(unique_shard_index(run_id)))

    first = consumer.handler.handler(event, CONSUMER.frozen_context())
    again = consumer.handler.handler(event, CONSUMER.frozen_context())

    assert first == again == {"batchItemFailures": []}
    rows = wait_until_queryable(pipeline_http, druid_settings, shop, run_id)
    assert len(pipeline_http.task_states(druid_settings.datasource, run_id_shard(run_id))) == 1
    assert [(row["events"], row["revenue"]) for row in rows] == list(shop.expected_sums().values())


def test_compaction_config_is_stored_and_reported_back(druid_settings: DruidSettings, run_id: str):
    admin = DruidClient(druid_settings.url, DruidAuth("admin", druid_settings.admin_password))
    datasource = f"riptide_compaction_check_{run_id}"
    config = build_compaction_config(datasource, skip_offset="PT2H", segment_granularity="DAY")

    try:
        stored = apply_compaction_config(admin, config, Deadline(CLIENT_DEADLINE_SECONDS))
    finally:
        DruidHttp(druid_settings.url, "admin", druid_settings.admin_password).request(
            "DELETE", f"/druid/coordinator/v1/config/compaction/{datasource}"
        )

    assert stored["dataSource"] == datasource
    assert stored["skipOffsetFromLatest"] == "PT2H"
    assert stored["granularitySpec"]["segmentGranularity"] == "DAY"


def test_spec_druid_rejects_comes_back_with_druids_reason(
    druid_settings: DruidSettings, run_id: str
):
    client = DruidClient(
        druid_settings.url, DruidAuth(druid_settings.user, druid_settings.password)
    )
    task = build_index_task(
        task_id=f"riptide_rejected_{run_id}",
        datasource=druid_settings.datasource,
        rows_ndjson=b'{"ts": "2026-11-27T10:00:00Z", "site": "x", "events": 1}\n',
        intervals=["2026-11-27T11:00:00Z/2026-11-27T10:00:00Z"],
        dimensions=["site"],
        metrics_spec=[{"type": "longSum", "name": "events", "fieldName": "events"}],
    )

    with pytest.raises(DruidRequestError) as refused:
        client.submit_task(task, Deadline(CLIENT_DEADLINE_SECONDS))

    assert refused.value.status == 400
    assert "The end instant must be greater than the start instant" in str(refused.value)


def test_wrong_password_is_a_clear_authentication_error(druid_settings: DruidSettings):
    client = DruidClient(druid_settings.url, DruidAuth(druid_settings.user, "not-the-password"))

    with pytest.raises(DruidRequestError) as refused:
        client.task_status("riptide_any_task", Deadline(CLIENT_DEADLINE_SECONDS))

    assert refused.value.status == 401
    assert "User authentication failed" in str(refused.value)


LATE_TEST_FIRST_DAY = datetime(2024, 1, 1, tzinfo=UTC)
"""Days from here on hold the late-event tests' rows: one day per run."""


def late_shop_event(site: str, user: str, at: datetime, received: datetime) -> bytes:
    body = {
        "type": "track",
        "event": "Order Completed",
        "userId": user,
        "site": site,
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "receivedAt": received.isoformat().replace("+00:00", "Z"),
        "properties": {"revenue": 1.5},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def compact_to_a_day_segment(admin: DruidHttp, datasource: str, day: datetime) -> None:
    """What auto-compaction does to a day once it is older than its skip offset."""
    next_day = (day + timedelta(days=1)).date()
    interval = f"{day.date()}/{next_day}"
    answer = admin.request(
        "POST",
        "/druid/indexer/v1/task",
        {
            "type": "compact",
            "dataSource": datasource,
            "ioConfig": {
                "type": "compact",
                "inputSpec": {"type": "interval", "interval": interval},
            },
            "granularitySpec": {"segmentGranularity": "DAY"},
        },
    )
    assert answer.status == 200, answer
    task_id = answer.json()["task"]
    state = wait_for(
        lambda: admin.request("GET", f"/druid/indexer/v1/task/{task_id}/status").json(),
        lambda status: status["status"]["statusCode"] != "RUNNING",
        f"compaction task {task_id}",
    )
    assert state["status"]["statusCode"] == "SUCCESS", state
    day_segment = [{"start": f"{day.date()}T00:00:00.000Z", "end": f"{next_day}T00:00:00.000Z"}]
    wait_for(
        lambda: admin.sql(
            'SELECT DISTINCT "start", "end" FROM sys.segments WHERE datasource = ? '
            'AND is_overshadowed = 0 AND is_published = 1 AND "start" LIKE ?',
            [datasource, f"{day.date()}%"],
        ),
        lambda answer: answer.status == 200 and answer.json() == day_segment,
        f"one DAY segment for {interval}",
    )


def site_events_by_day(pipeline: DruidHttp, datasource: str, site: str) -> dict[str, int]:
    answer = pipeline.sql(
        f"""SELECT TIME_FORMAT(__time, 'yyyy-MM-dd') AS "day", SUM("events") AS "events"
        FROM "{datasource}" WHERE "site" = ? GROUP BY 1""",
        [site],
    )
    assert answer.status == 200, answer
    return {row["day"]: row["events"] for row in answer.json()}


def test_a_late_event_into_a_compacted_day_lands_and_never_holds_on_time_events_back(
    outbox: Outbox, druid_settings: DruidSettings, pipeline_http: DruidHttp, run_id: str
):
    admin = DruidHttp(druid_settings.url, "admin", druid_settings.admin_password)
    site = f"shop-{run_id}"
    late_day = LATE_TEST_FIRST_DAY + timedelta(days=int(run_id, 16) % 700)
    today = late_day + timedelta(days=2, hours=10)
    then = late_day + timedelta(hours=10)
    earlier = shard_records(
        unique_shard_index(run_id) + 1,
        [[late_shop_event(site, f"e{i}", then, then) for i in range(5)]],
    )
    assert consumer.handler.handler(kinesis_event(earlier), CONSUMER.frozen_context()) == {
        "batchItemFailures": []
    }
    states = pipeline_http.wait_for_tasks(druid_settings.datasource, earlier[0].shard_id)
    assert set(states.values()) == {"SUCCESS"}, states
    compact_to_a_day_segment(admin, druid_settings.datasource, late_day)
    on_time = [late_shop_event(site, f"u{i}", today, today) for i in range(100)]
    late = late_shop_event(site, "late", late_day + timedelta(hours=10, minutes=30), today)
    records = shard_records(unique_shard_index(run_id), [[*on_time[:50], late, *on_time[50:]]])

    response = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

    assert response == {"batchItemFailures": []}
    states = pipeline_http.wait_for_tasks(druid_settings.datasource, run_id_shard(run_id))
    assert set(states.values()) == {"SUCCESS"}, states
    expected = {late_day.date().isoformat(): 6, today.date().isoformat(): 100}
    wait_for(
        lambda: site_events_by_day(pipeline_http, druid_settings.datasource, site),
        lambda found: found == expected,
        f"the on-time and the late events of {site}",
    )
    consumer.reconciler.handler({}, RECONCILER.frozen_context())
    assert list(outbox.pending()) == []


def test_what_a_task_published_is_known_to_the_pipeline_user(
    outbox: Outbox, druid_settings: DruidSettings, pipeline_http: DruidHttp, run_id: str
):
    """The reconciler's evidence before it re-drives a FAILED task: the task audit log lists
    what a task published, the metadata store confirms it (even once compaction has replaced
    it), and a task that failed before publishing has nothing listed."""
    client = DruidClient(
        druid_settings.url, DruidAuth(druid_settings.user, druid_settings.password)
    )
    deadline = Deadline(CLIENT_DEADLINE_SECONDS)
    admin = DruidHttp(druid_settings.url, "admin", druid_settings.admin_password)
    site = f"shop-{run_id}"
    day = LATE_TEST_FIRST_DAY + timedelta(days=700 + int(run_id, 16) % 700)
    then = day + timedelta(hours=10)
    records = shard_records(unique_shard_index(run_id), [[late_shop_event(site, "u", then, then)]])
    assert consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context()) == {
        "batchItemFailures": []
    }
    ((delivered, state),) = pipeline_http.wait_for_tasks(
        druid_settings.datasource, run_id_shard(run_id)
    ).items()
    assert state == "SUCCESS"
    compact_to_a_day_segment(admin, druid_settings.datasource, day)
    failing = build_index_task(
        task_id=f"riptide_fails_before_publishing_{run_id}",
        datasource=druid_settings.datasource,
        rows_ndjson=f'{{"ts": "{day.date()}T10:30:00Z", "site": "{site}", "events": 1}}\n'.encode(),
        intervals=[f"{day.date()}T10:30:00Z/{day.date()}T10:31:00Z"],
        dimensions=["site"],
        metrics_spec=[{"type": "longSum", "name": "events", "fieldName": "events"}],
    )
    client.submit_task(failing, deadline)
    assert pipeline_http.wait_for_tasks(druid_settings.datasource, failing["id"]) == {
        failing["id"]: "FAILED"
    }

    published = client.task_segment_ids(delivered, deadline)

    assert published
    assert all(
        client.segment_in_metadata(druid_settings.datasource, segment_id, deadline)
        for segment_id in published
    )
    assert client.task_segment_ids(failing["id"], deadline) == []
    assert client.task_segment_ids(f"riptide_no_such_task_{run_id}", deadline) is None
    assert not client.segment_in_metadata(
        druid_settings.datasource, f"{published[0]}_{run_id}", deadline
    )
