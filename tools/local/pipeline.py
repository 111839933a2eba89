"""One run of the whole pipeline on this machine, from HTTP traffic to rows in Druid.

Everything the stack deploys has a local counterpart here: moto for Kinesis, Secrets Manager,
S3 and SQS; `LocalHttpApi` for API Gateway in front of the producer (or, with the collector
ingress, `riptide collector` in its own process) and in front of the context Lambda's decide
route; `EventSourceMapping` for the consumers' Kinesis triggers; `Schedule` for the reconciler's
and the trends job's EventBridge rules; a directory for the decisions bucket. The handlers are
the real ones, configured through the same environment variables the stack sets. Druid is the
real one (or the NDJSON stand-in), reached through `DruidProxy`, which counts the tasks.

The handlers log to the run's lambda.log; this module's own output is the progress line and the
report.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from infra.environment import (
    collector_environment,
    decider_environment,
    producer_environment,
    profiles_environment,
    rollup_environment,
    trends_environment,
)
from infra.settings import Settings
from riptide.contract import CONSUMER, PRODUCER, PROFILES, RECONCILER, TRENDS, Env, MetricName
from riptide.decisions.rulebook import DEFAULT_MAX_AGE_SECONDS
from tools.lambda_kit.context import FunctionSpec
from tools.local import aws, decisions_run, profiles
from tools.local.browser_load import BrowserCounts, BrowserShoppers
from tools.local.collector import LocalCollector
from tools.local.cors import CorsPolicy
from tools.local.decide_client import DecideCounts, HttpDecisionClient
from tools.local.druid_access import (
    RUN_DATASOURCE_PREFIX,
    DruidAccounts,
    check_ready,
    set_up_run_user,
)
from tools.local.druid_proxy import DruidProxy
from tools.local.event_source import EventSourceMapping, StreamTarget, mapping_settings
from tools.local.faults import FaultInjection, FaultPlan
from tools.local.gateway import LocalHttpApi
from tools.local.lambda_log import lambda_log, metric_by_dimension
from tools.local.loadgen import LoadGenerator, LoadPlan
from tools.local.moto_process import MotoProcess
from tools.local.ndjson_druid import NdjsonDruid
from tools.local.progress import Progress, Snapshot
from tools.local.report import RunFigures
from tools.local.rollup_store import (
    DruidHttp,
    DruidRollupStore,
    DruidUnreachableError,
    NdjsonRollupStore,
    RollupStore,
)
from tools.local.schedule import Schedule
from tools.traffic import SITES

"""(handler, Powertools service name) of each function, as the stack configures them."""

SETTLE_CHECK_SECONDS = 1.0
IDLE_CHECKS_NEEDED = 3
"""The stream counts as drained after this many consecutive idle checks, a second apart."""


@dataclass(frozen=True)
class RunOptions:
    rate: float = 1000
    duration_seconds: float = 90
    seed: int = 0
    shards: int = 4
    tumbling_window_seconds: int | None = None
    use_druid: bool = True
    druid_url: str | None = None
    inject_faults: bool = False
    reconcile_every_seconds: float = 5
    settle_timeout_seconds: float = 300
    runs_dir: Path = Path(".riptide/runs")
    ingress: str = "lambda"
    """`lambda`: the local HTTP API in front of the producer; `collector`: riptide collector."""
    browser: bool = False
    """Also send shoppers' sessions from Chromium through the analytics-next bundle."""
    resend_share: float = 0.0
    """Share of the requests answered 200 the load generator sends again, seconds to minutes
    later (duplicates the deduplication window must drop)."""
    decisions: bool = True
    """Shoppers ask for decisions and react to them; the run looks for the experiment's lift."""


