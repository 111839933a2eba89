"""The `riptide` command: run the pipeline locally, estimate its AWS cost, set up compaction.

riptide demo [--rate N] [--duration S] [--seed N] [--no-druid] [--inject-faults] [--browser] ...
riptide cost [--rate N] [--events-per-request N ...] [--events-per-record N] ...
riptide compaction [--druid-url URL] [--datasource NAME] ...
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from riptide.config import ConfigurationError
from riptide.druid import DruidAuth, DruidClient, DruidError
from riptide.druid.compaction import apply_compaction_config, build_compaction_config
from riptide.retry import Deadline
from tools.costs import REQUEST_SIZES, Workload, cost_table
from tools.local.druid_access import DruidAccounts
from tools.local.pipeline import RunOptions, run_pipeline
from tools.local.report import render, write_json
from tools.local.rollup_store import DruidUnreachableError

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
        browser=args.browser,
    )
    out = sys.stdout
    try:
        figures = run_pipeline(options, out)
    except (DruidUnreachableError, ConfigurationError) as error:
        print(f"riptide demo: {error}", file=sys.stderr)
        return EXIT_SETUP
    write_json(figures, Path(figures.run_dir) / "report.json")
    print(render(figures, args.cost_rate), file=out)
    return EXIT_PASS if figures.passed else EXIT_FAIL


def cost(args: argparse.Namespace) -> int:
    workload = Workload(
        events_per_second=args.rate,
        events_per_record=args.events_per_record,
        bytes_per_event=args.bytes_per_event,
        producer_ms_per_request=args.producer_ms,
        consumer_ms_per_1000_events=args.consumer_ms_per_1000,
    )
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
        "--duration", type=_positive(float), default=30, help="seconds of traffic (%(default)s)"
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
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.action(args)


if __name__ == "__main__":
    sys.exit(main())
