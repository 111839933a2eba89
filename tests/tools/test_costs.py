"""The cost model: aggregation happens within one request, so small requests gain nothing from it
and pay per request."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.costs import (
    API_FIRST_TIER_PER_MILLION,
    SECONDS_PER_MONTH,
    Workload,
    cost_table,
    estimate,
)


def test_one_event_per_request_gains_nothing_from_aggregation():
    browser = Workload(events_per_request=1, events_per_record=33)

    assert estimate(browser) == estimate(browser.unaggregated())
    assert estimate(browser).records_per_second == browser.events_per_second


@given(
    events_per_request=st.floats(min_value=1, max_value=5000),
    events_per_record=st.floats(min_value=1, max_value=500),
)
def test_a_record_never_holds_more_events_than_its_request(
    events_per_request: float, events_per_record: float
):
    workload = Workload(events_per_request=events_per_request, events_per_record=events_per_record)

    records = estimate(workload).records_per_second
    requests = estimate(workload).requests_per_second

    assert records >= requests * (1 - 1e-9)
    assert records == pytest.approx(
        workload.events_per_second / min(events_per_request, events_per_record)
    )


def test_per_request_charges_dominate_at_one_event_per_request():
    browser = estimate(Workload(events_per_second=100_000, events_per_request=1))
    by_item = {line.item: line.dollars for line in browser.lines}

    requests = 100_000 * SECONDS_PER_MONTH
    assert by_item["API Gateway HTTP API"] > requests * API_FIRST_TIER_PER_MILLION * 0.9 / 1e6
    per_request = by_item["API Gateway HTTP API"] + by_item["Lambda producer (arm64)"]
    assert per_request > 0.95 * browser.total


def test_the_table_compares_request_sizes_side_by_side():
    table = cost_table(Workload(events_per_second=100_000))
    header = table.splitlines()[1]

    for title in ("1 per request", "3 per request", "10 per request", "100 per request"):
        assert title in header
    assert "100 per request, no KPL" in header
    records = next(line for line in table.splitlines() if line.startswith("Kinesis records/s"))
    assert records.split()[2:] == ["100,000", "33,333", "10,000", "3,030", "100,000"]
