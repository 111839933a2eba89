"""The decision engine in a local run: the demo rules, the decide API, the trends job, and what
the run's experiments found.

The rules are the repository's demo rules (tools/local/decisions/rules/<site>.json), copied into
the run's own DECISIONS_URL directory, where the trends job writes its documents beside them.
With the Lambda ingress the decide API is the context Lambda behind a local HTTP API of its own,
in several execution environments (each decide call waits for Kinesis); with the collector
ingress it is the collector's own route. The experiments' reports are `riptide experiment
report`'s, read from the run's datasource once Druid holds everything.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.settings import Settings
from riptide.contract import CONTEXT, TRENDS
from riptide.decisions.documents import RULES_PREFIX
from tools.experiment_report import ReportScope, experiment_report
from tools.lambda_kit.context import FunctionSpec
from tools.local import aws
from tools.local.function_pool import FunctionPool
from tools.local.gateway import CONTEXT_ROUTES, LocalHttpApi
from tools.local.rollup_store import DruidHttp

DEMO_RULES = Path(__file__).with_name("decisions") / "rules"
CONTEXT_ENVIRONMENTS = 4
"""Execution environments of the context Lambda: enough for the demo's decide calls."""
CONTEXT_TIMEOUT_SECONDS = 10
TRENDS_EVERY_SECONDS = 20.0
"""The stack runs the trends job each minute; a short run needs it sooner."""


@dataclass(frozen=True)
class ExperimentCheck:
    """An experiment of the demo rules and what the run expects of it."""

    experiment: str
    control: str
    finds_lift: bool
    """True: the run passes only if the interval of its lift excludes zero. False: an A/A
    experiment, whose interval should include zero (shown, not checked: 1 run in 20 misses)."""


EXPERIMENTS = (
    ExperimentCheck("cart-banner", "control", finds_lift=True),
    ExperimentCheck("picks-aa", "a", finds_lift=False),
)


def copy_demo_rules(run_dir: Path) -> str:
    """The run's DECISIONS_URL (file:///...), holding a copy of the demo rules."""
    root = (run_dir / "decisions").resolve()
    rules = root / RULES_PREFIX
    rules.mkdir(parents=True, exist_ok=True)
    for path in sorted(DEMO_RULES.glob("*.json")):
        shutil.copyfile(path, rules / path.name)
    return root.as_uri()


def context_api(settings: Settings, run_dir: Path, stack: contextlib.ExitStack) -> LocalHttpApi:
    """The context Lambda (profile reads and decisions) behind a local HTTP API of its own."""
    function = FunctionSpec(
        CONTEXT.service, aws.REGION, CONTEXT_TIMEOUT_SECONDS, settings.context_memory_mb
    )
    environments = stack.enter_context(
        FunctionPool(CONTEXT, function, CONTEXT_ENVIRONMENTS, run_dir / "context.log")
    )
    api = LocalHttpApi(
        environments, function, routes=CONTEXT_ROUTES, environments=CONTEXT_ENVIRONMENTS
    )
    return stack.enter_context(api)


def trends_function(settings: Settings) -> FunctionSpec:
    return FunctionSpec(
        TRENDS.service, aws.REGION, settings.trends_timeout_seconds, settings.trends_memory_mb
    )


def experiment_reports(druid: DruidHttp, datasource: str) -> list[dict[str, Any]]:
    """Each demo experiment's report: its JSON, with the rendered table as `text`."""
    found = []
    for check in EXPERIMENTS:
        scope = ReportScope(check.experiment, datasource, control=check.control)
        report = experiment_report(druid, scope)
        found.append({**report.to_json(), "text": report.render(), "findsLift": check.finds_lift})
    return found
