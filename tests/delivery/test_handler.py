"""The consumer handler, Kinesis event in, what Druid and the buckets hold out."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent

import consumer.handler
from riptide.config import ConfigurationError
from riptide.contract import Env
from riptide.druid import DruidRequestError
from riptide.kinesis_batch import KinesisBatch
from tests.delivery.conftest import DATASOURCE, QUARANTINE_BUCKET, Buckets, configure
from tests.delivery.fault_injecting_druid import Fault, FaultInjectingDruid
from tests.delivery.kinesis_events import CONSUMER, segment_event, shard_records
from tools.lambda_kit.kinesis import ArrivalWindow, kinesis_event

SHORT_BUDGET = CONSUMER.frozen_context(3_900)
"""0.9 s for Druid after the handler's margin: room for a few 0.3 s attempts."""


def orders(count: int, revenue: float = 2.5, minute: int = 0) -> list[bytes]:
    return [segment_event(user_id=f"u{i}", revenue=revenue, minute=minute) for i in range(count)]


def test_batch_is_rolled_up_and_delivered_as_one_task(druid: FaultInjectingDruid, aws: Buckets):
    records = shard_records(0, [orders(3), orders(2, minute=1)])

    response = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

    assert response == {"batchItemFailures": []}
    assert druid.totals() == {"events": 5, "revenue": 12.5, "quantity": 0}
    (task_id,) = druid.tasks
    first, last = records[0].sequence_number, records[-1].sequence_number
    assert task_id == f"riptide_{DATASOURCE}_shardId-000000000000_{first}.0_{last}.1"
    task = druid.tasks[task_id].task
    assert task["spec"]["dataSchema"]["granularitySpec"] == {
        "segmentGranularity": "HOUR",
        "queryGranularity": "MINUTE",
        "rollup": True,
        "intervals": ["2026-11-27T10:00:00Z/2026-11-27T10:02:00Z"],
    }
    assert task["spec"]["ioConfig"]["appendToExisting"] is True
    assert len(aws.pending()) == 1


def test_late_rows_travel_in_a_task_of_their_own_that_locks_whole_days(
    druid: FaultInjectingDruid, aws: Buckets
):
    late = json.loads(segment_event(user_id="late", revenue=1.0))
    late["timestamp"] = "2026-11-25T23:59:00.000Z"
    records = shard_records(0, [[*orders(2), json.dumps(late).encode(), *orders(1, minute=1)]])

    response = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

    assert response == {"batchItemFailures": []}
    on_time_id = f"riptide_{DATASOURCE}_shardId-000000000000_{records[0].sequence_number}.0_"
    on_time_id += f"{records[0].sequence_number}.3"
    assert sorted(druid.tasks) == [on_time_id, f"{on_time_id}_late"]
    granularity = {
        task_id: stored.task["spec"]["dataSchema"]["granularitySpec"]
        for task_id, stored in druid.tasks.items()
    }
    assert granularity[on_time_id]["segmentGranularity"] == "HOUR"
    assert granularity[on_time_id]["intervals"] == ["2026-11-27T10:00:00Z/2026-11-27T10:02:00Z"]
    assert granularity[f"{on_time_id}_late"]["segmentGranularity"] == "DAY"
    assert granularity[f"{on_time_id}_late"]["intervals"] == [
        "2026-11-25T00:00:00Z/2026-11-26T00:00:00Z"
    ]
    assert druid.totals() == {"events": 4, "revenue": 8.5, "quantity": 0}
    assert len(aws.pending()) == 1


def test_redelivered_batch_is_recognised_not_counted_twice(druid: FaultInjectingDruid):
    event = kinesis_event(shard_records(0, [orders(4)]))

    consumer.handler.handler(event, CONSUMER.frozen_context())
    response = consumer.handler.handler(event, CONSUMER.frozen_context())

    assert response == {"batchItemFailures": []}
    assert len(druid.submissions) == 2
    assert len(druid.tasks) == 1
    assert druid.totals()["events"] == 4


