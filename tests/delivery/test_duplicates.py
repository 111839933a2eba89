"""Copies of an event in the stream reach Druid once: the rollup consumer drops every copy but
the one the deduplication window says counts, on any shard, under any redelivery."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import consumer.handler
from riptide.contract import Env, MetricName
from riptide.kinesis_batch import KinesisBatch
from riptide.profiles import ProfileStore
from tests.delivery.conftest import Buckets, configure
from tests.delivery.fault_injecting_druid import FaultInjectingDruid
from tests.delivery.kinesis_events import CONSUMER, segment_event, shard_records
from tests.own_store import OwnStore
from tests.profiles.conftest import LIMITS, profile_consumer, store_client  # noqa: F401 (fixture)
from tools.lambda_kit.kinesis import kinesis_event


def order(message_id: str, revenue: float, site: str = "shop") -> bytes:
    return segment_event(user_id="u1", revenue=revenue, message_id=message_id, site=site)


@pytest.fixture
def run() -> str:
    """A prefix for this test's messageIds: tests share the store and never flush it."""
    return uuid.uuid4().hex[:10]


def test_a_copy_on_another_shard_and_a_copy_in_the_same_record_count_once(
    druid: FaultInjectingDruid, aws: Buckets, run: str
) -> None:
    first = [order(f"{run}-1", 1.0), order(f"{run}-2", 2.0), order(f"{run}-2", 2.0)]
    resent = [order(f"{run}-1", 1.0), order(f"{run}-3", 4.0)]

    for records in (shard_records(0, [first]), shard_records(1, [resent])):
        for _ in range(2):  # each batch delivered twice, as when its answer was lost
            answer = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())
            assert answer == {"batchItemFailures": []}

    assert druid.totals() == {"events": 3, "revenue": 7.0, "quantity": 0}


def test_without_a_store_every_copy_counts_and_replays_still_count_once(
    druid: FaultInjectingDruid, aws: Buckets, run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(Env.PROFILE_STORE_URL)
    consumer.handler.shard_consumer.cache_clear()
    records = shard_records(0, [[order(f"{run}-1", 1.0), order(f"{run}-1", 1.0)]])

    for _ in range(2):  # the batch delivered twice, as when its answer was lost
        answer = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())
        assert answer == {"batchItemFailures": []}

    assert druid.totals() == {"events": 2, "revenue": 2.0, "quantity": 0}


def test_duplicates_dropped_are_counted_by_site(
    druid: FaultInjectingDruid, aws: Buckets, run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    payloads = [order(f"{run}-{n}", 1.0, site) for site in ("a", "b", "b") for n in (1, 2)]

    consumer.handler.handler(kinesis_event(shard_records(0, [payloads])), CONSUMER.frozen_context())

    dropped = {}
    for line in capsys.readouterr().out.splitlines():
        metric = json.loads(line) if line.startswith("{") else {}
        if MetricName.DUPLICATES_DROPPED in metric:
            dropped[metric["site"]] = metric[MetricName.DUPLICATES_DROPPED]
    assert dropped == {"b": [2.0]}
    assert druid.totals()["events"] == 4


def test_a_store_outage_fails_the_batch_and_its_retry_counts_each_event_once(
    druid: FaultInjectingDruid,
    aws: Buckets,
    run: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    store = OwnStore(tmp_path / "valkey")
    store.start()
    try:
        configure(monkeypatch, druid.url, **{Env.PROFILE_STORE_URL: store.url})
        records = shard_records(0, [[order(f"{run}-1", 1.0), order(f"{run}-1", 1.0)]])
        store.stop()

        failed = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

        assert failed == {"batchItemFailures": [{"itemIdentifier": records[0].sequence_number}]}
        assert druid.tasks == {}
        store.start()
        retried = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())
        assert retried == {"batchItemFailures": []}
        assert druid.totals() == {"events": 1, "revenue": 1.0, "quantity": 0}
    finally:
        store.stop()


def test_the_rollup_and_profile_consumers_count_the_same_copy(
    druid: FaultInjectingDruid,
    aws: Buckets,
    run: str,
    store_client: Any,  # noqa: F811
) -> None:
    """The profile consumer meets the resent copy first: it claims the message, so the rollup
    consumer drops the original and counts the copy, and each event counts once in both."""
    site = f"site-{run}"
    original = shard_records(0, [[order(f"{run}-1", 5.0, site), order(f"{run}-2", 1.0, site)]])
    resent = shard_records(1, [[order(f"{run}-1", 5.0, site)]])
    profiles = profile_consumer(ProfileStore(store_client, LIMITS))

    first = profiles.consume(KinesisBatch.from_event(kinesis_event(resent)))
    for records in (original, resent):
        consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())
    second = profiles.consume(KinesisBatch.from_event(kinesis_event(original)))

    assert (first.applied, first.duplicates, second.applied, second.duplicates) == (1, 0, 1, 1)
    assert druid.totals() == {"events": 2, "revenue": 6.0, "quantity": 0}
