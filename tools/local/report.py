"""The end-of-run report: what went in, what the stream and Druid hold, and the checks that count.

The first check compares two numbers that come from opposite ends and share no code: the events
the load generator saw accepted (from the API's answers, one per distinct messageId however
often it was sent and accepted) plus the Decision Made events the decide API's answers promised
(one per decisionId), and SUM(events) in the run's own datasource, read back with SQL. The
second, when shoppers asked for decisions and Druid answers SQL, is the experiment's: the 95%
interval of the lift it measured must lie above zero. PASS only when both hold. The A/A
experiment's interval is shown beside it, not checked: it misses zero in 1 run of 20 by design.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tools.costs import REQUEST_SIZES, Workload, cost_table, render_table
from tools.local.profiles import ProfileFigures, render_profiles
from tools.local.rollup_store import SiteMinute, Totals

MAX_TABLE_ROWS = 60


@dataclass(frozen=True)
class RunFigures:
    """Every number the report shows, gathered at the end of a run."""

    run_id: str
    rate: float
    duration_seconds: float
    seed: int
    shards: int
    tumbling_window_seconds: int
    store: str
    datasource: str
    run_dir: str
    sent: int
    accepted: int
    rejected: int
    bad_sent: int
    unexpected_rejections: int
    requests: int
    requests_ok: int
    retries: int
    resent_events: int
    late_resent_events: int
    gave_up_events: int
    statuses: dict[str, int]
    kinesis_records: int
    stream_events: int
    stream_repeated_message_ids: int
    stream_unreadable_events: int
    duplicates_dropped: dict[str, int]
    """Copies the rollup consumer's deduplication window dropped, by site."""
    kinesis_bytes: int
    put_payload_units: int
    invocations: int
    final_invocations: int
    function_errors: int
    partial_failures: int
    bisections: int
    batches_dropped: int
    records_dropped: int
    dead_letter_messages: int
    quarantine_objects: int
    outbox_pending: int
    druid_tasks: int
    task_states: dict[str, int]
    rollup_rows_pushed: int
    duplicate_submissions: int
    reconciler_runs: int
    reconciler_failures: int
    producer_ms_per_request: float
    consumer_ms_per_1000_events: float
    totals: Totals
    by_site_minute: list[SiteMinute]
    site_minute_query: str
    settle_problem: str | None
    faults: list[str] = field(default_factory=list)
    fault_counts: dict[str, int] = field(default_factory=dict)
    browser_visits: dict[str, int] = field(default_factory=dict)
    """Page visits in Chromium, by the SDK's delivery mode (empty without --browser)."""
    browser_sent: int = 0
    browser_accepted: int = 0
    """Events the pages sent that the stream holds (the SDK does not show the answers)."""
    browser_missing: int = 0
    browser_failed_visits: int = 0
    profiles: ProfileFigures | None = None
    decide_served_by: str = ""
    decide_calls: int = 0
    decide_statuses: dict[str, int] = field(default_factory=dict)
    decide_p50_ms: float | None = None
    decide_p99_ms: float | None = None
    decisions_made: int = 0
    """Decision Made events the decide API's 200 answers promised (their decisionIds)."""
    shown: dict[str, int] = field(default_factory=dict)
    returns: dict[str, int] = field(default_factory=dict)
    """What shoppers did when they came back for their carts (tools.traffic.ReturnVisits)."""
    trends_runs: int = 0
    trends_failures: int = 0
    lift_required: bool = False
    experiments: list[dict[str, Any]] = field(default_factory=list)
    """`riptide experiment report`'s JSON of each demo experiment, its table as `text`."""
    experiments_problem: str | None = None

    @property
    def accepted_total(self) -> int:
        """Events accepted from the load generator and the browsers, and Decision Made events."""
        return self.accepted + self.browser_accepted + self.decisions_made

    @property
    def exactly_once(self) -> bool:
        return (
            self.settle_problem is None
            and self.browser_missing == 0
            and self.accepted_total == self.totals.events > 0
        )

    @property
    def lifts(self) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        """(experiment, arm, its conversion difference to control) of each arm compared."""
        return [
            (experiment, arm, arm["conversionDifference"])
            for experiment in self.experiments
            for arm in experiment["arms"]
            if arm["conversionDifference"] is not None
        ]

    @property
    def lift_found(self) -> bool:
        """Every experiment meant to find a lift found one: its interval lies above zero."""
        expected = [experiment for experiment in self.experiments if experiment["findsLift"]]
        found = [lift for experiment, _, lift in self.lifts if experiment["findsLift"]]
        return (
            bool(expected)
            and len(found) == len(expected)
            and all(lift["low"] > 0 for lift in found)
        )

    @property
    def passed(self) -> bool:
        return self.exactly_once and (self.lift_found or not self.lift_required)

    def workload(self, rate: float) -> Workload:
        """The measured workload, scaled to `rate` events/s, for the cost estimate."""
        accepted = max(self.accepted, 1)
        in_stream = accepted + self.decisions_made
        measured_profiles = {}
        if self.profiles and self.profiles.applied:
            measured_profiles = {
                "profile_ms_per_1000_events": 1000 * self.profiles.busy_ms / accepted,
                "store_commands_per_event": self.profiles.commands_per_event,
                "profile_bytes": self.profiles.mean_profile_bytes,
            }
        return Workload(
            **measured_profiles,
            events_per_second=rate,
            events_per_request=accepted / max(self.requests_ok, 1),
            events_per_record=in_stream / max(self.kinesis_records, 1),
            bytes_per_event=self.kinesis_bytes / in_stream,
            producer_ms_per_request=self.producer_ms_per_request,
            consumer_ms_per_1000_events=self.consumer_ms_per_1000_events,
            tumbling_window_seconds=self.tumbling_window_seconds,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "exactly_once": self.exactly_once,
            "lift_found": self.lift_found,
            "passed": self.passed,
        }


