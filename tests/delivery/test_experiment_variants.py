"""The consumer attributes events to their shoppers' experiment arms, with the experiments it is
given for the batch; what it hands Druid is fixed once written to the outbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riptide.decisions.assignment import (
    Arm,
    Experiment,
    assign,
    assignment_unit,
    variant_label,
)
from riptide.decisions.documents import DocumentsUnavailableError
from riptide.delivery import Outbox, ShardConsumer
from riptide.druid import DruidClient, Timeouts
from riptide.kinesis_batch import KinesisBatch
from riptide.quarantine import Quarantine
from riptide.retry import Deadline
from riptide.rollup import RollupSchema, TimePolicy
from riptide.rollup.arms import ExperimentsBySite, ExperimentSource
from tests.delivery.conftest import OUTBOX_BUCKET, QUARANTINE_BUCKET, Buckets
from tests.delivery.fault_injecting_druid import Fault, FaultInjectingDruid
from tests.delivery.kinesis_events import shard_records
from tools.lambda_kit.kinesis import kinesis_event

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
SCHEMA = RollupSchema.from_settings(None, None)


def epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


BANNER = Experiment(
    "cart-banner",
    "home-hero",
    (Arm("control", 1), Arm("banner", 1)),
    started_at_ms=epoch_ms(START + timedelta(minutes=1)),
)
LOYALTY = Experiment(
    "loyalty",
    "account",
    (Arm("control", 2), Arm("offer", 1)),
    holdout=0.1,
    started_at_ms=epoch_ms(START),
    ended_at_ms=epoch_ms(START + timedelta(minutes=2)),
)
EXPERIMENTS: dict[str, tuple[Experiment, ...]] = {"shop-a": (BANNER, LOYALTY), "shop-b": ()}


def shopper_event(
    index: int, site: str, anonymous_id: str | None, user_id: str | None, at: datetime
) -> dict[str, Any]:
    """A tracked event with a placement of its own, so that each event is a row of its own."""
    body: dict[str, Any] = {
        "type": "track",
        "event": "Order Completed",
        "site": site,
        "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "receivedAt": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "properties": {"placement": f"p{index}", "revenue": 5.0},
    }
    for field, value in (("anonymousId", anonymous_id), ("userId", user_id)):
        if value is not None:
            body[field] = value
    return body


def expected_variant(body: dict[str, Any]) -> list[str] | None:
    unit = assignment_unit(body.get("anonymousId"), body.get("userId"))
    at = epoch_ms(datetime.fromisoformat(body["timestamp"]))
    labels = sorted(
        variant_label(experiment.id, assign(experiment, unit))
        for experiment in EXPERIMENTS.get(body["site"], ())
        if unit is not None and experiment.attributes(at)
    )
    return labels or None


events = st.lists(
    st.tuples(
        st.sampled_from(["shop-a", "shop-b", "shop-c"]),
        st.one_of(st.none(), st.integers(0, 20).map(lambda n: f"anon-{n}")),
        st.one_of(st.none(), st.integers(0, 20).map(lambda n: f"user-{n}")),
        st.integers(0, 180_000),
    ),
    min_size=1,
    max_size=30,
)
"""(site, anonymousId, userId, milliseconds after START): before, inside and after the
experiments' windows, with and without an identity."""


def shard_consumer(
    druid: FaultInjectingDruid, datasource: str, experiments: ExperimentSource | None
) -> ShardConsumer:
    s3 = boto3.client("s3")
    return ShardConsumer(
        datasource=datasource,
        schema=SCHEMA,
        policy=TimePolicy(),
        druid=DruidClient(druid.url, timeouts=Timeouts(connect_seconds=0.3, read_seconds=0.3)),
        outbox=Outbox(s3, OUTBOX_BUCKET, datasource),
        quarantine=Quarantine(s3, QUARANTINE_BUCKET),
        dedup=None,
        metrics=Metrics(namespace="Riptide"),
        experiments=experiments,
    )


def delivered_rows(druid: FaultInjectingDruid) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for stored in druid.tasks.values()
        for line in stored.task["spec"]["ioConfig"]["inputSource"]["data"].splitlines()
    ]