def test_bad_records_are_quarantined_and_the_rest_of_the_batch_delivered(
    druid: FaultInjectingDruid, aws: Buckets, monkeypatch: pytest.MonkeyPatch
):
    configure(monkeypatch, druid.url, **{Env.LATE_TOLERANCE_SECONDS: "3600"})
    late = json.dumps(
        {
            "type": "track",
            "event": "x",
            "userId": "u",
            "site": "shop",
            "timestamp": "2026-11-27T08:00:00Z",
            "receivedAt": "2026-11-27T10:00:00Z",
        }
    ).encode()
    good, to_corrupt, mixed = shard_records(
        0, [orders(2), orders(2), [orders(1)[0], b"{not json", late]]
    )
    corrupt = replace(to_corrupt, data=to_corrupt.data[:-1] + bytes([to_corrupt.data[-1] ^ 1]))
    records = [good, corrupt, mixed]

    response = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

    assert response == {"batchItemFailures": []}
    assert druid.totals()["events"] == 3
    quarantined = {
        (line["sequenceNumber"], line["subSequenceNumber"]): line for line in aws.quarantined()
    }
    assert {key: line["reason"] for key, line in quarantined.items()} == {
        (corrupt.sequence_number, None): "corrupt_record",
        (mixed.sequence_number, 1): "invalid_event",
        (mixed.sequence_number, 2): "late_event",
    }
    assert base64.b64decode(quarantined[(corrupt.sequence_number, None)]["data"]) == corrupt.data
    assert base64.b64decode(quarantined[(mixed.sequence_number, 1)]["data"]) == b"{not json"
    assert "corrupt KPL aggregate" in quarantined[(corrupt.sequence_number, None)]["detail"]
    assert "late tolerance" in quarantined[(mixed.sequence_number, 2)]["detail"]
    (key,) = aws.keys(QUARANTINE_BUCKET)
    assert key.endswith(
        f"/shard=shardId-000000000000/{corrupt.sequence_number}.0_{mixed.sequence_number}.2.ndjson"
    )


def test_a_sum_too_large_to_stay_finite_is_quarantined_and_the_row_keeps_its_revenue(
    druid: FaultInjectingDruid, aws: Buckets
):
    huge = [segment_event(user_id=f"h{i}", revenue=1e308) for i in range(2)]
    records = shard_records(0, [orders(49) + huge[:1] + orders(49) + huge[1:]])

    response = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

    assert response == {"batchItemFailures": []}
    assert druid.totals() == {"events": 98, "revenue": 98 * 2.5, "quantity": 0}
    reasons = [(line["subSequenceNumber"], line["reason"]) for line in aws.quarantined()]
    assert reasons == [(49, "invalid_event"), (99, "invalid_event")]
    assert all(
        "properties.revenue: expected float <= " in line["detail"] for line in aws.quarantined()
    )


def test_batch_fails_when_quarantine_cannot_be_written(druid: FaultInjectingDruid, aws: Buckets):
    aws.s3.delete_bucket(Bucket=QUARANTINE_BUCKET)
    records = shard_records(0, [orders(1), [b"{broken"]])

    response = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

    assert response == {"batchItemFailures": [{"itemIdentifier": records[0].sequence_number}]}
    assert druid.tasks == {}


def test_unavailable_druid_fails_the_batch_from_its_first_record(druid: FaultInjectingDruid):
    druid.script_submit(*[Fault(503)] * 50)
    records = shard_records(0, [orders(2), orders(2)])

    response = consumer.handler.handler(kinesis_event(records), SHORT_BUDGET)

    assert response == {"batchItemFailures": [{"itemIdentifier": records[0].sequence_number}]}
    assert druid.tasks == {}
    assert druid.submissions, "the consumer must have tried"