def render(figures: RunFigures, cost_rate: float) -> str:
    f = figures
    reached = f.sent / f.duration_seconds
    pace = f"{f.rate:,.0f} events/s"
    if reached < 0.95 * f.rate:  # the shoppers wait for their decisions, or the API for Kinesis
        pace += f" planned, {reached:,.0f} reached"
    lines = [
        f"Riptide local run {f.run_id}: {f.duration_seconds:.0f} s of traffic at {pace}, "
        f"seed {f.seed}, {f.shards} shards, tumbling window {f.tumbling_window_seconds} s",
        f"  run files (Lambda logs, report.json): {f.run_dir}",
        "",
        "Events, as the load generator counted them",
        f"  sent      {f.sent:>10,}  in {f.requests:,} HTTP requests ({f.retries:,} of them retries"
        f", {f.resent_events:,} events sent again)",
        f"  accepted  {f.accepted:>10,}  (distinct messageIds)",
        f"  rejected  {f.rejected:>10,}  ({f.bad_sent:,} broken on purpose; "
        f"{f.unexpected_rejections:,} good events rejected)",
        f"  HTTP statuses: {_statuses(f.statuses)}",
    ]
    if f.gave_up_events:
        lines.append(f"  gave up on {f.gave_up_events:,} events after repeated errors")
    if f.late_resent_events:
        lines.append(
            f"  resent on purpose {f.late_resent_events:,} events already accepted, seconds to "
            "minutes later"
        )
    if f.browser_visits:
        visits = sum(f.browser_visits.values())
        modes = ", ".join(f"{count:,} {mode}" for mode, count in sorted(f.browser_visits.items()))
        lines += [
            "",
            "Events from shop pages in Chromium (analytics-next, one visit at a time)",
            f"  visits    {visits:>10,}  ({modes}; {f.browser_failed_visits:,} failed)",
            f"  sent      {f.browser_sent:>10,}",
            f"  accepted  {f.browser_accepted:>10,}  (found in the stream; "
            f"{f.browser_missing:,} missing)",
        ]
    if f.decide_calls:
        lines += _decisions(f)
    units_single = max(f.accepted + f.decisions_made, 1)
    per_record = units_single / max(f.kinesis_records, 1)
    lines += [
        "",
        "Kinesis",
        f"  records            {f.kinesis_records:>10,}  ({per_record:,.1f} events per record, "
        f"{f.kinesis_bytes / 1e6:,.1f} MB)",
        f"  PUT payload units  {f.put_payload_units:>10,}  vs {units_single:,} with one record per "
        f"event ({units_single / max(f.put_payload_units, 1):,.1f}x fewer)",
        f"  events in the stream {f.stream_events:,} (de-aggregated with aws-kinesis-agg), "
        f"{f.stream_repeated_message_ids:,} of them with a messageId seen before, "
        f"{f.stream_unreadable_events:,} without a readable messageId",
        f"  duplicates dropped by the deduplication window {sum(f.duplicates_dropped.values()):,}"
        f" ({_statuses(f.duplicates_dropped)})",
        "",
        "Consumer (local event source mapping)",
        f"  invocations {f.invocations:,} ({f.final_invocations:,} final of a window); function "
        f"errors {f.function_errors:,}; partial failures {f.partial_failures:,}; bisections "
        f"{f.bisections:,}",
        f"  dropped to the on-failure queue: {f.batches_dropped:,} batches ({f.records_dropped:,} "
        f"records; {f.dead_letter_messages:,} messages queued); quarantine objects "
        f"{f.quarantine_objects:,}; outbox entries pending {f.outbox_pending:,}",
        "",
        f"Druid ({f.store})",
        f"  tasks accepted {f.druid_tasks:,} ({_statuses(f.task_states)}); rollup rows pushed "
        f"{f.rollup_rows_pushed:,}; resubmissions refused as already there "
        f"{f.duplicate_submissions:,}; reconciler runs {f.reconciler_runs:,} "
        f"({f.reconciler_failures:,} failed)",
        f"  rows stored {f.totals.rows:,}; SUM(events) {f.totals.events:,}; SUM(revenue) "
        f"{f.totals.revenue:,.2f}",
    ]
    if f.faults:
        lines += ["", "Faults injected"]
        lines += [f"  {fault}" for fault in f.faults]
        counts = f.fault_counts.items()
        lines.append("  " + "; ".join(f"{name} {count:,}" for name, count in counts))
    if f.profiles:
        lines += render_profiles(f.profiles)
    if f.experiments or f.experiments_problem:
        lines += ["", "Experiments (riptide experiment report on the run's datasource, all sites)"]
        lines += [
            f"  {line}".rstrip() for e in f.experiments for line in [*e["text"].splitlines(), ""]
        ]
        if f.experiments_problem:
            lines.append(f"  no reports: {f.experiments_problem}")
    lines += [
        "",
        "Revenue and unique users by site and minute",
        f"  ({f.site_minute_query})",
        _site_minute_table(f),
    ]
    workload = f.workload(cost_rate)
    request_sizes = sorted({*REQUEST_SIZES[:-1], round(workload.events_per_request, 1)})
    lines += ["", _check_line(f), "", cost_table(workload, request_sizes)]
    lines.append(
        "  (Lambda durations as measured here, every part sharing this machine"
        + (", and stretched by the injected faults" if f.faults else "")
        + "; the consumer's include its per-invoke overhead, which larger batches spread thinner)"
    )
    return "\n".join(lines)