@pytest.fixture
def druid(aws: Buckets) -> Iterator[FaultInjectingDruid]:
    with FaultInjectingDruid() as stub:
        yield stub


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=events, per_record=st.integers(1, 7))
def test_each_row_carries_the_arms_recomputed_for_its_shopper(
    aws: Buckets, plan: list[tuple[str, str | None, str | None, int]], per_record: int
):
    bodies = [
        shopper_event(index, site, anonymous, user, START + timedelta(milliseconds=offset))
        for index, (site, anonymous, user, offset) in enumerate(plan)
    ]
    payloads = [json.dumps(body).encode() for body in bodies]
    groups = [payloads[at : at + per_record] for at in range(0, len(payloads), per_record)]
    with FaultInjectingDruid() as druid:
        shard = shard_consumer(druid, f"ds_{uuid.uuid4().hex[:8]}", lambda: EXPERIMENTS)

        result = shard.consume(
            KinesisBatch.from_event(kinesis_event(shard_records(0, groups))), Deadline(30)
        )

        assert result.failed_from is None
        rows = delivered_rows(druid)
    assert {row["placement"]: row["variant"] for row in rows} == {
        body["properties"]["placement"]: expected_variant(body) for body in bodies
    }


def test_without_experiments_no_row_has_a_variant(druid: FaultInjectingDruid):
    body = shopper_event(0, "shop-a", "anon-1", None, START + timedelta(minutes=1, seconds=5))
    records = shard_records(0, [[json.dumps(body).encode()]])
    shard = shard_consumer(druid, "events_1m", experiments=None)

    assert (
        shard.consume(KinesisBatch.from_event(kinesis_event(records)), Deadline(30)).failed_from
        is None
    )

    assert [row["variant"] for row in delivered_rows(druid)] == [None]


def test_experiments_are_asked_once_per_batch(druid: FaultInjectingDruid):
    bodies = [
        shopper_event(index, "shop-a", f"anon-{index}", None, START + timedelta(seconds=index))
        for index in range(20)
    ]
    records = shard_records(0, [[json.dumps(body).encode() for body in bodies[:10]]] * 2)
    asked: list[int] = []

    def experiments() -> ExperimentsBySite:
        asked.append(1)
        return EXPERIMENTS

    shard = shard_consumer(druid, "events_1m", experiments)

    shard.consume(KinesisBatch.from_event(kinesis_event(records)), Deadline(30))

    assert len(asked) == 1


def test_a_delivery_retried_after_the_experiments_changed_keeps_its_first_rows(
    druid: FaultInjectingDruid,
):
    """The outbox holds the rows: a batch Druid refused goes out again exactly as first built,
    whatever the experiments say by then."""
    bodies = [
        shopper_event(
            index, "shop-a", f"anon-{index}", None, START + timedelta(minutes=1, seconds=index)
        )
        for index in range(12)
    ]
    records = shard_records(0, [[json.dumps(body).encode() for body in bodies]])
    batch = KinesisBatch.from_event(kinesis_event(records))
    druid.script_submit(*[Fault(503)] * 200)
    first = shard_consumer(druid, "events_1m", lambda: EXPERIMENTS).consume(batch, Deadline(1))
    assert first.failed_from == records[0].sequence_number
    assert druid.tasks == {}
    druid.heal()

    changed = shard_consumer(druid, "events_1m", lambda: {"shop-a": ()})

    retried = changed.consume(batch, Deadline(30))

    assert retried.failed_from is None
    variants = {row["placement"]: row["variant"] for row in delivered_rows(druid)}
    assert variants == {body["properties"]["placement"]: expected_variant(body) for body in bodies}
    assert all(variants.values())


def test_a_batch_waits_while_the_experiments_cannot_be_read(druid: FaultInjectingDruid):
    """Rolling up without them would attribute nothing: the batch is retried instead."""
    body = shopper_event(0, "shop-a", "anon-1", None, START + timedelta(minutes=1, seconds=5))
    records = shard_records(0, [[json.dumps(body).encode()]])

    def unreadable() -> ExperimentsBySite:
        raise DocumentsUnavailableError("rules/shop-a.json: S3 timed out")

    shard = shard_consumer(druid, "events_1m", unreadable)

    result = shard.consume(KinesisBatch.from_event(kinesis_event(records)), Deadline(30))

    assert result.failed_from == records[0].sequence_number
    assert druid.tasks == {}
