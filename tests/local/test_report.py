"""The demo report's verdict: every accepted event and every Decision Made event the decide API
promised is in Druid once, and the experiment's lift lies above zero; the A/A experiment's
interval is shown, never a reason to fail."""

from __future__ import annotations

import dataclasses
from typing import Any

from tools.local.report import RunFigures, render
from tools.local.rollup_store import Totals

ACCEPTED = 9_000
DECISIONS = 1_500


def figures(**changes: Any) -> RunFigures:
    """A run of 9,000 accepted events and 1,500 promised decisions, all of them in Druid."""
    base = RunFigures(
        run_id="r",
        rate=300,
        duration_seconds=30,
        seed=0,
        shards=2,
        tumbling_window_seconds=60,
        store="Druid",
        datasource="riptide_demo_r",
        run_dir="runs/r",
        sent=ACCEPTED + 20,
        accepted=ACCEPTED,
        rejected=20,
        bad_sent=20,
        unexpected_rejections=0,
        requests=100,
        requests_ok=100,
        retries=0,
        resent_events=0,
        late_resent_events=0,
        gave_up_events=0,
        statuses={"200": 100},
        kinesis_records=500,
        stream_events=ACCEPTED + DECISIONS,
        stream_repeated_message_ids=0,
        stream_unreadable_events=0,
        duplicates_dropped={},
        kinesis_bytes=6_000_000,
        put_payload_units=500,
        invocations=10,
        final_invocations=2,
        function_errors=0,
        partial_failures=0,
        bisections=0,
        batches_dropped=0,
        records_dropped=0,
        dead_letter_messages=0,
        quarantine_objects=0,
        outbox_pending=0,
        druid_tasks=2,
        task_states={"SUCCESS": 2},
        rollup_rows_pushed=3000,
        duplicate_submissions=0,
        reconciler_runs=3,
        reconciler_failures=0,
        producer_ms_per_request=50,
        consumer_ms_per_1000_events=500,
        totals=Totals(events=ACCEPTED + DECISIONS, revenue=1000.0, rows=3000),
        by_site_minute=[],
        site_minute_query="SELECT ...",
        settle_problem=None,
        decide_served_by="on the context Lambda",
        decide_calls=750,
        decide_statuses={"200": 750},
        decide_p50_ms=12.0,
        decide_p99_ms=40.0,
        decisions_made=DECISIONS,
        shown={"home-hero: complete-your-order": 90, "home-hero: hero-default": 660},
        returns={"scheduled": 200, "made": 150, "reminded": 80, "bought_reminded": 50,
                 "bought_not_reminded": 8},
        lift_required=True,
        experiments=[
            experiment("cart-banner", "control", "banner", 0.06, 0.03, 0.09, finds_lift=True),
            experiment("picks-aa", "a", "b", 0.004, -0.02, 0.028, finds_lift=False),
        ],
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def experiment(
    name: str, control: str, arm: str, estimate: float, low: float, high: float, *, finds_lift: bool
) -> dict[str, Any]:
    """An experiment report's JSON as `riptide experiment report` gives it, trimmed."""
    difference = {
        "estimate": estimate,
        "low": low,
        "high": high,
        "excludesZero": low > 0 or high < 0,
    }
    return {
        "experiment": name,
        "control": control,
        "arms": [
            {"arm": control, "conversionDifference": None},
            {"arm": arm, "conversionDifference": difference},
        ],
        "text": f"Experiment {name}",
        "findsLift": finds_lift,
    }


def check_lines(run: RunFigures) -> list[str]:
    return [line for line in render(run, 100_000).splitlines() if line.startswith(("CHECK", "A/A"))]


def test_a_run_passes_with_every_event_once_and_the_lift_above_zero() -> None:
    run = figures()

    assert run.passed
    assert check_lines(run) == [
        "CHECK: distinct events accepted (9,000) + Decision Made events (1,500) == SUM(events) in "
        "riptide_demo_r (10,500): PASS",
        "CHECK: cart-banner (banner vs control) lift conversion +6.00 pts, 95% interval "
        "[+3.00, +9.00] above zero: PASS",
        "A/A:   picks-aa (b vs a) difference conversion +0.40 pts, 95% interval [-2.00, +2.80] "
        "includes zero, as it should (shown, not checked)",
    ]


def test_decision_made_events_missing_from_druid_fail_the_run() -> None:
    run = figures(totals=Totals(events=ACCEPTED + DECISIONS - 1, revenue=1000.0, rows=3000))

    assert not run.exactly_once and not run.passed
    assert check_lines(run)[0].endswith("(10,499): FAIL")


def test_a_lift_whose_interval_includes_zero_fails_the_run() -> None:
    unsure = experiment("cart-banner", "control", "banner", 0.01, -0.01, 0.03, finds_lift=True)
    aa = figures().experiments[1]
    run = figures(experiments=[unsure, aa])

    assert run.exactly_once and not run.passed
    assert check_lines(run)[1].endswith("above zero: FAIL")
    assert "missing" not in render(run, 100_000), "nothing is missing from Druid"


def test_an_a_a_interval_that_misses_zero_is_shown_and_does_not_fail_the_run() -> None:
    lift = figures().experiments[0]
    unlucky = experiment("picks-aa", "a", "b", 0.03, 0.005, 0.055, finds_lift=False)
    run = figures(experiments=[lift, unlucky])

    assert run.passed
    assert "excludes zero, as a 95% interval does in 1 run of 20" in check_lines(run)[2]


def test_without_experiment_reports_a_run_that_needs_them_fails_and_says_why() -> None:
    run = figures(experiments=[], experiments_problem="Druid did not answer")

    assert not run.passed
    assert check_lines(run)[1] == "CHECK: experiment lift: FAIL (Druid did not answer)"
    assert figures(experiments=[], lift_required=False).passed, "--no-druid: no lift to find"
