"""Shared fixtures: moto Kinesis and Secrets Manager, and a producer wired to them.

Requests go through the real Lambda handler (payload 2.0 in, HTTP answer out); what reached
Kinesis is read back from every shard and de-aggregated.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from producer import handler
from riptide.ingest import Ingestor, IngestService, IngestSettings
from riptide.ingest.publisher import KinesisPublisher
from riptide.ingest.telemetry import IngestTelemetry
from riptide.ingest.write_keys import WriteKeyRegistry
from tests.fake_aws import use_fake_aws_credentials
from tests.producer.fault_injecting_kinesis import Fault, FaultInjectingKinesis
from tests.producer.http_events import PRODUCER, SITE, WRITE_KEY, http_event
from tests.producer.kinesis_reader import read_events
from tools.lambda_kit.context import LambdaContext

STREAM = "riptide-events"
SECRET = "riptide/write-keys"
OTHER_WRITE_KEY = "wk_other_19ad"
RECEIVED_AT = datetime(2026, 11, 27, 16, 35, 46, 123_000, tzinfo=UTC)


@dataclass
class ManualClock:
    """Monotonic time that moves only when the code under test sleeps."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]


@dataclass
class Producer:
    kinesis: FaultInjectingKinesis
    stream_name: str
    ingestor: Ingestor
    context: LambdaContext = field(default_factory=PRODUCER.frozen_context)

    def send(self, event: dict[str, Any]) -> Answer:
        """One payload 2.0 event through the Lambda handler."""
        response = handler.handler(event, self.context)
        body = json.loads(response["body"]) if response.get("body") else None
        return Answer(response["statusCode"], body, response["headers"])

    def post(self, path: str, body: Any = None, **options: Any) -> Answer:
        return self.send(http_event(path, body, **options))

    def stream(self) -> list[dict[str, Any]]:
        return read_events(self.kinesis.client, self.stream_name)


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    """One moto account per test module (starting moto is slow); each test gets its own stream."""
    with pytest.MonkeyPatch.context() as patch:
        use_fake_aws_credentials(patch)
        with mock_aws():
            yield


@pytest.fixture(scope="module")
def kinesis(aws: None) -> Any:
    return boto3.client("kinesis")


@pytest.fixture(scope="module")
def secrets(aws: None) -> Any:
    client = boto3.client("secretsmanager")
    keys = {WRITE_KEY: SITE, OTHER_WRITE_KEY: "site-other"}
    client.create_secret(Name=SECRET, SecretString=json.dumps(keys))
    return client


_stream_numbers = itertools.count()


def new_stream(kinesis: Any) -> str:
    """A fresh two-shard stream."""
    name = f"{STREAM}-{next(_stream_numbers)}"
    kinesis.create_stream(StreamName=name, ShardCount=2)
    return name


@pytest.fixture
def make_producer(
    kinesis: Any, secrets: Any, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Producer]:
    """A producer on a new moto stream, with optional PutRecords faults and settings overrides."""

    def make(
        plan: list[Fault] | None = None,
        *,
        repeat_last: bool = False,
        remaining_millis: int = 10_000,
        stream_name: str | None = None,
        **settings: Any,
    ) -> Producer:
        stream_name = stream_name or new_stream(kinesis)
        faulty = FaultInjectingKinesis(kinesis, plan or [], repeat_last)
        clock = ManualClock()
        ingestor = Ingestor(
            IngestSettings(stream_name=stream_name, write_keys_secret_id=SECRET, **settings),
            WriteKeyRegistry(SECRET, lambda: secrets, max_age_seconds=300),
            KinesisPublisher(stream_name, lambda: faulty, sleep=clock.sleep),
            IngestTelemetry(handler.metrics),
            clock=lambda: RECEIVED_AT,
            monotonic=clock,
        )
        service = IngestService(lambda: ingestor, IngestTelemetry(handler.metrics), handler.logger)
        monkeypatch.setattr(handler, "service", lambda: service)
        return Producer(faulty, stream_name, ingestor, PRODUCER.frozen_context(remaining_millis))

    return make


@pytest.fixture
def producer(make_producer: Callable[..., Producer]) -> Producer:
    return make_producer()
