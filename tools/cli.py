"""The `riptide` command: run the pipeline locally, estimate its AWS cost, set up compaction.

riptide demo [--rate N] [--duration S] [--seed N] [--no-druid] [--inject-faults] [--browser] ...
riptide cost [--rate N] [--events-per-request N ...] [--events-per-record N] [--decisions N] ...
riptide compaction [--druid-url URL] [--datasource NAME] ...
riptide collector [--host H] [--port P] [--workers N] [--linger-ms MS]
riptide load [--url URL --write-key KEY | --workers N] [--duration S] [--connections N] ...
riptide experiment report --experiment X [--site S] [--since ISO] [--json] [--druid-url URL] ...
riptide rules check FILE... [--site SITE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from riptide.collector.server import ServerOptions, serve
from riptide.config import ConfigurationError
from riptide.contract import Env
from riptide.decisions.rules import RulesError, parse_rule_set
from riptide.defaults import DRUID_DATASOURCE
from riptide.druid import DruidAuth, DruidClient, DruidError
from riptide.druid.compaction import apply_compaction_config, build_compaction_config
from riptide.retry import Deadline
from tools.collector_costs import CollectorFleet, comparison_table
from tools.costs import REQUEST_SIZES, Workload, cost_table
from tools.experiment_report import ReportScope, experiment_report
from tools.local.collector_load import LOCAL_WRITE_KEY, run_local_load, run_remote_load
from tools.local.druid_access import DruidAccounts
from tools.local.http_load import HttpLoadPlan
from tools.local.pipeline import RunOptions, run_pipeline
from tools.local.report import RunFigures, render, write_json
from tools.local.rollup_store import DruidHttp, DruidUnreachableError

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_SETUP = 2
COMPACTION_DEADLINE_SECONDS = 60


def _positive[N: (int, float)](kind: type[N]) -> Callable[[str], N]:
    """An argparse type: a number above zero (argparse exits 2, as for any setup problem)."""

    def parse(text: str) -> N:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value

    return parse


def demo(args: argparse.Namespace) -> int:
    options = RunOptions(
        rate=args.rate,
        duration_seconds=args.duration,
        seed=args.seed,
        shards=args.shards,
        tumbling_window_seconds=args.window,
        use_druid=not args.no_druid,
        druid_url=args.druid_url,
        inject_faults=args.inject_faults,
        reconcile_every_seconds=args.reconcile_every,
        settle_timeout_seconds=args.settle_timeout,
        runs_dir=args.runs_dir,
        ingress=args.ingress,
        browser=args.browser,
        resend_share=args.resend_share,
        decisions=not args.no_decisions,
    )
    out = sys.stdout

    def report(figures: RunFigures) -> None:
        write_json(figures, Path(figures.run_dir) / "report.json")
        print(render(figures, args.cost_rate), file=out, flush=True)

    try:
        figures = run_pipeline(options, out, serve=report if args.serve else None)
    except (DruidUnreachableError, ConfigurationError) as error:
        print(f"riptide demo: {error}", file=sys.stderr)
        return EXIT_SETUP
    if not args.serve:
        report(figures)
    return EXIT_PASS if figures.passed else EXIT_FAIL


def cost(args: argparse.Namespace) -> int:
    workload = Workload(
        events_per_second=args.rate,
        events_per_record=args.events_per_record,
        bytes_per_event=args.bytes_per_event,
        producer_ms_per_request=args.producer_ms,
        consumer_ms_per_1000_events=args.consumer_ms_per_1000,
        decisions_per_second=args.decisions,
        placements_per_decision=args.placements_per_decision,
    )
    if args.ingress == "both":
        print(comparison_table(workload, CollectorFleet()))
    else:
        print(cost_table(workload, sorted(set(args.events_per_request))))
    return EXIT_PASS


def compaction(args: argparse.Namespace) -> int:
    accounts = DruidAccounts.from_env(args.druid_url)
    auth = DruidAuth(args.user, args.password or accounts.admin_password)
    client = DruidClient(accounts.url, auth)
    config = build_compaction_config(
        args.datasource, skip_offset=args.skip_offset, segment_granularity=args.segment_granularity
    )
    try:
        stored = apply_compaction_config(client, config, Deadline(COMPACTION_DEADLINE_SECONDS))
    except (DruidError, LookupError) as error:
        print(f"riptide compaction: {error}", file=sys.stderr)
        return EXIT_FAIL
    print(f"Auto-compaction of {args.datasource} on {accounts.url} is now:")
    print(json.dumps(stored, indent=2))
    return EXIT_PASS


def collector(args: argparse.Namespace) -> int:
    if args.linger_ms is not None:
        os.environ[Env.COLLECTOR_LINGER_MS] = str(args.linger_ms)
    options = ServerOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level=args.log_level,
    )
    try:
        serve(options)
    except ConfigurationError as error:
        print(f"riptide collector: {error}", file=sys.stderr)
        return EXIT_SETUP
    return EXIT_PASS


def load(args: argparse.Namespace) -> int:
    plan = HttpLoadPlan(
        write_key=args.write_key or LOCAL_WRITE_KEY,
        duration_seconds=args.duration,
        connections=args.connections,
        events_per_request=args.events_per_request,
        seed=args.seed,
    )
    if args.url:
        if not args.write_key:
            print("riptide load: --url needs --write-key", file=sys.stderr)
            return EXIT_SETUP
        report = run_remote_load(plan, args.url)
    else:
        report = run_local_load(
            plan,
            workers=args.workers,
            linger_ms=args.linger_ms,
            shards=args.shards,
            log_path=args.log,
        )
    print(report.render())
    if args.json:
        report.write_json(args.json)
    return EXIT_PASS if report.passed else EXIT_FAIL


def report_experiment(args: argparse.Namespace) -> int:
    accounts = DruidAccounts.from_env(args.druid_url)
    http = DruidHttp(accounts.url, args.user, args.password or accounts.admin_password)
    scope = ReportScope(
        experiment=args.experiment,
        datasource=args.datasource,
        site=args.site,
        since=args.since,
        control=args.control,
    )
    try:
        report = experiment_report(http, scope)
    except DruidUnreachableError as error:
        print(f"riptide experiment report: {error}", file=sys.stderr)
        return EXIT_SETUP
    if not report.arms:
        print(
            f"riptide experiment report: no rows of experiment {args.experiment!r} in "
            f"{args.datasource}",
            file=sys.stderr,
        )
        return EXIT_FAIL
    print(json.dumps(report.to_json(), indent=2) if args.json else report.render())
    return EXIT_PASS


def _moment(text: str) -> datetime:
    """An argparse type: an ISO-8601 time; without an offset, UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rules_check(args: argparse.Namespace) -> int:
    status = EXIT_PASS
    for path in args.files:
        try:
            rule_set = parse_rule_set(path.read_bytes(), args.site or path.stem)
        except OSError as error:
            print(f"{path}: cannot be read ({error.strerror})")
            status = EXIT_FAIL
        except RulesError as error:
            print(f"{path}: refused, {len(error.problems)} problem(s)")
            for problem in error.problems:
                print(f"  {problem}")
            status = EXIT_FAIL
        else:
            print(f"{path}: OK, version {rule_set.version} for site {rule_set.site}")
    return status


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="riptide", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)
    defaults = Workload()

    run = commands.add_parser(
        "demo",
        help="run the whole pipeline on this machine and check Druid holds every accepted event",
    )
    run.add_argument(
        "--rate",
        type=_positive(float),
        default=1000,
        help="events per second to send (%(default)s)",
    )
    run.add_argument(
        "--duration",
        type=_positive(float),
        default=90,
        help="seconds of traffic (%(default)s: long enough for shoppers to come back to their "
        "carts and the experiment to measure the reminder's lift)",
    )
    run.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the traffic generator (%(default)s)",
    )
    run.add_argument(
        "--shards", type=_positive(int), default=4, help="Kinesis shards (%(default)s)"
    )
    run.add_argument(
        "--window",
        type=int,
        default=None,
        help="consumer tumbling window in seconds (default: the stack's, 60)",
    )
    run.add_argument(
        "--no-druid",
        action="store_true",
        help="no Java needed: rollups go to an NDJSON file through a stand-in for Druid's task API",
    )
    run.add_argument(
        "--druid-url", default=None, help="Druid router (default: $RIPTIDE_DRUID_URL or :8888)"
    )
    run.add_argument(
        "--inject-faults",
        action="store_true",
        help="throttle Kinesis and take Druid down for a while during the run",
    )
    run.add_argument(
        "--browser",
        action="store_true",
        help="also send shoppers' visits from shop pages in Chromium through the analytics-next "
        "bundle, standard and batching mode in turn (needs scripts/chromium)",
    )
    run.add_argument(
        "--resend-share",
        type=float,
        default=0.0,
        help="share of requests answered 200 sent again seconds to minutes later, as SDKs "
        "resending from storage do; the check still counts each event once (%(default)s)",
    )
    run.add_argument(
        "--no-decisions",
        action="store_true",
        help="shoppers ask for no decisions (the traffic of earlier versions for a seed), no "
        "trends job, no experiment check",
    )
    run.add_argument(
        "--serve",
        action="store_true",
        help="after the report, keep the pipeline running until Ctrl-C, for your own events, "
        "decide calls and experiment reports (it prints where each answers)",
    )
    run.add_argument(
        "--reconcile-every",
        type=float,
        default=5,
        help="seconds between reconciler runs (%(default)s)",
    )
    run.add_argument(
        "--settle-timeout",
        type=float,
        default=300,
        help="most seconds to wait after the traffic for Druid to hold everything (%(default)s)",
    )
    run.add_argument(
        "--cost-rate",
        type=float,
        default=100_000,
        help="events/s for the cost estimate (%(default)s)",
    )
    run.add_argument(
        "--runs-dir",
        type=Path,
        default=Path(".riptide/runs"),
        help="where run files go (%(default)s)",
    )
    run.add_argument(
        "--ingress",
        choices=("lambda", "collector"),
        default="lambda",
        help="what takes the traffic: the producer behind the local HTTP API, or "
        "riptide collector (%(default)s)",
    )
    run.set_defaults(action=demo)

    estimate = commands.add_parser(
        "cost",
        help="monthly AWS cost at a given event rate, by events per request",
    )
    estimate.add_argument(
        "--rate", type=float, default=defaults.events_per_second, help="events/s (%(default)s)"
    )
    estimate.add_argument(
        "--events-per-record",
        type=float,
        default=defaults.events_per_record,
        help="events in one Kinesis record when aggregated (%(default)s)",
    )
    estimate.add_argument(
        "--bytes-per-event",
        type=float,
        default=defaults.bytes_per_event,
        help="bytes one enriched event takes in the stream (%(default)s)",
    )
    estimate.add_argument(
        "--events-per-request",
        type=_positive(float),
        nargs="+",
        default=list(REQUEST_SIZES),
        help="events in one HTTP request, one column each (%(default)s)",
    )
    estimate.add_argument(
        "--producer-ms",
        type=float,
        default=defaults.producer_ms_per_request,
        help="producer Lambda duration per request (%(default)s)",
    )
    estimate.add_argument(
        "--consumer-ms-per-1000",
        type=float,
        default=defaults.consumer_ms_per_1000_events,
        help="consumer Lambda duration per 1,000 events (%(default)s)",
    )
    estimate.add_argument(
        "--decisions",
        type=float,
        default=defaults.decisions_per_second,
        help="calls to POST /v1/decide per second, on top of the events (%(default)s)",
    )
    estimate.add_argument(
        "--placements-per-decision",
        type=_positive(float),
        default=defaults.placements_per_decision,
        help="placements (Decision Made events) per decide call (%(default)s)",
    )
    estimate.add_argument(
        "--ingress",
        choices=("lambda", "both"),
        default="lambda",
        help="lambda: with and without aggregation; both: API Gateway + Lambda against the "
        "collector for 1, 3, 10 and 100 events per request (%(default)s)",
    )
    estimate.set_defaults(action=cost)

    compact = commands.add_parser(
        "compaction",
        help="turn on Druid auto-compaction for a datasource",
    )
    compact.add_argument(
        "--druid-url", default=None, help="Druid router (default: $RIPTIDE_DRUID_URL or :8888)"
    )
    compact.add_argument("--datasource", default="events_1m", help="(%(default)s)")
    compact.add_argument(
        "--skip-offset", default="PT1H", help="leave the newest data this long (%(default)s)"
    )
    compact.add_argument(
        "--segment-granularity", default="DAY", help="segment size after compaction (%(default)s)"
    )
    compact.add_argument(
        "--user", default="admin", help="a Druid user allowed to change config (%(default)s)"
    )
    compact.add_argument(
        "--password", default=None, help="its password (default: $RIPTIDE_DRUID_ADMIN_PASSWORD)"
    )
    compact.set_defaults(action=compaction)

    serve_parser = commands.add_parser(
        "collector",
        help="serve the Tracking API, committing the events of concurrent requests together",
        description="Reads the producer's environment (STREAM_NAME, WRITE_KEYS_SECRET_ARN, ...; "
        "AWS_ENDPOINT_URL for a local AWS) and the collector's (COLLECTOR_LINGER_MS, "
        "COLLECTOR_MAX_WAITING_BYTES, COLLECTOR_PUBLISH_BUDGET_SECONDS).",
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="(%(default)s)")
    serve_parser.add_argument("--port", type=int, default=8080, help="(%(default)s)")
    serve_parser.add_argument(
        "--workers",
        type=_positive(int),
        default=os.cpu_count() or 1,
        help="worker processes (%(default)s: one per CPU)",
    )
    serve_parser.add_argument(
        "--linger-ms",
        type=int,
        default=None,
        help="most ms the first event of a flush waits for others (default: "
        "$COLLECTOR_LINGER_MS or 15)",
    )
    serve_parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="peers trusted to name the client in X-Forwarded-For (%(default)s)",
    )
    serve_parser.add_argument("--log-level", default="warning", help="(%(default)s)")
    serve_parser.set_defaults(action=collector)

    drive = commands.add_parser(
        "load",
        help="browser-like load on a collector: requests/s per core, latency, events per record",
        description="Without --url: starts moto and a collector on the first CPU, loads it from "
        "the others, then checks the stream holds every event answered 200 exactly once.",
    )
    drive.add_argument("--url", default=None, help="a running collector (default: start one)")
    drive.add_argument("--write-key", default=None, help="a write key it knows (with --url)")
    drive.add_argument(
        "--duration", type=_positive(float), default=10, help="seconds (%(default)s)"
    )
    drive.add_argument(
        "--connections", type=_positive(int), default=64, help="concurrent (%(default)s)"
    )
    drive.add_argument("--events-per-request", type=_positive(int), default=1, help="(%(default)s)")
    drive.add_argument("--seed", type=int, default=0, help="(%(default)s)")
    drive.add_argument(
        "--workers", type=_positive(int), default=1, help="local collector (%(default)s)"
    )
    drive.add_argument("--linger-ms", type=int, default=15, help="local collector (%(default)s)")
    drive.add_argument(
        "--shards", type=_positive(int), default=4, help="local stream (%(default)s)"
    )
    drive.add_argument("--log", type=Path, default=None, help="local collector's log file")
    drive.add_argument("--json", type=Path, default=None, help="also write the report here")
    drive.set_defaults(action=load)

    experiment = commands.add_parser("experiment", help="what an experiment's arms did")
    experiment_commands = experiment.add_subparsers(dest="experiment_command", required=True)
    report = experiment_commands.add_parser(
        "report",
        help="per arm: exposures, unique users, orders, conversion, revenue per user, and the "
        "difference to control with a 95%% confidence interval (one Druid SQL query)",
    )
    report.add_argument("--experiment", required=True, help="the experiment's id")
    report.add_argument("--site", default=None, help="only this site's rows (default: all)")
    report.add_argument(
        "--since", type=_moment, default=None, help="only rows from this ISO-8601 time on"
    )
    report.add_argument(
        "--control", default="control", help="the arm the others are compared with (%(default)s)"
    )
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.add_argument(
        "--druid-url", default=None, help="Druid router (default: $RIPTIDE_DRUID_URL or :8888)"
    )
    report.add_argument("--datasource", default=DRUID_DATASOURCE, help="(%(default)s)")
    report.add_argument(
        "--user", default="admin", help="a Druid user allowed to read it (%(default)s)"
    )
    report.add_argument(
        "--password", default=None, help="its password (default: $RIPTIDE_DRUID_ADMIN_PASSWORD)"
    )
    report.set_defaults(action=report_experiment)

    rules = commands.add_parser("rules", help="site rules files of the decide API")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser(
        "check",
        help="check rules files as the decider does: OK with the version, or every problem "
        "with its JSON path (exit status 1 when any file is refused)",
    )
    check.add_argument("files", type=Path, nargs="+", metavar="FILE")
    check.add_argument(
        "--site", default=None, help="the site the files are for (default: each file's stem)"
    )
    check.set_defaults(action=rules_check)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.action(args)


if __name__ == "__main__":
    sys.exit(main())
