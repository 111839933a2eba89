"""The event source mapping's per-shard semantics (tools/lambda_kit/kinesis_mapping.py), which
both the local pipeline's poller and the replay tests drive: checkpoints, bisection, bounded
retries, record age, and tumbling windows with their state and final invokes."""

from __future__ import annotations

from typing import Any

from tools.lambda_kit.kinesis import ARRIVAL, EXAMPLE_SOURCE, StreamRecord, shard_stream_records
from tools.lambda_kit.kinesis_mapping import (
    MAX_STATE_BYTES,
    MappingSettings,
    ShardMapping,
    on_failure_message,
)

SETTINGS = MappingSettings(
    batch_size=4,
    batching_window_seconds=0,
    tumbling_window_seconds=0,
    retry_attempts=2,
    max_record_age_seconds=3_600,
)
WINDOWED = MappingSettings(
    batch_size=4,
    batching_window_seconds=0,
    tumbling_window_seconds=60,
    retry_attempts=2,
    max_record_age_seconds=3_600,
)
OK: dict[str, Any] = {"batchItemFailures": []}


def always(_window: object) -> bool:
    return True


def never(_window: object) -> bool:
    return False


def shard(count: int, settings: MappingSettings = SETTINGS, **arrival: float) -> ShardMapping:
    mapping = ShardMapping("shardId-000000000000", settings, EXAMPLE_SOURCE)
    mapping.add(shard_stream_records(0, [("k", b"x")] * count, **arrival))
    return mapping


def numbers(records: tuple[StreamRecord, ...]) -> list[str]:
    return [record.sequence_number for record in records]


def test_a_reported_failure_resumes_from_the_lowest_failed_record():
    mapping = shard(4)
    invoke = mapping.next_invoke(always)
    assert invoke is not None
    failed = [{"itemIdentifier": r.sequence_number} for r in invoke.records[2:0:-1]]

    settlement = mapping.succeeded(invoke, {"batchItemFailures": failed})

    assert settlement.partial_failure and settlement.retry == 1
    retried = mapping.next_invoke(always)
    assert retried is not None and numbers(retried.records) == numbers(invoke.records[1:])


def test_a_failed_invoke_is_bisected_then_retried_then_dropped():
    mapping = shard(4)
    invoke = mapping.next_invoke(always)
    assert invoke is not None

    assert mapping.failed(invoke).bisected
    half = mapping.next_invoke(always)
    assert half is not None and len(half.records) == 2
    assert mapping.failed(half).bisected
    one = mapping.next_invoke(always)
    assert one is not None and len(one.records) == 1
    assert mapping.failed(one).retry == 1
    assert mapping.failed(mapping.next_invoke(always)).retry == 2
    dropped = mapping.failed(mapping.next_invoke(always)).dropped

    assert dropped is not None and dropped.condition == "RetryAttemptsExhausted"
    assert numbers(dropped.records) == numbers(invoke.records[:1])
    rest = mapping.next_invoke(always)
    assert rest is not None and numbers(rest.records) == numbers(invoke.records[1:2])


def test_an_answer_naming_an_unknown_record_fails_the_invoke():
    mapping = shard(1)
    invoke = mapping.next_invoke(always)
    assert invoke is not None

    settlement = mapping.succeeded(invoke, {"batchItemFailures": [{"itemIdentifier": "1"}]})

    assert settlement.failed_invoke


def test_records_past_the_maximum_age_are_dropped_and_described():
    mapping = shard(3)

    dropped = mapping.expire(ARRIVAL + 3_601)

    assert dropped is not None and dropped.condition == "RecordAgeExceeded"
    assert mapping.drained
    message = on_failure_message(
        dropped, function_arn="arn:fn", stream_arn=EXAMPLE_SOURCE.stream_arn, now=ARRIVAL
    )
    assert message["KinesisBatchInfo"]["batchSize"] == 3


def test_a_window_carries_state_and_ends_with_a_final_invoke_that_blocks_until_it_succeeds():
    mapping = shard(3, WINDOWED)
    first = mapping.next_invoke(never, limit=2)
    assert first is not None and not first.final
    mapping.succeeded(first, OK | {"state": {"n": 2}})
    last = mapping.next_invoke(never)
    assert last is not None and last.event["state"] == {"n": 2} and not last.final
    mapping.succeeded(last, OK | {"state": {"n": 3}})
    assert mapping.next_invoke(never) is None

    final = mapping.next_invoke(always)
    assert final is not None and final.final and final.records == ()
    assert final.event["state"] == {"n": 3}
    assert mapping.failed(final).retry == 1
    assert mapping.succeeded(mapping.next_invoke(always), OK).failed_invoke  # no state: failed
    again = mapping.next_invoke(always)
    mapping.succeeded(again, OK | {"state": {}})

    assert mapping.drained


def test_the_last_records_of_a_closed_window_go_in_its_final_invoke():
    mapping = shard(3, WINDOWED)

    invoke = mapping.next_invoke(always)

    assert invoke is not None and invoke.final and len(invoke.records) == 3


def test_a_state_over_the_cap_ends_the_window_early():
    mapping = shard(2, WINDOWED)
    invoke = mapping.next_invoke(never, limit=1)
    mapping.succeeded(invoke, OK | {"state": {"rollup": "x" * MAX_STATE_BYTES}})

    early = mapping.next_invoke(never)

    assert early is not None and early.terminated_early and early.final
    mapping.succeeded(early, OK | {"state": {}})
    rest = mapping.next_invoke(never)
    assert rest is not None and rest.event["state"] == {} and len(rest.records) == 1


def test_a_record_of_the_next_window_waits_for_the_open_windows_final_invoke():
    mapping = shard(1, WINDOWED)
    mapping.add(shard_stream_records(1, [("k", b"y")], arrival=ARRIVAL + 60))
    first = mapping.next_invoke(never)
    mapping.succeeded(first, OK | {"state": {"n": 1}})

    assert mapping.next_invoke(never) is None
    final = mapping.next_invoke(lambda window: window == first.window)
    assert final is not None and final.final and final.records == ()
