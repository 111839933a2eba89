"""The reconciler follows outbox tasks until Druid reports SUCCESS, re-driving failed ones that
published nothing."""

from __future__ import annotations

import json

import pytest

import consumer.handler
import consumer.reconciler
from tests.delivery.conftest import OUTBOX_BUCKET, Buckets, configure
from tests.delivery.fault_injecting_druid import FAILED_AFTER_PUBLISHING, Fault, FaultInjectingDruid
from tests.delivery.kinesis_events import CONSUMER, RECONCILER, segment_event, shard_records
from tools.lambda_kit.kinesis import kinesis_event


def deliver(events: int, shard: int = 0) -> dict:
    orders = [segment_event(user_id=f"u{i}", revenue=1.0) for i in range(events)]
    return consumer.handler.handler(
        kinesis_event(shard_records(shard, [orders])), CONSUMER.frozen_context()
    )


def reconcile() -> dict:
    return consumer.reconciler.handler({}, RECONCILER.frozen_context())


def a_delivery_succeeded_before() -> None:
    """An earlier delivery, done: Druid's task audit log shows what it published, which tells
    the reconciler the log is on and an empty one means "published nothing"."""
    deliver(1, shard=99)
    assert reconcile()["succeeded"] == 1


def test_successful_tasks_leave_the_outbox_but_stay_covered(
    druid: FaultInjectingDruid, aws: Buckets
):
    deliver(3)

    report = reconcile()

    assert report["succeeded"] == 1
    assert aws.pending() == []
    (marker,) = aws.keys(OUTBOX_BUCKET, "done/")
    assert marker.startswith("done/events_1m/shardId-000000000000/")
    deliver(3)  # a late redelivery of the same records
    assert druid.totals()["events"] == 3


def test_failed_task_is_redriven_under_a_derived_id_until_it_succeeds(
    druid: FaultInjectingDruid, aws: Buckets
):
    a_delivery_succeeded_before()
    druid.end_next_tasks("FAILED", "FAILED")
    deliver(4)
    (original,) = set(druid.tasks) - set(druid.successful_task_ids())
    assert druid.totals()["events"] == 1

    first = reconcile()
    second = reconcile()
    third = reconcile()

    assert (first["redriven"], second["redriven"], third["succeeded"]) == (1, 1, 1)
    assert f"{original}_redrive2" in druid.successful_task_ids()
    redriven = druid.tasks[f"{original}_redrive2"].task["spec"]["dataSchema"]["granularitySpec"]
    assert (redriven["segmentGranularity"], redriven["intervals"]) == (
        "DAY",
        ["2026-11-27T00:00:00Z/2026-11-28T00:00:00Z"],
    )
    assert druid.totals()["events"] == 1 + 4
    assert aws.pending() == []


def test_task_that_failed_after_publishing_counts_once_and_is_not_redriven(
    druid: FaultInjectingDruid, aws: Buckets
):
    druid.end_next_tasks(FAILED_AFTER_PUBLISHING)
    deliver(4)
    (task_id,) = druid.tasks

    report = reconcile()

    assert (report["published_despite_failure"], report["redriven"], report["succeeded"]) == (
        1,
        0,
        1,
    )
    assert list(druid.tasks) == [task_id]
    assert druid.totals()["events"] == 4
    assert aws.pending() == []


def test_failed_task_is_left_pending_when_what_it_published_cannot_be_told(
    aws: Buckets, monkeypatch: pytest.MonkeyPatch
):
    with FaultInjectingDruid(audit_log=False) as druid:
        configure(monkeypatch, druid.url)
        a_delivery_succeeded_before()
        druid.end_next_tasks(FAILED_AFTER_PUBLISHING)
        deliver(4)

        report = reconcile()

        assert (report["publication_unknown"], report["redriven"]) == (1, 0)
        assert report["still_pending"] == 1
        assert druid.totals()["events"] == 1 + 4


def test_running_tasks_are_left_alone_and_reported(druid: FaultInjectingDruid, aws: Buckets):
    druid.end_next_tasks("RUNNING")
    deliver(2)

    report = reconcile()

    assert (report["running"], report["still_pending"]) == (1, 1)
    assert len(aws.pending()) == 1
    (task_id,) = druid.tasks
    druid.finish(task_id)
    assert reconcile()["succeeded"] == 1


def test_task_unknown_to_druid_is_resubmitted_under_its_own_id(
    druid: FaultInjectingDruid, aws: Buckets
):
    deliver(5)
    (task_id,) = druid.tasks
    druid.forget(task_id)

    report = reconcile()

    assert report["resubmitted"] == 1
    assert list(druid.tasks) == [task_id]
    assert druid.totals()["events"] == 5


def test_consumer_meeting_a_redriven_entry_resubmits_its_current_id(
    druid: FaultInjectingDruid, aws: Buckets
):
    a_delivery_succeeded_before()
    druid.end_next_tasks("FAILED")
    deliver(2)
    reconcile()

    deliver(2)  # redelivery after the re-drive

    assert druid.totals()["events"] == 1 + 2
    assert len(druid.tasks) == 1 + 2


def test_reconciler_publishes_outbox_metrics(
    druid: FaultInjectingDruid, aws: Buckets, capsys: pytest.CaptureFixture[str]
):
    a_delivery_succeeded_before()
    druid.end_next_tasks("FAILED", "RUNNING")
    deliver(2, shard=0)
    deliver(3, shard=1)
    capsys.readouterr()

    reconcile()

    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    (blob,) = [line for line in emitted if "OutboxPending" in line]
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Riptide"
    assert (blob["OutboxPending"], blob["TasksRedriven"]) == ([2.0], [1.0])
    assert blob["OutboxOldestAgeSeconds"][0] >= 0


def test_druid_down_defers_tasks_without_ending_the_pass(druid: FaultInjectingDruid, aws: Buckets):
    deliver(2, shard=0)
    deliver(3, shard=1)
    druid.script_status(*[Fault(status=503)] * 200)

    report = consumer.reconciler.handler({}, RECONCILER.frozen_context(6_000))

    assert report["deferred"] >= 1
    assert report["deferred"] + report["unvisited"] == report["pending"] == 2
    assert len(aws.pending()) == 2
    druid.heal()
    assert reconcile()["succeeded"] == 2
