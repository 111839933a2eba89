"""PutRecords failures: only failed records are retried; when Kinesis will not take them in time
the client is told to retry (503, or 429 for throttling) and possible duplicates are counted."""

from __future__ import annotations

import json

import pytest

from tests.producer.conftest import Producer
from tests.producer.fault_injecting_kinesis import FailCall, FailRecords, LoseAnswer
from tests.producer.http_events import track

THROTTLED = "ProvisionedThroughputExceededException"


def big_batch(count: int = 400) -> dict:
    """Events big enough to need several Kinesis records (about 25 KB of events each)."""
    pad = "x" * 500
    return {"batch": [track(i, properties={"pad": pad}) for i in range(count)]}


def emitted_metrics(output: str) -> dict[str, float]:
    """Sum of each EMF metric printed by the handler."""
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                name = metric["Name"]
                totals[name] = totals.get(name, 0) + sum(blob[name])
    return totals


def test_only_the_records_that_failed_are_sent_again(make_producer):
    producer: Producer = make_producer([FailRecords(THROTTLED, positions=lambda i: i % 3 == 0)])

    answer = producer.post("/v1/batch", big_batch())

    assert answer.body == {"success": True, "accepted": 400, "rejected": []}
    first, retry = producer.kinesis.calls
    assert retry == [entry for position, entry in enumerate(first) if position % 3 == 0]
    stored = [event["messageId"] for event in producer.stream()]
    assert sorted(stored) == [f"msg-{i:05d}" for i in range(400)]


@pytest.mark.parametrize(
    "fault",
    [
        FailCall(THROTTLED),
        FailCall("InternalFailure", status=500),
        FailCall(connection=True),
        FailRecords("InternalFailure"),
    ],
)
def test_a_call_that_fails_whole_is_retried_and_nothing_is_lost(make_producer, fault):
    producer: Producer = make_producer([fault, fault])

    answer = producer.post("/v1/batch", {"batch": [track(i) for i in range(20)]})

    assert answer.status == 200
    assert len(producer.kinesis.calls) == 3
    assert len(producer.stream()) == 20


def test_a_write_whose_answer_was_lost_is_sent_again_and_counted_as_possibly_duplicated(
    make_producer, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
):
    producer: Producer = make_producer([LoseAnswer()])

    answer = producer.post("/v1/batch", {"batch": [track(i) for i in range(100)]})

    assert answer.status == 200
    assert len(producer.stream()) == 200
    assert emitted_metrics(capsys.readouterr().out)["EventsPossiblyDuplicated"] == 100
    (warning,) = [record for record in caplog.records if "sent again" in record.getMessage()]
    assert warning.levelname == "WARNING"
    assert warning.events_possibly_duplicated == 100


def test_a_lost_answer_then_a_budget_run_out_counts_each_event_once(
    make_producer, capsys: pytest.CaptureFixture[str]
):
    producer: Producer = make_producer(
        [LoseAnswer(), FailRecords("InternalFailure")], repeat_last=True
    )

    answer = producer.post("/v1/batch", {"batch": [track(i) for i in range(100)]})

    assert answer.status == 503
    assert len(producer.stream()) == 100
    assert emitted_metrics(capsys.readouterr().out)["EventsPossiblyDuplicated"] == 100


def test_throttling_that_outlasts_the_budget_is_429_with_both_retry_headers(
    make_producer, capsys: pytest.CaptureFixture[str]
):
    throttle_odd = FailRecords(THROTTLED, positions=lambda i: i % 2 == 1)
    producer: Producer = make_producer([throttle_odd, FailRecords(THROTTLED)], repeat_last=True)

    answer = producer.post("/v1/batch", big_batch())

    assert answer.status == 429
    assert answer.headers["Retry-After"] == "1"
    assert answer.headers["X-RateLimit-Reset"] == "1", "analytics-next waits this many seconds"
    assert answer.body["code"] == "kinesis_throttled"
    assert answer.body["message"].startswith("Kinesis did not take ")
    assert len(producer.kinesis.calls) > 2
    written = producer.stream()
    assert 0 < len(written) < 400
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["EventsPossiblyDuplicated"] == len(written)
    assert metrics["PutRetries"] == len(producer.kinesis.calls) - 1


def test_internal_failures_that_outlast_the_budget_are_503_with_retry_after(make_producer):
    producer: Producer = make_producer([FailRecords("InternalFailure")], repeat_last=True)

    answer = producer.post("/v1/batch", {"batch": [track(1)]})

    assert (answer.status, answer.headers["Retry-After"]) == (503, "5")
    assert answer.body == {
        "success": False,
        "code": "kinesis_unavailable",
        "message": "Kinesis did not take 1 of the records in time (InternalFailure); retry the "
        "request",
    }
    assert producer.stream() == []


def test_a_lambda_about_to_time_out_tries_once_and_answers_503(make_producer):
    producer: Producer = make_producer(
        [FailRecords("InternalFailure")], repeat_last=True, remaining_millis=3_000
    )

    answer = producer.post("/v1/batch", {"batch": [track(1)]})

    assert answer.status == 503
    assert len(producer.kinesis.calls) == 1


def test_a_stream_that_does_not_exist_is_500_and_not_retried(make_producer):
    producer: Producer = make_producer(stream_name="no-such-stream")

    answer = producer.post("/v1/batch", {"batch": [track(1)]})

    assert answer.status == 500
    assert answer.body == {
        "success": False,
        "code": "kinesis_refused",
        "message": "Kinesis refused the records (ResourceNotFoundException)",
    }
    assert len(producer.kinesis.calls) == 1
