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
    # The deduplication window costs the same however events are requested.
    window = by_item["Deduplication window ECPUs"] + by_item["Deduplication window storage"]
    assert per_request > 0.95 * (browser.total - window)


def test_the_table_compares_request_sizes_side_by_side():
    table = cost_table(Workload(events_per_second=100_000))
    header = table.splitlines()[1]

    for title in ("1 per request", "3 per request", "10 per request", "100 per request"):
        assert title in header
    assert "100 per request, no KPL" in header
    records = next(line for line in table.splitlines() if line.startswith("Kinesis records/s"))
    assert records.split()[2:] == ["100,000", "33,333", "10,000", "3,030", "100,000"]


def _dollars(workload: Workload) -> dict[str, float]:
    return {line.item: line.dollars for line in estimate(workload).lines}


def test_without_decisions_the_estimate_has_no_decide_lines():
    assert not [item for item in _dollars(Workload()) if item.startswith("Decide")]


def test_decide_calls_pay_api_gateway_the_context_lambda_and_kinesis():
    """1,000 decide calls/s beside 100,000 events/s in requests of 100 (2,628 M requests a
    month, past the first price tier)."""
    events = Workload(events_per_second=100_000, events_per_request=100)
    with_decisions = Workload(
        events_per_second=100_000, events_per_request=100, decisions_per_second=1_000
    )

    dollars = _dollars(with_decisions)

    calls = 1_000 * SECONDS_PER_MONTH  # 2,628 M
    assert dollars["Decide: API Gateway HTTP API"] == pytest.approx(calls * 0.90 / 1e6)
    # 40 ms at 512 MB: 0.02 GB-s a call, and the request charge
    assert dollars["Decide: Lambda context (arm64)"] == pytest.approx(
        calls * 0.02 * 0.0000133334 + calls * 0.20 / 1e6
    )
    # One 650 B record a call (one PUT unit); 65.65 MB/s needs a 63rd shard beside the events' 62
    assert dollars["Decide: Kinesis"] == pytest.approx(calls * 0.014 / 1e6 + 730 * 0.015)
    assert estimate(with_decisions).shards == estimate(events).shards + 1 == 63
    assert estimate(with_decisions).total == pytest.approx(
        estimate(events).total + sum(v for k, v in dollars.items() if k.startswith("Decide"))
    )


def test_decide_requests_are_priced_in_the_tier_the_events_leave():
    """10 events/s one per request: 26.28 M requests; 200 decide calls/s add 525.6 M, of which
    273.72 M still at $1.00 per million and the rest at $0.90."""
    workload = Workload(events_per_second=10, events_per_request=1, decisions_per_second=200)

    assert _dollars(workload)["Decide: API Gateway HTTP API"] == pytest.approx(
        273.72 * 1.00 + (525.6 - 273.72) * 0.90
    )


def test_decisions_of_many_placements_fill_more_put_units():
    """Ten placements of 650 B are 6,500 B: still one PUT unit; fifty are 32,500 B: two."""
    base = Workload(events_per_second=1_000, decisions_per_second=1)

    def units_dollars(placements: float) -> float:
        workload = Workload(
            events_per_second=1_000, decisions_per_second=1, placements_per_decision=placements
        )
        return _dollars(workload)["Decide: Kinesis"]

    assert units_dollars(10) == pytest.approx(_dollars(base)["Decide: Kinesis"])
    assert units_dollars(50) == pytest.approx(2 * _dollars(base)["Decide: Kinesis"])
