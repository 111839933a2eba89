"""Tumbling windows: the partial rollup rides in `state`; one task per shard per window."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, datetime

import boto3
import pytest
from aws_lambda_powertools import Metrics
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import consumer.handler
from riptide.contract import Env
from riptide.dedup.settings import compose_dedup_window
from riptide.delivery import Outbox, ShardConsumer
from riptide.druid import DruidClient
from riptide.kinesis_batch import KinesisBatch
from riptide.quarantine import Quarantine
from riptide.retry import Deadline
from riptide.rollup import Rollup, RollupSchema, TimePolicy
from tests.delivery.conftest import (
    DATASOURCE,
    OUTBOX_BUCKET,
    QUARANTINE_BUCKET,
    Buckets,
    configure,
)
from tests.delivery.fault_injecting_druid import Fault, FaultInjectingDruid
from tests.delivery.kinesis_events import CONSUMER, segment_event, shard_records
from tools.lambda_kit.kinesis import ArrivalWindow, kinesis_event

WINDOW = ArrivalWindow.around(datetime(2026, 11, 27, 10, tzinfo=UTC).timestamp(), 60)


def orders(count: int, minute: int = 0) -> list[bytes]:
    return [segment_event(user_id=f"u{i}", revenue=1.5, minute=minute) for i in range(count)]


def test_window_carries_state_and_delivers_once_at_its_final_invoke(druid: FaultInjectingDruid):
    records = shard_records(3, [orders(2), orders(3), orders(4, minute=2)])

    first = consumer.handler.handler(
        kinesis_event(records[:1], window=WINDOW), CONSUMER.frozen_context()
    )
    second = consumer.handler.handler(
        kinesis_event(records[1:2], window=WINDOW, state=first["state"]), CONSUMER.frozen_context()
    )
    assert druid.tasks == {}
    assert first["batchItemFailures"] == second["batchItemFailures"] == []
    assert second["state"]["first"] == [records[0].sequence_number, 0]
    assert second["state"]["last"] == [records[1].sequence_number, 2]

    final = consumer.handler.handler(
        kinesis_event(records[2:], window=WINDOW, state=second["state"], final=True),
        CONSUMER.frozen_context(),
    )

    assert final == {"batchItemFailures": [], "state": {}}
    (task_id,) = druid.tasks
    assert task_id.endswith(f"_{records[0].sequence_number}.0_{records[2].sequence_number}.3")
    assert druid.totals() == {"events": 9, "revenue": 13.5, "quantity": 0}


def test_redelivered_records_already_in_the_state_are_not_added_again(
    druid: FaultInjectingDruid,
):
    records = shard_records(0, [orders(2), orders(3)])
    carried = consumer.handler.handler(
        kinesis_event(records, window=WINDOW), CONSUMER.frozen_context()
    )

    final = consumer.handler.handler(
        kinesis_event(records, window=WINDOW, state=carried["state"], final=True),
        CONSUMER.frozen_context(),
    )

    assert final["state"] == {}
    assert druid.totals()["events"] == 5


def test_failed_final_invoke_returns_its_input_state_and_the_retry_counts_once(
    druid: FaultInjectingDruid,
):
    records = shard_records(0, [orders(2), orders(3), orders(1)])
    carried = consumer.handler.handler(
        kinesis_event(records[:1], window=WINDOW), CONSUMER.frozen_context()
    )
    druid.script_submit(Fault(200, delay=0.5, accept=True), *[Fault(503)] * 50)
    final_event = kinesis_event(records[1:2], window=WINDOW, state=carried["state"], final=True)

    failed = consumer.handler.handler(final_event, CONSUMER.frozen_context(3_900))

    assert failed == {
        "batchItemFailures": [{"itemIdentifier": records[1].sequence_number}],
        "state": carried["state"],
    }
    druid.heal()
    retried = consumer.handler.handler(
        kinesis_event(records[1:], window=WINDOW, state=carried["state"], final=True),
        CONSUMER.frozen_context(),
    )
    assert retried == {"batchItemFailures": [], "state": {}}
    assert druid.totals()["events"] == 6
    assert len(druid.tasks) == 2


def test_empty_final_invoke_delivers_the_state(druid: FaultInjectingDruid):
    records = shard_records(0, [orders(2)])
    carried = consumer.handler.handler(
        kinesis_event(records, window=WINDOW), CONSUMER.frozen_context()
    )
    empty_final = kinesis_event(
        [], window=WINDOW, state=carried["state"], final=True, shard=records[0].shard_id
    )

    assert consumer.handler.handler(empty_final, CONSUMER.frozen_context()) == {
        "batchItemFailures": [],
        "state": {},
    }
    assert druid.totals()["events"] == 2


def test_empty_final_invoke_that_cannot_deliver_fails_so_lambda_retries_it_with_its_state(
    druid: FaultInjectingDruid, aws: Buckets
):
    records = shard_records(0, [orders(2)])
    carried = consumer.handler.handler(
        kinesis_event(records, window=WINDOW), CONSUMER.frozen_context()
    )
    empty_final = kinesis_event(
        [], window=WINDOW, state=carried["state"], final=True, shard=records[0].shard_id
    )
    aws.s3.delete_bucket(Bucket=OUTBOX_BUCKET)

    with pytest.raises(ClientError):
        consumer.handler.handler(empty_final, CONSUMER.frozen_context())

    assert druid.totals().get("events", 0) == 0


def test_a_rollup_nearing_the_state_cap_is_delivered_early_under_its_own_range(
    druid: FaultInjectingDruid, aws: Buckets
):
    groups = [
        [segment_event(user_id=f"u{minute}-{i}", revenue=1.5, minute=minute) for i in range(5)]
        for minute in range(12)
    ]
    records = shard_records(0, groups)
    schema, policy = RollupSchema.from_settings(None, None), TimePolicy()
    three_records = Rollup(schema, policy)
    for payload in (payload for group in groups[:3] for payload in group):
        three_records.add(payload)
    s3 = boto3.client("s3")
    shard = ShardConsumer(
        datasource=DATASOURCE,
        schema=schema,
        policy=policy,
        druid=DruidClient(druid.url),
        outbox=Outbox(s3, OUTBOX_BUCKET, DATASOURCE),
        quarantine=Quarantine(s3, QUARANTINE_BUCKET),
        dedup=compose_dedup_window(),
        metrics=Metrics(namespace="Riptide"),
        max_delivery_state_bytes=three_records.state_size(),
    )

    result = shard.consume(
        KinesisBatch.from_event(kinesis_event(records, window=WINDOW)), Deadline(30)
    )

    assert result.failed_from is None
    assert 1 < len(druid.tasks) < len(records)
    final = shard.consume(
        KinesisBatch.from_event(
            kinesis_event(
                [], window=WINDOW, state=result.state, final=True, shard=records[0].shard_id
            )
        ),
        Deadline(30),
    )
    assert final.state == {}
    assert druid.totals()["events"] == 60
    ranges = sorted(
        (int(first.split(".")[0]), int(last.split(".")[0]))
        for first, last in (task_id.split("_")[-2:] for task_id in druid.tasks)
    )
    assert ranges[0][0] == int(records[0].sequence_number)
    assert ranges[-1][1] == int(records[-1].sequence_number)
    assert all(earlier[1] < later[0] for earlier, later in itertools.pairwise(ranges))


def test_window_terminated_early_delivers_its_state(druid: FaultInjectingDruid):
    records = shard_records(0, [orders(2), orders(1)])
    carried = consumer.handler.handler(
        kinesis_event(records[:1], window=WINDOW), CONSUMER.frozen_context()
    )

    ended = consumer.handler.handler(
        kinesis_event(records[1:], window=WINDOW, state=carried["state"], terminated_early=True),
        CONSUMER.frozen_context(),
    )

    assert ended == {"batchItemFailures": [], "state": {}}
    assert druid.totals()["events"] == 3


def test_a_state_the_new_rollup_settings_cannot_read_is_quarantined_and_the_shard_goes_on(
    druid: FaultInjectingDruid, aws: Buckets, monkeypatch: pytest.MonkeyPatch
):
    records = shard_records(0, [orders(2), orders(3)])
    carried = consumer.handler.handler(
        kinesis_event(records[:1], window=WINDOW), CONSUMER.frozen_context()
    )
    configure(monkeypatch, druid.url, **{Env.ROLLUP_DIMENSIONS: json.dumps({"site": "site"})})

    final = consumer.handler.handler(
        kinesis_event(records[1:], window=WINDOW, state=carried["state"], final=True),
        CONSUMER.frozen_context(),
    )

    assert final == {"batchItemFailures": [], "state": {}}
    assert druid.totals()["events"] == 3
    (quarantined,) = aws.quarantined()
    assert quarantined["reason"] == "unreadable_window_state"
    assert quarantined["sequenceNumber"] == records[0].sequence_number


EXAMPLE_SHARDS = itertools.count(100)
"""A shard of its own for each example: the outbox bucket outlives the examples."""


def malformed(envelope: dict) -> st.SearchStrategy[dict]:
    """`envelope` spoiled in one of the ways a state this code did not write could be."""
    position = st.one_of(
        st.text(),
        st.integers(),
        st.none(),
        st.lists(st.one_of(st.text(alphabet="xyz.-"), st.none()), min_size=1, max_size=3),
        st.just(["12a", 0]),
        st.just([envelope["first"][0]]),
    )
    return st.one_of(
        st.integers().filter(lambda v: v != 1).map(lambda v: {**envelope, "v": v}),
        st.sampled_from(["1", None, 1.5, [1]]).map(lambda v: {**envelope, "v": v}),
        st.sampled_from(["v", "first", "last", "rollup"]).map(
            lambda name: {k: v for k, v in envelope.items() if k != name}
        ),
        st.tuples(st.sampled_from(["first", "last"]), position).map(
            lambda spoiled: {**envelope, spoiled[0]: spoiled[1]}
        ),
        st.sampled_from([None, [], "rollup", 3]).map(lambda v: {**envelope, "rollup": v}),
    )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), final=st.booleans(), with_records=st.booleans())
def test_a_malformed_window_state_is_quarantined_whole_and_the_shard_goes_on(
    druid: FaultInjectingDruid, aws: Buckets, data: st.DataObject, final: bool, with_records: bool
):
    druid.tasks.clear()
    for key in aws.keys(QUARANTINE_BUCKET):
        aws.s3.delete_object(Bucket=QUARANTINE_BUCKET, Key=key)
    records = shard_records(next(EXAMPLE_SHARDS), [orders(2), orders(3)])
    carried = consumer.handler.handler(
        kinesis_event(records[:1], window=WINDOW), CONSUMER.frozen_context()
    )
    state = data.draw(malformed(carried["state"]))
    rest = records[1:] if with_records else []

    response = consumer.handler.handler(
        kinesis_event(rest, window=WINDOW, state=state, final=final, shard=records[0].shard_id),
        CONSUMER.frozen_context(),
    )

    assert response["batchItemFailures"] == []
    (quarantined,) = aws.quarantined()
    assert quarantined["reason"] == "unreadable_window_state"
    assert json.loads(base64.b64decode(quarantined["data"])) == state
    expected_events = 3 if with_records else 0
    if final:
        assert response["state"] == {}
        assert druid.totals().get("events", 0) == expected_events
    else:
        assert druid.tasks == {}
        if with_records:
            assert response["state"]["first"] == [records[1].sequence_number, 0]
        else:
            assert response["state"] == {}
