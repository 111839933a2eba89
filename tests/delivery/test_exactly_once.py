"""Property: whatever the batching, windows, redeliveries and Druid faults, Druid ends up with
exactly the input: every valid event counted once, revenue summed once."""

from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import consumer.handler
import consumer.reconciler
from tests.delivery.conftest import Buckets, configure
from tests.delivery.fault_injecting_druid import Fault, FaultInjectingDruid
from tests.delivery.kinesis_events import CONSUMER, RECONCILER, segment_event, shard_records
from tests.delivery.replay import Step, run_shard

SHORT_BUDGET = CONSUMER.frozen_context(3_500)
INVALID = b'{"type":"track","timestamp":"not a time"}'

events = st.one_of(
    st.tuples(st.integers(0, 5), st.integers(0, 400), st.integers(0, 3)),
    st.none(),
)
"""(user, revenue in quarters, minute) of a valid event, or None for an invalid one."""
shard_input = st.lists(st.lists(events, min_size=1, max_size=4), min_size=1, max_size=12)


def payload(event: tuple[int, int, int] | None) -> bytes:
    if event is None:
        return INVALID
    user, quarters, minute = event
    return segment_event(user_id=f"u{user}", revenue=quarters / 4, minute=minute)


faults = st.sampled_from(["none", "none", "none", "unavailable", "lost_answer", "task_fails"])


def fault_injector(druid: FaultInjectingDruid, kind: str):
    def inject() -> None:
        if kind == "unavailable":
            druid.script_submit(*[Fault(503)] * 100)
        elif kind == "lost_answer":
            druid.script_submit(Fault(200, delay=0.4, accept=True), *[Fault(503)] * 100)
        elif kind == "task_fails":
            druid.end_next_tasks("FAILED")

    return inject


@pytest.mark.timeout(900)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    shards=st.lists(shard_input, min_size=1, max_size=2),
    batch_sizes=st.lists(st.integers(1, 5), min_size=1, max_size=8),
    redeliveries=st.lists(st.booleans(), min_size=1, max_size=8),
    fault_plan=st.lists(faults, min_size=1, max_size=8),
    window_records=st.one_of(st.none(), st.integers(1, 6)),
)
def test_druid_holds_exactly_the_input(
    aws: Buckets,
    monkeypatch: pytest.MonkeyPatch,
    shards,
    batch_sizes,
    redeliveries,
    fault_plan,
    window_records,
):
    valid = [e for groups in shards for group in groups for e in group if e is not None]
    with FaultInjectingDruid() as druid:
        configure(monkeypatch, druid.url, DRUID_DATASOURCE=f"ds_{uuid.uuid4().hex[:8]}")
        for shard_index, groups in enumerate(shards):
            plan = zip(
                itertools.cycle(batch_sizes),
                itertools.cycle(redeliveries),
                # faults run out so that every shard drains
                itertools.chain(fault_plan, itertools.repeat("none")),
                strict=False,
            )
            steps = (
                Step(
                    batch_size=size,
                    redeliver=again,
                    before=fault_injector(druid, fault),
                    context=SHORT_BUDGET if fault != "none" else CONSUMER.frozen_context(),
                )
                for size, again, fault in plan
            )
            run_shard(
                consumer.handler.handler,
                shard_records(shard_index, [[payload(e) for e in group] for group in groups]),
                steps,
                window_records=window_records,
                after=druid.heal,
            )
        # The stream goes on: a later delivery succeeds, which also shows the reconciler that
        # Druid's task audit log is on, so it may re-drive a FAILED task that published nothing.
        later = shard_records(len(shards), [[payload((0, 4, 0))]])
        run_shard(consumer.handler.handler, later, itertools.repeat(Step(batch_size=1)))
        valid.append((0, 4, 0))
        for _ in range(10):
            if not aws.pending():
                break
            consumer.reconciler.handler({}, RECONCILER.frozen_context())

        assert aws.pending() == []
        totals = druid.totals()
    assert totals.get("events", 0) == len(valid)
    assert totals.get("revenue", 0) == sum(quarters / 4 for _, quarters, _ in valid)