def _check_line(f: RunFigures) -> str:
    verdict = "PASS" if f.exactly_once else "FAIL"
    accepted = f"{f.accepted + f.browser_accepted:,}"
    if f.browser_visits:
        accepted += f" = {f.accepted:,} + {f.browser_accepted:,} from browsers"
    decisions = f" + Decision Made events ({f.decisions_made:,})" if f.decide_calls else ""
    line = (
        f"CHECK: distinct events accepted ({accepted}){decisions} == SUM(events) in "
        f"{f.datasource} ({f.totals.events:,}): {verdict}"
    )
    if f.settle_problem:
        line += f"\n  not settled: {f.settle_problem}"
    elif f.browser_missing:
        line += f"\n  {f.browser_missing:,} events the browsers sent never reached the stream"
    elif not f.exactly_once:
        difference = f.totals.events - f.accepted_total
        what = "more in Druid than accepted" if difference > 0 else "accepted events missing"
        line += (
            f"\n  {abs(difference):,} {what}; the stream holds {f.stream_events:,} events "
            f"({f.stream_repeated_message_ids:,} repeated), {f.resent_events:,} events were sent "
            "again after error answers"
        )
    return line + "".join(f"\n{lift}" for lift in _lift_lines(f))


def _lift_lines(f: RunFigures) -> list[str]:
    """The experiment check, and the A/A experiment's interval beside it."""
    lines = []
    for experiment, arm, lift in f.lifts:
        name = f"{experiment['experiment']} ({arm['arm']} vs {experiment['control']})"
        measured = (
            f"conversion {_points(lift['estimate'])} pts, 95% interval "
            f"[{_points(lift['low'])}, {_points(lift['high'])}]"
        )
        if experiment["findsLift"]:
            verdict = "PASS" if lift["low"] > 0 else "FAIL"
            lines.append(f"CHECK: {name} lift {measured} above zero: {verdict}")
        elif lift["excludesZero"]:
            lines.append(
                f"A/A:   {name} difference {measured} excludes zero, as a 95% interval does in "
                "1 run of 20 (shown, not checked)"
            )
        else:
            lines.append(
                f"A/A:   {name} difference {measured} includes zero, as it should (shown, not "
                "checked)"
            )
    if f.lift_required and not f.lifts:
        reason = f.experiments_problem or "no arms to compare in the run's datasource"
        lines.append(f"CHECK: experiment lift: FAIL ({reason})")
    return lines


