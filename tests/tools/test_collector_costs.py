"""The cost model of the two ingresses: arithmetic a reader can check by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tools.collector_costs import (
    MEASURED,
    CollectorFleet,
    collector_total,
    compare,
    lambda_ingress_total,
)
from tools.costs import Workload

FLEET = CollectorFleet()


def test_at_100k_single_event_requests_the_collector_costs_a_small_fraction():
    (single, *_) = compare(Workload(events_per_second=100_000), FLEET)

    assert single.events_per_request == 1
    assert single.lambda_total > 400_000
    assert single.collector_total < 10_000


def test_tasks_follow_the_measured_capacity_and_never_go_below_the_minimum():
    workload = Workload(events_per_second=12_000, events_per_request=1, events_per_record=20)

    _, tasks, _ = collector_total(workload, FLEET, requests_per_vcpu_second=1_000)
    _, idle_tasks, _ = collector_total(
        replace(workload, events_per_second=1), FLEET, requests_per_vcpu_second=1_000
    )

    assert tasks == 20  # 12,000 requests/s / (1,000 x 60%)
    assert idle_tasks == FLEET.min_tasks


@pytest.mark.parametrize(
    "row", compare(Workload(), FLEET), ids=lambda row: str(row.events_per_request)
)
def test_the_collector_is_cheaper_just_above_the_break_even_rate_and_dearer_below(row):
    capacity, fill = MEASURED[int(row.events_per_request)]

    def totals(requests_per_second: float) -> tuple[float, float]:
        at = Workload(
            events_per_second=requests_per_second * row.events_per_request,
            events_per_request=row.events_per_request,
            events_per_record=fill,
        )
        return collector_total(at, FLEET, capacity)[0], lambda_ingress_total(at)

    collector_above, lambda_above = totals(row.break_even_requests_per_second * 1.1)
    collector_below, lambda_below = totals(row.break_even_requests_per_second * 0.9)
    assert collector_above < lambda_above
    assert collector_below > lambda_below
