"""A moto server with the stack's stream and secret, and `riptide collector` processes on it.

The collector runs as it does in production: its own process on uvicorn, finding AWS through
AWS_ENDPOINT_URL. Faults moto cannot produce come from the KinesisThrottle proxy.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from riptide.contract import Env
from tools.local.aws import LocalResources, MotoServer, provision
from tools.local.collector import LocalCollector, collector_environment

WRITE_KEY = "wk_collector_51d0"
SITE = "shop-collector"
_streams = itertools.count()


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="module")
def resources(moto: MotoServer) -> LocalResources:
    return provision(moto, shards=2, write_keys={WRITE_KEY: SITE}, druid_credentials={})


def fresh_stream(moto: MotoServer, resources: LocalResources) -> LocalResources:
    """The same resources with a stream of their own, so each test reads only its events."""
    name = f"{resources.stream_name}-{next(_streams)}"
    kinesis = moto.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=name)
    fields = {**resources.__dict__, "stream_name": name}
    return LocalResources(**fields)


@pytest.fixture
def start_collector(
    moto: MotoServer, resources: LocalResources
) -> Iterator[Callable[..., tuple[LocalCollector, LocalResources]]]:
    """Start a collector on a new stream; stopped (SIGTERM) at the end of the test."""
    started: list[LocalCollector] = []

    def start(
        kinesis_endpoint_url: str | None = None, workers: int = 2, **settings: Any
    ) -> tuple[LocalCollector, LocalResources]:
        own = fresh_stream(moto, resources)
        environment = collector_environment(
            moto,
            own,
            kinesis_endpoint_url,
            {getattr(Env, name.upper()): str(value) for name, value in settings.items()},
        )
        collector = LocalCollector(environment, workers=workers).__enter__()
        started.append(collector)
        return collector, own

    yield start
    for collector in started:
        collector.__exit__(None, None, None)
