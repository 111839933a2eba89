"""GroupCommitter: concurrent requests share records; each learns the fate of its own records.

Kinesis is moto; the failures moto cannot produce (failed records, a stall) are injected by
FaultInjectingKinesis and StallingKinesis, named as what they are.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from riptide.collector.committer import GroupCommitter
from riptide.collector.settings import CollectorSettings
from riptide.ingest.exceptions import BusyError, PublishTimeoutError
from riptide.ingest.publisher import KinesisPublisher
from riptide.ingest.telemetry import IngestTelemetry
from riptide.kpl import Aggregator, SpreadKeys, deaggregate
from riptide.retry import Backoff
from tests.fake_aws import use_fake_aws_credentials
from tests.producer.fault_injecting_kinesis import FailRecords, FaultInjectingKinesis
from tests.producer.kinesis_reader import read_user_records

THROTTLED = "ProvisionedThroughputExceededException"
_streams = itertools.count()


class NoMetrics:
    """Telemetry goes nowhere here: these tests read the stream instead."""

    def add_metric(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture(scope="module")
def kinesis() -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        use_fake_aws_credentials(patch)
        with mock_aws():
            yield boto3.client("kinesis")


def new_stream(kinesis: Any) -> str:
    name = f"collector-{next(_streams)}"
    kinesis.create_stream(StreamName=name, ShardCount=2)
    return name


def committer_for(client: Any, stream: str, **overrides: Any) -> GroupCommitter:
    collector_settings = CollectorSettings(
        **{"linger_seconds": 0.05, "publish_budget_seconds": 0.0, **overrides}
    )
    publisher = KinesisPublisher(
        stream, lambda: client, backoff=Backoff(base_seconds=0.001, cap_seconds=0.001)
    )
    # Small records, so one flush of a few requests makes several Kinesis records.
    aggregator = Aggregator(SpreadKeys(), max_record_bytes=1_024)
    return GroupCommitter(aggregator, publisher, collector_settings, IngestTelemetry(NoMetrics()))  # type: ignore[arg-type]


def event(request: int, number: int) -> tuple[None, bytes]:
    return None, json.dumps({"r": request, "n": number, "pad": "x" * 150}).encode()


async def commit_all(committer: GroupCommitter, sizes: list[int]) -> list[BaseException | None]:
    """Commit requests of these sizes concurrently; each one's exception, or None."""
    outcomes = await asyncio.gather(
        *(
            committer.commit([event(request, n) for n in range(size)])
            for request, size in enumerate(sizes)
        ),
        return_exceptions=True,
    )
    await committer.close()
    return list(outcomes)


def stored(kinesis: Any, stream: str) -> list[tuple[int, int]]:
    return [(e["r"], e["n"]) for e in map(json.loads, read_user_records(kinesis, stream))]


def test_concurrent_requests_share_records_and_calls(kinesis):
    stream = new_stream(kinesis)
    faults = FaultInjectingKinesis(kinesis)
    committer = committer_for(faults, stream)

    outcomes = asyncio.run(commit_all(committer, [1] * 20))

    assert outcomes == [None] * 20
    assert sorted(stored(kinesis, stream)) == [(r, 0) for r in range(20)]
    assert len(faults.calls) == 1  # one PutRecords call for twenty requests
    assert len(faults.calls[0]) < 20  # and fewer records than events


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=12),
    failing=st.sets(st.integers(0, 40)),
)
def test_exactly_the_requests_with_events_in_a_failed_record_get_an_error(kinesis, sizes, failing):
    stream = new_stream(kinesis)
    faults = FaultInjectingKinesis(
        kinesis, [FailRecords(THROTTLED, positions=failing.__contains__)]
    )
    committer = committer_for(faults, stream)

    outcomes = asyncio.run(commit_all(committer, sizes))

    # Which requests had events in each failed record, from what was sent in the one call.
    sent = faults.calls[0]
    holders = [{event["r"] for event in _events_of(entry["Data"])} for entry in sent]
    failed_requests = set().union(*(holders[i] for i in failing if i < len(sent)))
    for request, outcome in enumerate(outcomes):
        if request in failed_requests:
            assert isinstance(outcome, PublishTimeoutError)
            assert outcome.throttled
        else:
            assert outcome is None
    in_stream = stored(kinesis, stream)
    assert len(in_stream) == len(set(in_stream))
    for request, size in enumerate(sizes):
        if request not in failed_requests:
            assert {(request, n) for n in range(size)} <= set(in_stream)


def _events_of(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(payload) for payload in deaggregate(data)]


class StallingKinesis:
    """Fault injection: PutRecords hangs until released, as a stalled network would make it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.release = threading.Event()

    def put_records(self, **kwargs: Any) -> Any:
        self.release.wait(30)
        return self.client.put_records(**kwargs)


def test_past_the_cap_on_waiting_bytes_a_request_is_refused_at_once_and_the_rest_still_land(
    kinesis,
):
    stream = new_stream(kinesis)
    stalled = StallingKinesis(kinesis)
    committer = committer_for(
        stalled, stream, linger_seconds=0.0, max_waiting_bytes=1_000, publish_budget_seconds=5.0
    )

    async def scenario() -> tuple[BaseException | None, BaseException | None]:
        first = asyncio.create_task(committer.commit([event(0, n) for n in range(4)]))
        await asyncio.sleep(0.01)  # the first request's flush is now out, and stalled
        assert committer.waiting_bytes > 0
        try:
            await committer.commit([event(1, n) for n in range(4)])
            second = None
        except BusyError as error:
            second = error
        stalled.release.set()
        await first
        await committer.close()
        return first.exception(), second

    first_error, second_error = asyncio.run(scenario())

    assert first_error is None
    assert isinstance(second_error, BusyError)
    assert sorted(stored(kinesis, stream)) == [(0, n) for n in range(4)]
    assert committer.waiting_bytes == 0


def test_closing_flushes_what_is_waiting_and_then_refuses_more(kinesis):
    stream = new_stream(kinesis)
    committer = committer_for(kinesis, stream, linger_seconds=30.0)

    async def scenario() -> BaseException | None:
        waiting = asyncio.create_task(committer.commit([event(0, 0)]))
        await asyncio.sleep(0)
        await committer.close()  # does not wait out the 30 s linger
        await waiting
        try:
            await committer.commit([event(1, 0)])
        except BusyError as error:
            return error
        return None

    refused = asyncio.run(scenario())

    assert stored(kinesis, stream) == [(0, 0)]
    assert isinstance(refused, BusyError)
