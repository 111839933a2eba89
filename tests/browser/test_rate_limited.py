"""Kinesis throttling reaches the page as 429 with Retry-After and X-RateLimit-Reset (exposed to
the page by CORS); analytics-next waits, sends again, and every event still lands exactly once.

moto never throttles, so PutRecords is made to (FaultInjectingKinesis, fault injection only).
The function's timeout is short enough that the producer tries once and answers at once.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from producer import handler
from riptide.contract import Env
from riptide.ingest import Ingestor, IngestService, IngestSettings
from riptide.ingest.publisher import KinesisPublisher
from riptide.ingest.telemetry import IngestTelemetry
from riptide.ingest.write_keys import WriteKeyRegistry
from tests.browser.conftest import SITE, Pipeline
from tests.browser.test_analytics_next import SHOPPING
from tests.producer.fault_injecting_kinesis import FailCall, FaultInjectingKinesis
from tools.lambda_kit.context import FunctionSpec
from tools.local.browser import BATCHING, STANDARD
from tools.local.cors import CorsPolicy
from tools.local.gateway import LocalHttpApi

THROTTLED = "ProvisionedThroughputExceededException"
TRIES_ONCE_TIMEOUT_SECONDS = 4
"""Leaves no time to retry PutRecords after the first call (the connect and read timeouts and
the answer margin take it all), so a throttled call is answered 429 straight away."""


@pytest.fixture
def throttled_api(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LocalHttpApi, FaultInjectingKinesis]]:
    """The real producer behind the local API, its first two PutRecords calls throttled whole."""
    settings = IngestSettings.from_env(os.environ)
    kinesis = FaultInjectingKinesis(pipeline.kinesis, [FailCall(THROTTLED), FailCall(THROTTLED)])
    secrets = boto3.client("secretsmanager")
    telemetry = IngestTelemetry(handler.metrics)
    ingestor = Ingestor(
        settings,
        WriteKeyRegistry(os.environ[Env.WRITE_KEYS_SECRET_ARN], lambda: secrets, 300),
        KinesisPublisher(settings.stream_name, lambda: kinesis),
        telemetry,
    )
    service = IngestService(lambda: ingestor, telemetry, handler.logger)
    monkeypatch.setattr(handler, "service", lambda: service)
    function = FunctionSpec("riptide-producer", "eu-west-1", TRIES_ONCE_TIMEOUT_SECONDS, 1024)
    with LocalHttpApi(handler.handler, function, CorsPolicy.for_origins(("*",))) as api:
        yield api, kinesis


@pytest.mark.parametrize("mode", [STANDARD, BATCHING])
def test_a_throttled_page_waits_and_sends_again_and_every_event_lands_once(
    pipeline: Pipeline, throttled_api: tuple[LocalHttpApi, Any], mode: str
):
    api, kinesis = throttled_api

    with pipeline.shopper(api) as shopper:
        message_ids = shopper.visit(mode, SHOPPING, pipeline.holds, stay=True, batch_size=4)

    api.drain()
    assert api.statuses[429] == 2
    assert kinesis.plan == [], "both throttled calls happened"
    stored = [event for event in pipeline.stored() if event["messageId"] in set(message_ids)]
    assert Counter(event["messageId"] for event in stored) == Counter(message_ids)
    assert {event["site"] for event in stored} == {SITE}


def test_events_throttled_as_the_shopper_leaves_are_sent_on_their_next_page_view(
    pipeline: Pipeline, throttled_api: tuple[LocalHttpApi, Any]
):
    """Standard mode keeps an event it could not deliver in localStorage; leaving the page
    right after a 429 does not lose it, the same shopper's next page view sends it."""
    api, _ = throttled_api
    first_calls = SHOPPING[:3]

    with pipeline.shopper(api) as shopper:
        first_visit = shopper.visit(STANDARD, first_calls)
        api.drain()
        assert api.statuses[429] == 2
        assert not pipeline.holds(first_visit)
        second_visit = shopper.visit(
            STANDARD, SHOPPING[3:4], lambda ids: pipeline.holds(first_visit + ids), stay=True
        )

    stored = Counter(pipeline.stored_ids())
    assert {message_id: stored[message_id] for message_id in first_visit + second_visit} == {
        message_id: 1 for message_id in first_visit + second_visit
    }
