"""The end-of-run report: what went in, what the stream and Druid hold, and the check that counts.

The check compares two numbers that come from opposite ends and share no code: the events the
load generator saw accepted (from the API's answers) and SUM(events) in the run's own
datasource, read back with SQL. PASS only when they are equal.
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
    gave_up_events: int
    statuses: dict[str, int]
    kinesis_records: int
    stream_events: int
    stream_repeated_message_ids: int
    stream_unreadable_events: int
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

    @property
    def accepted_total(self) -> int:
        """Events accepted from both the load generator and the browsers."""
        return self.accepted + self.browser_accepted

    @property
    def passed(self) -> bool:
        return (
            self.settle_problem is None
            and self.browser_missing == 0
            and self.accepted_total == self.totals.events > 0
        )

    def workload(self, rate: float) -> Workload:
        """The measured workload, scaled to `rate` events/s, for the cost estimate."""
        accepted = max(self.accepted, 1)
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
            events_per_record=accepted / max(self.kinesis_records, 1),
            bytes_per_event=self.kinesis_bytes / accepted,
            producer_ms_per_request=self.producer_ms_per_request,
            consumer_ms_per_1000_events=self.consumer_ms_per_1000_events,
            tumbling_window_seconds=self.tumbling_window_seconds,
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def render(figures: RunFigures, cost_rate: float) -> str:
    f = figures
    lines = [
        f"Riptide local run {f.run_id}: {f.duration_seconds:.0f} s of traffic at {f.rate:,.0f} "
        f"events/s, seed {f.seed}, {f.shards} shards, "
        f"tumbling window {f.tumbling_window_seconds} s",
        f"  run files (Lambda logs, report.json): {f.run_dir}",
        "",
        "Events, as the load generator counted them",
        f"  sent      {f.sent:>10,}  in {f.requests:,} HTTP requests ({f.retries:,} of them retries"
        f", {f.resent_events:,} events sent again)",
        f"  accepted  {f.accepted:>10,}",
        f"  rejected  {f.rejected:>10,}  ({f.bad_sent:,} broken on purpose; "
        f"{f.unexpected_rejections:,} good events rejected)",
        f"  HTTP statuses: {_statuses(f.statuses)}",
    ]
    if f.gave_up_events:
        lines.append(f"  gave up on {f.gave_up_events:,} events after repeated errors")
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
    units_single = max(f.accepted, 1)
    per_record = f.accepted / max(f.kinesis_records, 1)
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
    verdict = "PASS" if f.passed else "FAIL"
    accepted = f"{f.accepted_total:,}"
    if f.browser_visits:
        accepted += f" = {f.accepted:,} + {f.browser_accepted:,} from browsers"
    line = (
        f"CHECK: events accepted ({accepted}) == SUM(events) in {f.datasource} "
        f"({f.totals.events:,}): {verdict}"
    )
    if f.settle_problem:
        line += f"\n  not settled: {f.settle_problem}"
    elif f.browser_missing:
        line += f"\n  {f.browser_missing:,} events the browsers sent never reached the stream"
    elif not f.passed:
        difference = f.totals.events - f.accepted_total
        what = "more in Druid than accepted" if difference > 0 else "accepted events missing"
        line += (
            f"\n  {abs(difference):,} {what}; the stream holds {f.stream_events:,} events "
            f"({f.stream_repeated_message_ids:,} repeated), {f.resent_events:,} events were sent "
            "again after error answers"
        )
    return line


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