def _points(share: float) -> str:
    return f"{100 * share:+.2f}"


def _decisions(f: RunFigures) -> list[str]:
    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.1f} ms"

    returns = f.returns
    reminded, made = returns.get("reminded", 0), returns.get("made", 0)
    bought_reminded = _share(returns.get("bought_reminded", 0), reminded)
    bought_otherwise = _share(returns.get("bought_not_reminded", 0), made - reminded)
    lines = [
        "",
        f"Decisions (POST /v1/decide {f.decide_served_by}, asked as each visit starts)",
        f"  calls     {f.decide_calls:>10,}  ({_statuses(f.decide_statuses)}); answered in p50 "
        f"{ms(f.decide_p50_ms)}, p99 {ms(f.decide_p99_ms)} as the shoppers waited",
        f"  Decision Made events promised {f.decisions_made:,} (one per decisionId answered)",
    ]
    by_placement: dict[str, list[str]] = {}
    for key, count in sorted(f.shown.items(), key=lambda item: -item[1]):
        placement, _, content = key.partition(": ")
        by_placement.setdefault(placement, []).append(f"{content} {count:,}")
    lines += [f"  {placement}: {', '.join(shown)}" for placement, shown in by_placement.items()]
    if returns:
        lines.append(
            f"  return visits {made:,} of {returns.get('scheduled', 0):,} planned (later ones fall "
            f"after the run): shown complete-your-order {reminded:,}, bought {bought_reminded}; "
            f"not shown {made - reminded:,}, bought {bought_otherwise}"
        )
    if f.trends_runs:
        lines.append(f"  trends job runs {f.trends_runs:,} ({f.trends_failures:,} failed)")
    return lines


def _share(part: int, whole: int) -> str:
    return f"{part:,} ({part / whole:.1%})" if whole else f"{part:,}"


def _site_minute_table(f: RunFigures) -> str:
    if not f.by_site_minute:
        return "  (no rows)"
    rows = [("minute (UTC)", "site", "events", "revenue", "unique users")]
    rows += [
        (row.minute, row.site, f"{row.events:,}", f"{row.revenue:,.2f}", f"{row.users:,}")
        for row in f.by_site_minute[:MAX_TABLE_ROWS]
    ]
    table = render_table(rows)
    if len(f.by_site_minute) > MAX_TABLE_ROWS:
        table += f"\n... {len(f.by_site_minute) - MAX_TABLE_ROWS} more rows"
    return table


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {count:,}" for name, count in sorted(counts.items())) or "none"


def write_json(figures: RunFigures, path: Path) -> None:
    path.write_text(json.dumps(figures.to_json(), indent=2) + "\n")