def run_pipeline(
    options: RunOptions, out: TextIO, serve: Callable[[RunFigures], None] | None = None
) -> RunFigures:
    """Start everything, send the traffic, wait for Druid to hold it, and gather the figures.

    With `serve`, it is called with the figures while every part still runs, then the parts
    keep serving until the process is interrupted: for a user's own events, decide calls and
    experiment reports against the run.
    """
    with contextlib.ExitStack() as stack:
        run = _start(options, stack)
        if run.faults:
            for line in run.plan.describe():
                print(f"fault plan: {line}", file=out)
        with Progress(run.snapshot, out):
            run.load.start()
            if run.browser:
                run.browser.start()
            if run.faults:
                run.faults.start(run.plan)
            run.load.wait()
            if run.browser:
                run.browser.wait()
            run.phase = "draining"
            settle_problem = _wait_until_settled(options.settle_timeout_seconds, run.unsettled)
        figures = run.figures(options, settle_problem)
        if serve is not None:
            serve(figures)
            _serve_until_interrupted(run, out)
        return figures


def _serve_until_interrupted(run: Run, out: TextIO) -> None:
    """Say where everything answers, then wait for Ctrl-C or SIGTERM (either one, even in a
    background job, which starts with SIGINT ignored), and let the run stop every part."""
    site = SITES[0]
    lines = [
        "Serving until Ctrl-C. Send your own traffic, e.g. for " + site.name + ":",
        f"  events:   curl -u {site.write_key}: -H 'Content-Type: application/json' "
        f'{run.ingest_url}/v1/track -d \'{{"anonymousId": "a1", "event": '
        '"Order Completed", "properties": {"total": 20}}\'',
    ]
    if run.decide_url:
        bearer = f"curl -H 'Authorization: Bearer {site.read_key}'"
        lines.append(
            f"  decide:   {bearer} {run.decide_url}/v1/decide "
            '-d \'{"anonymousId": "a1", "placements": ["home-hero"]}\''
        )
        if run.collector is None:
            lines.append(f"  profile:  {bearer} {run.decide_url}/v1/profiles/a1")
        lines += [
            "  report:   scripts/riptide experiment report --experiment cart-banner "
            f"--datasource {run.datasource}",
            f"  rules:    {run.run_dir.resolve()}/decisions/rules/ (edits are read within "
            f"{DEFAULT_MAX_AGE_SECONDS:.0f} s)",
        ]
    print("\n".join(lines), file=out, flush=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


@dataclass
class Run:
    """The started parts of one run, and what the progress line and the report read from them."""

    run_id: str
    run_dir: Path
    datasource: str
    settings: Settings
    store: RollupStore
    druid: DruidProxy
    moto: aws.MotoServer
    resources: aws.LocalResources
    api: LocalHttpApi | None
    collector: LocalCollector | None
    mapping: EventSourceMapping
    reconciler: Schedule
    load: LoadGenerator
    faults: FaultInjection | None
    plan: FaultPlan
    profile_mapping: EventSourceMapping
    profile_run: profiles.ProfileRun
    browser: BrowserShoppers | None = None
    decide_served_by: str = ""
    ingest_url: str = ""
    decide_url: str | None = None
    """The context API's (which also serves profile reads) or the collector's."""
    trends: Schedule | None = None
    druid_admin: DruidHttp | None = None
    phase: str = "sending"
    started: float = field(default_factory=time.monotonic)

    def snapshot(self) -> Snapshot:
        counts, stats = self.load.counts, self.mapping.stats
        browser = self.browser.counts if self.browser else BrowserCounts()
        return Snapshot(
            elapsed=time.monotonic() - self.started,
            sent=counts.sent + browser.sent,
            accepted=counts.accepted + browser.in_stream,
            rejected=counts.rejected,
            kinesis_records=stats.records_read,
            rollup_rows=self.druid.rows_submitted,
            druid_tasks=len(self.druid.task_ids),
            backlog=stats.backlog,
            phase=self.phase,
            decisions=self.load.decisions.counts.decisions if self.load.decisions else 0,
        )

    def unsettled(self) -> str | None:
        """What the run still waits for, or None once Druid holds everything it will get."""
        if self.faults and not self.faults.finished:
            return "faults still scheduled"
        if not self.mapping.idle:
            backlog = self.mapping.stats.backlog
            return f"the consumer still has {backlog:,} records or an open window"
        if not self.profile_mapping.idle:
            return f"the profile consumer still has {self.profile_mapping.stats.backlog:,} records"
        pending = self._objects(self.resources.outbox_bucket, "pending/")
        if pending:
            self.phase = "delivering"
            return f"{pending} outbox entries not yet confirmed by Druid"
        self.phase = "loading"
        return self.store.pending_tasks(list(self.druid.task_ids))

    def figures(self, options: RunOptions, settle_problem: str | None) -> RunFigures:
        counts, stats, druid = self.load.counts, self.mapping.stats, self.druid
        browser = self.browser.counts if self.browser else BrowserCounts()
        first = (counts.first_sent_at or datetime.now(UTC)).replace(second=0, microsecond=0)
        end = (counts.last_sent_at or datetime.now(UTC)) + timedelta(minutes=2)
        decisions = self.load.decisions.counts if self.load.decisions else DecideCounts()
        return RunFigures(
            run_id=self.run_id,
            rate=options.rate,
            duration_seconds=options.duration_seconds,
            seed=options.seed,
            shards=options.shards,
            tumbling_window_seconds=self.settings.tumbling_window_seconds,
            store=self.store.description,
            datasource=self.datasource,
            run_dir=str(self.run_dir),
            sent=counts.sent,
            accepted=counts.accepted,
            rejected=counts.rejected,
            bad_sent=counts.bad_sent,
            unexpected_rejections=counts.unexpected_rejections,
            requests=counts.requests,
            requests_ok=counts.statuses[200],
            browser_visits=dict(browser.visits),
            browser_sent=browser.sent,
            browser_accepted=browser.in_stream,
            browser_missing=browser.missing,
            browser_failed_visits=browser.failed_visits,
            retries=counts.retries,
            resent_events=counts.resent_events,
            late_resent_events=counts.late_resent_events,
            gave_up_events=counts.gave_up_events,
            statuses={str(status): n for status, n in sorted(counts.statuses.items())},
            kinesis_records=stats.records_read,
            stream_events=self.mapping.audit.events,
            stream_repeated_message_ids=self.mapping.audit.repeated_message_ids,
            duplicates_dropped={
                site: int(count)
                for site, count in metric_by_dimension(
                    self.run_dir / "lambda.log", MetricName.DUPLICATES_DROPPED, "site"
                ).items()
            },
            stream_unreadable_events=self.mapping.audit.unreadable,
            kinesis_bytes=stats.bytes_read,
            put_payload_units=stats.put_payload_units,
            invocations=stats.invocations,
            final_invocations=stats.final_invocations,
            function_errors=stats.function_errors,
            partial_failures=stats.partial_failures,
            bisections=stats.bisections,
            batches_dropped=stats.batches_dropped,
            records_dropped=stats.records_dropped,
            dead_letter_messages=self._dead_letters(),
            quarantine_objects=self._objects(self.resources.quarantine_bucket, ""),
            outbox_pending=self._objects(self.resources.outbox_bucket, "pending/"),
            druid_tasks=len(druid.task_ids),
            task_states=self.store.task_states(druid.task_ids),
            rollup_rows_pushed=druid.rows_submitted,
            duplicate_submissions=druid.duplicate_submissions,
            reconciler_runs=self.reconciler.invocations,
            reconciler_failures=self.reconciler.failures,
            producer_ms_per_request=self._ms_per_request(counts.requests),
            consumer_ms_per_1000_events=1000 * stats.busy_ms / max(counts.accepted, 1),
            totals=self.store.totals(),
            by_site_minute=self.store.by_site_minute(first, end),
            site_minute_query=self.store.site_minute_query(first, end),
            settle_problem=settle_problem,
            faults=self.plan.describe() if self.faults else [],
            fault_counts=self.faults.counts() if self.faults else {},
            profiles=self.profile_run.figures(
                [site.name for site in SITES], self.profile_mapping.stats.busy_ms
            ),
            decide_served_by=self.decide_served_by,
            decide_calls=decisions.calls,
            decide_statuses={str(status): n for status, n in sorted(decisions.statuses.items())},
            decide_p50_ms=decisions.percentile_ms(0.5),
            decide_p99_ms=decisions.percentile_ms(0.99),
            decisions_made=decisions.decisions,
            shown=dict(sorted(decisions.shown.items())),
            returns=asdict(self.load.returns) if self.load.decisions else {},
            trends_runs=self.trends.invocations if self.trends else 0,
            trends_failures=self.trends.failures if self.trends else 0,
            lift_required=self.druid_admin is not None and self.load.decisions is not None,
            **self._experiments(settle_problem),
        )

    def _experiments(self, settle_problem: str | None) -> dict[str, Any]:
        """The experiments' reports, once Druid holds everything (it answers SQL)."""
        if self.druid_admin is None or self.load.decisions is None:
            return {}
        if settle_problem is not None:
            return {"experiments_problem": "the run did not settle"}
        try:
            reports = decisions_run.experiment_reports(self.druid_admin, self.datasource)
        except DruidUnreachableError as error:
            return {"experiments_problem": str(error)}
        return {"experiments": reports}

    def _ms_per_request(self, requests: int) -> float:
        """Producer Lambda duration, or the collector's CPU time, per request."""
        if self.collector is not None:
            return 1000 * self.collector.cpu_seconds() / max(requests, 1)
        assert self.api is not None
        return 1000 * self.api.busy_seconds / max(self.api.invocations, 1)

    def _objects(self, bucket: str, prefix: str) -> int:
        pages = self.moto.client("s3").get_paginator("list_objects_v2")
        return sum(page.get("KeyCount", 0) for page in pages.paginate(Bucket=bucket, Prefix=prefix))

    def _dead_letters(self) -> int:
        attributes = self.moto.client("sqs").get_queue_attributes(
            QueueUrl=self.resources.dead_letter_queue_url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _start(options: RunOptions, stack: contextlib.ExitStack) -> Run:
    """Start every part in dependency order; `stack` stops them in reverse."""
    run_id = datetime.now(UTC).strftime("%Y%m%dt%H%M%S") + f"_s{options.seed}"
    run_dir = options.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    datasource = f"{RUN_DATASOURCE_PREFIX}{run_id}"
    accounts = DruidAccounts.from_env(options.druid_url)
    druid_url, store, druid_credentials = _rollup_target(
        options, stack, accounts, run_dir, datasource
    )
    druid = stack.enter_context(DruidProxy(druid_url))
    moto = stack.enter_context(MotoProcess())
    resources = aws.provision(
        moto,
        shards=options.shards,
        write_keys={site.write_key: site.name for site in SITES},
        druid_credentials=druid_credentials,
        read_keys={site.read_key: site.name for site in SITES},
    )
    faults = (
        stack.enter_context(FaultInjection(moto.endpoint_url, druid, seed=options.seed))
        if options.inject_faults
        else None
    )
    settings = _settings(options, druid.url, datasource)
    profile_store_url = profiles.store_url()
    profiles.clear_sites(profile_store_url, [site.name for site in SITES])
    decisions_url = decisions_run.copy_demo_rules(run_dir)
    stack.enter_context(
        _environment(
            aws.process_environment(moto, faults.kinesis.url if faults else None)
            | producer_environment(
                settings,
                stream_name=resources.stream_name,
                write_keys_secret_arn=resources.write_keys_secret_arn,
            )
            | rollup_environment(
                settings,
                druid_secret_arn=resources.druid_secret_arn,
                quarantine_bucket=resources.quarantine_bucket,
                outbox_bucket=resources.outbox_bucket,
            )
            | _decisions_environment(settings, resources, profile_store_url, decisions_url)
            | trends_environment(
                settings,
                decisions_url=decisions_url,
                druid_secret_arn=resources.druid_secret_arn,
            )
        )
    )
    stack.enter_context(lambda_log(run_dir / "lambda.log"))
    functions = _functions(settings)
    consumer = _load_handler(*CONSUMER)
    api, collector = _ingress(options, stack, settings, moto, resources, faults, run_dir)
    url = collector.url if collector else api.url  # type: ignore[union-attr]
    decide_url, decide_served_by = None, ""
    if options.decisions and collector is not None:
        decide_url, decide_served_by = collector.url, "on the collector"
    elif options.decisions:
        context = decisions_run.context_api(settings, run_dir, stack)
        decide_url = context.url
        decide_served_by = (
            f"on the context Lambda, {decisions_run.CONTEXT_ENVIRONMENTS} execution environments"
        )
    target = StreamTarget(
        stream_name=resources.stream_name,
        stream_arn=resources.stream_arn,
        region=aws.REGION,
        function=functions["consumer"],
        handler=faults.consumer.around(consumer) if faults else consumer,
        dead_letter_queue_url=resources.dead_letter_queue_url,
    )
    mapping = stack.enter_context(
        EventSourceMapping(
            target,
            mapping_settings(settings),
            moto.client("kinesis"),
            moto.client("sqs"),
        )
    )
    profile_handler = _load_handler(*PROFILES)
    profile_consumer = importlib.import_module("profiles.handler").profile_consumer()
    profile_mapping = stack.enter_context(
        EventSourceMapping(
            StreamTarget(
                stream_name=resources.stream_name,
                stream_arn=resources.stream_arn,
                region=aws.REGION,
                function=profiles.function_spec(settings, aws.REGION),
                handler=profile_handler,
                dead_letter_queue_url=resources.dead_letter_queue_url,
            ),
            profiles.mapping_settings(settings),
            moto.client("kinesis"),
            moto.client("sqs"),
        )
    )
    reconcile = _load_handler(*RECONCILER)
    reconciler = stack.enter_context(
        Schedule(reconcile, functions["reconciler"], options.reconcile_every_seconds)
    )
    trends = None
    if options.decisions and options.use_druid:  # the job asks Druid SQL
        trends = stack.enter_context(
            Schedule(
                _load_handler(*TRENDS),
                decisions_run.trends_function(settings),
                decisions_run.TRENDS_EVERY_SECONDS,
            )
        )
    return Run(
        run_id=run_id,
        run_dir=run_dir,
        datasource=datasource,
        settings=settings,
        store=store,
        druid=druid,
        moto=moto,
        resources=resources,
        api=api,
        collector=collector,
        mapping=mapping,
        reconciler=reconciler,
        load=LoadGenerator(
            url,
            LoadPlan(
                options.rate,
                options.duration_seconds,
                seed=options.seed,
                resend_share=options.resend_share,
            ),
            decisions=HttpDecisionClient(decide_url) if decide_url else None,
        ),
        faults=faults,
        plan=FaultPlan.for_run(options.duration_seconds, settings.tumbling_window_seconds),
        profile_mapping=profile_mapping,
        profile_run=profiles.ProfileRun(profile_consumer),
        browser=(
            BrowserShoppers(url, options.duration_seconds, options.seed, mapping.audit.holds)
            if options.browser
            else None
        ),
        decide_served_by=decide_served_by,
        ingest_url=url,
        decide_url=decide_url,
        trends=trends,
        druid_admin=accounts.admin() if options.use_druid else None,
    )


def _ingress(
    options: RunOptions,
    stack: contextlib.ExitStack,
    settings: Settings,
    moto: aws.MotoServer,
    resources: aws.LocalResources,
    faults: FaultInjection | None,
    run_dir: Path,
) -> tuple[LocalHttpApi | None, LocalCollector | None]:
    """The local HTTP API in front of the producer, or the collector with the stack's variables
    (it inherits the run's too: with the decider's among them, it serves decisions as well)."""
    if options.ingress == "collector":
        environment = aws.process_environment(
            moto, faults.kinesis.url if faults else None
        ) | collector_environment(
            settings,
            stream_name=resources.stream_name,
            write_keys_secret_arn=resources.write_keys_secret_arn,
        )
        collector = LocalCollector(environment, workers=1, log_path=run_dir / "collector.log")
        return None, stack.enter_context(collector)
    api = LocalHttpApi(
        _load_handler(*PRODUCER),
        _functions(settings)["producer"],
        cors=CorsPolicy.for_origins(settings.cors_allow_origins),
    )
    return stack.enter_context(api), None


def _decisions_environment(
    settings: Settings, resources: aws.LocalResources, store_url: str, decisions_url: str
) -> dict[str, str]:
    """The profile consumer's and the context Lambda's variables, the decide route's included
    (DECISIONS_URL among them, which the rollup consumer reads too)."""
    return profiles_environment(
        settings,
        store_url=store_url,
        store_cluster=False,
        read_keys_secret_arn=resources.read_keys_secret_arn,
    ) | decider_environment(
        settings, decisions_url=decisions_url, stream_name=resources.stream_name
    )


def _rollup_target(
    options: RunOptions,
    stack: contextlib.ExitStack,
    accounts: DruidAccounts,
    run_dir: Path,
    datasource: str,
) -> tuple[str, RollupStore, dict[str, str]]:
    """Where rollups go (the real Druid, or the NDJSON stand-in), how to read them back, and
    the Druid secret the consumer uses there."""
    if options.use_druid:
        admin = accounts.admin()
        check_ready(admin)
        set_up_run_user(admin, accounts)
        return accounts.url, DruidRollupStore(admin, datasource), accounts.run_secret()
    rows_path = run_dir / "rollups.ndjson"
    ndjson = stack.enter_context(
        NdjsonDruid(rows_path, accounts.pipeline_user, accounts.pipeline_password)
    )
    return ndjson.url, NdjsonRollupStore(rows_path, datasource), accounts.pipeline_secret()


def _settings(options: RunOptions, druid_url: str, datasource: str) -> Settings:
    """The stack's settings (defaults included), with this run's Druid, datasource and sizes."""
    context: dict[str, Any] = {
        "druidUrl": druid_url,
        "druidDatasource": datasource,
        "shardCount": options.shards,
    }
    if options.tumbling_window_seconds is not None:
        context["tumblingWindowSeconds"] = options.tumbling_window_seconds
    return Settings.from_context(context)


def _functions(settings: Settings) -> dict[str, FunctionSpec]:
    return {
        "producer": FunctionSpec(
            PRODUCER.service,
            aws.REGION,
            settings.producer_timeout_seconds,
            settings.producer_memory_mb,
        ),
        "consumer": FunctionSpec(
            CONSUMER.service,
            aws.REGION,
            settings.consumer_timeout_seconds,
            settings.consumer_memory_mb,
        ),
        "reconciler": FunctionSpec(
            RECONCILER.service,
            aws.REGION,
            settings.reconciler_timeout_seconds,
            settings.reconciler_memory_mb,
        ),
    }


def _load_handler(handler: str, service: str) -> Callable[..., Any]:
    """Import a handler as its function would, with its own Powertools service name."""
    module_name, attribute = handler.rsplit(".", 1)
    os.environ[Env.POWERTOOLS_SERVICE_NAME] = service
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise SystemExit(f"{module_name} has no `{attribute}`; the stack calls {handler}") from None


@contextlib.contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """Set the variables for the run and put the previous values back afterwards."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _wait_until_settled(timeout: float, unsettled: Callable[[], str | None]) -> str | None:
    """Poll until nothing is pending for a few checks in a row; the last reason on timeout."""
    deadline = time.monotonic() + timeout
    calm = 0
    reason: str | None = "not checked yet"
    while time.monotonic() < deadline:
        reason = unsettled()
        calm = calm + 1 if reason is None else 0
        if calm >= IDLE_CHECKS_NEEDED:
            return None
        time.sleep(SETTLE_CHECK_SECONDS)
    return f"gave up after {timeout:.0f} s: {reason}"
