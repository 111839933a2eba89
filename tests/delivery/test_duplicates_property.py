"""Property: whatever copies of events the stream holds, on whichever shards, and however Lambda
batches, redelivers and interleaves the shards, Druid ends with the sums of the distinct events
and every profile is the one the distinct events make."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import consumer.handler
from riptide.kinesis_batch import KinesisBatch
from riptide.profiles import ProfileConsumer, ProfileStore
from tests.delivery.conftest import Buckets, configure
from tests.delivery.fault_injecting_druid import FaultInjectingDruid
from tests.delivery.kinesis_events import shard_records
from tests.delivery.replay import Step, run_shards
from tests.profiles.conftest import LIMITS, profile_consumer, store_client  # noqa: F401 (fixture)
from tests.profiles.test_replays import shopper_event
from tools.lambda_kit.context import LambdaContext
from tools.lambda_kit.kinesis import StreamRecord

SHOPPERS = 3
SHARDS = 2
ACTIONS = ("page", "view", "add", "order")
"""Actions whose effect on a profile does not depend on which shard's copy counts."""

messages = st.lists(
    st.tuples(
        st.integers(0, SHOPPERS - 1),
        st.sampled_from(ACTIONS),
        st.integers(0, 600),
        st.lists(st.integers(0, SHARDS - 1), max_size=2),
    ),
    min_size=1,
    max_size=20,
)
"""(shopper, action, second, shards of its extra copies) of each distinct event."""


def shards_of(
    site: str, plan: Sequence[tuple[int, str, int, list[int]]], sizes: Sequence[int], copies: bool
) -> list[list[StreamRecord]]:
    """Each shard's records: an event on its shopper's shard, each copy (when `copies`) on its
    own shard right behind it, packed `sizes[i]` payloads per Kinesis record."""
    payloads: list[list[bytes]] = [[] for _ in range(SHARDS)]
    for shopper, action, second, extra in plan:
        payload = json.dumps(shopper_event(site, shopper, action, second)).encode()
        for shard in [shopper % SHARDS, *(extra if copies else ())]:
            payloads[shard].append(payload)
    shards = []
    for index, shard_payloads in enumerate(payloads):
        if not shard_payloads:
            continue
        sized = itertools.cycle(sizes)
        groups, start = [], 0
        while start < len(shard_payloads):
            size = next(sized)
            groups.append(shard_payloads[start : start + size])
            start += size
        shards.append(shard_records(index, groups))
    return shards


def profile_handler(profiles: ProfileConsumer) -> Callable[[dict[str, Any], LambdaContext], Any]:
    def handle(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
        return profiles.consume(KinesisBatch.from_event(event)).response()

    return handle


@pytest.mark.timeout(900)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=messages,
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=6),
    batch_sizes=st.lists(st.integers(1, 5), min_size=1, max_size=8),
    redeliveries=st.lists(st.booleans(), min_size=1, max_size=8),
    turns=st.lists(st.integers(0, 3), min_size=1, max_size=12),
    window_records=st.one_of(st.none(), st.integers(1, 4)),
    profiles_first=st.booleans(),
)
def test_copies_on_any_shard_under_any_replay_count_as_the_distinct_events(
    aws: Buckets,
    monkeypatch: pytest.MonkeyPatch,
    store_client: Any,  # noqa: F811
    plan: list[tuple[int, str, int, list[int]]],
    sizes: list[int],
    batch_sizes: list[int],
    redeliveries: list[bool],
    turns: list[int],
    window_records: int | None,
    profiles_first: bool,
) -> None:
    profiles = profile_consumer(ProfileStore(store_client, LIMITS), chunk_events=3)
    results = {}
    for copies in (False, True):
        site = f"site-{uuid.uuid4().hex[:12]}"
        shards = shards_of(site, plan, sizes, copies)
        with FaultInjectingDruid() as druid:
            # A datasource per run: the outbox must not hold the other run's deliveries.
            configure(monkeypatch, druid.url, DRUID_DATASOURCE=f"ds_{uuid.uuid4().hex[:8]}")
            consumers = [
                (consumer.handler.handler, window_records),
                (profile_handler(profiles), None),
            ]
            for handler, window in reversed(consumers) if profiles_first else consumers:
                steps = (
                    Step(batch_size=size, redeliver=again)
                    for size, again in zip(
                        itertools.cycle(batch_sizes), itertools.cycle(redeliveries), strict=False
                    )
                )
                run_shards(handler, shards, steps, itertools.cycle(turns), window_records=window)
            totals = druid.totals()
        shoppers = [f"anon-{shopper}" for shopper in range(SHOPPERS)]
        stored = ProfileStore(store_client, LIMITS).read(site, shoppers)
        results[copies] = totals, stored

    (once_totals, once_profiles), (copied_totals, copied_profiles) = results[False], results[True]
    assert copied_totals == once_totals
    assert copied_profiles == once_profiles