def test_accepted_push_whose_answer_was_lost_is_not_repeated_after_a_shifted_retry(
    druid: FaultInjectingDruid,
):
    records = shard_records(0, [orders(1), orders(2), orders(3), orders(4)])
    druid.script_submit(Fault(200, delay=0.5, accept=True), *[Fault(503)] * 50)

    failed = consumer.handler.handler(kinesis_event(records[:2]), SHORT_BUDGET)
    assert failed["batchItemFailures"] == [{"itemIdentifier": records[0].sequence_number}]
    assert len(druid.tasks) == 1  # Druid holds it, the consumer could not know

    druid.heal()
    retried = consumer.handler.handler(kinesis_event(records), CONSUMER.frozen_context())

    assert retried == {"batchItemFailures": []}
    assert druid.totals()["events"] == 10
    assert len(druid.tasks) == 2


def test_spec_rejection_raises_with_druids_own_words(druid: FaultInjectingDruid):
    message = "Cannot construct instance of `IndexTask`, problem: intervals must not be empty"
    druid.script_submit(
        Fault(
            400,
            json.dumps(
                {"error": "druidException", "errorCode": "invalidInput", "errorMessage": message}
            ).encode(),
        )
    )

    with pytest.raises(DruidRequestError) as raised:
        consumer.handler.handler(
            kinesis_event(shard_records(0, [orders(1)])), CONSUMER.frozen_context()
        )

    assert raised.value.status == 400
    assert raised.value.druid_message == message
    assert message in str(raised.value)


@pytest.mark.parametrize("style", ["druid37", "druid27", "error_code"])
def test_every_already_exists_body_means_delivered(aws: Buckets, monkeypatch, style: str):
    with FaultInjectingDruid(duplicate_style=style) as stub:
        configure(monkeypatch, stub.url)
        event = kinesis_event(shard_records(0, [orders(2)]))
        consumer.handler.handler(event, CONSUMER.frozen_context())
        response = consumer.handler.handler(event, CONSUMER.frozen_context())

    assert response == {"batchItemFailures": []}
    assert stub.totals()["events"] == 2


def test_druid_user_comes_from_secrets_manager(aws: Buckets, monkeypatch: pytest.MonkeyPatch):
    secret = boto3.client("secretsmanager").create_secret(
        Name="riptide/druid", SecretString=json.dumps({"username": "riptide", "password": "pw"})
    )
    with FaultInjectingDruid(credentials=("riptide", "pw")) as stub:
        configure(monkeypatch, stub.url, **{Env.DRUID_SECRET_ARN: secret["ARN"]})

        response = consumer.handler.handler(
            kinesis_event(shard_records(0, [orders(2)])), CONSUMER.frozen_context()
        )

    assert response == {"batchItemFailures": []}
    assert stub.totals()["events"] == 2


def test_a_druid_secret_left_as_created_means_druid_without_auth(
    aws: Buckets, monkeypatch: pytest.MonkeyPatch
):
    secret = boto3.client("secretsmanager").create_secret(Name="riptide/druid", SecretString="{}")
    with FaultInjectingDruid() as stub:
        configure(monkeypatch, stub.url, **{Env.DRUID_SECRET_ARN: secret["ARN"]})

        response = consumer.handler.handler(
            kinesis_event(shard_records(0, [orders(2)])), CONSUMER.frozen_context()
        )

    assert response == {"batchItemFailures": []}
    assert stub.totals()["events"] == 2


def test_missing_setting_is_named(druid: FaultInjectingDruid, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(Env.OUTBOX_BUCKET)
    consumer.handler.shard_consumer.cache_clear()

    with pytest.raises(ConfigurationError, match="environment variable OUTBOX_BUCKET must be set"):
        consumer.handler.handler(
            kinesis_event(shard_records(0, [orders(1)])), CONSUMER.frozen_context()
        )


def test_powertools_event_class_and_plain_records_are_read_alike():
    records = shard_records(5, [[segment_event()]], aggregate=False)
    raw = kinesis_event(records, window=ArrivalWindow(0, 60), state={}, final=True)

    from_class = KinesisBatch.from_event(KinesisStreamEvent(raw))

    assert from_class == KinesisBatch.from_event(raw)
    assert from_class.shard_id == "shardId-000000000005"
    assert from_class.records[0].data == segment_event()
    assert from_class.window is not None and from_class.window.closes
