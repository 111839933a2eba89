"""The whole pipeline on this machine, judged the way a user would judge it.

Each test runs `riptide demo` as a user does (a subprocess, its own process and environment):
shopper traffic over HTTP through the producer, Kinesis (moto) and the consumer into the real
Druid started by scripts/druid, the shoppers asking the context Lambda for decisions as they
go. Then the test asks Druid itself, with its own SQL, for SUM(events) in the run's datasource
and compares it with the events the load generator saw accepted plus the Decision Made events
the decide API promised, and with the events the run counted in the stream. The second run
injects faults (throttled PutRecords, Druid refusing connections then answering 503, consumer
invokes that crash before or after doing their work). Druid must be running; these tests fail,
never skip, when it is not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import urllib3

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DRUID_URL = os.environ.get("RIPTIDE_DRUID_URL") or (
    f"http://127.0.0.1:{8888 + int(os.environ.get('RIPTIDE_DRUID_PORT_OFFSET') or 0)}"
)
"""The router scripts/druid starts (port 8888 shifted by RIPTIDE_DRUID_PORT_OFFSET) unless set."""
ADMIN_PASSWORD = os.environ.get("RIPTIDE_DRUID_ADMIN_PASSWORD", "riptide-admin")
RUN_TIMEOUT_SECONDS = 240
SHORT_RUN = ["--rate", "400", "--duration", "25", "--window", "10", "--shards", "2"]
"""25 s of traffic at a modest rate; 10 s windows so that several deliveries happen."""


class Druid:
    """Druid's SQL API as the admin user, independent of the code under test."""

    def __init__(self) -> None:
        self._pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(3, 30))
        self._headers = {
            "Content-Type": "application/json",
            **urllib3.make_headers(basic_auth=f"admin:{ADMIN_PASSWORD}"),
        }

    def sql(self, query: str) -> list[dict[str, Any]]:
        response = self._pool.request(
            "POST",
            f"{DRUID_URL}/druid/v2/sql",
            body=json.dumps({"query": query}).encode(),
            headers=self._headers,
        )
        assert response.status == 200, f"Druid SQL answered {response.status}: {response.data!r}"
        return json.loads(response.data)


@pytest.fixture(scope="module")
def druid() -> Druid:
    client = Druid()
    try:
        client.sql("SELECT 1")
        problem = None
    except (urllib3.exceptions.HTTPError, AssertionError) as error:
        problem = str(error)
    if problem:
        pytest.fail(
            f"Druid is not reachable at {DRUID_URL} ({problem}); start it with "
            "`scripts/druid install && scripts/druid start`",
            pytrace=False,
        )
    return client


def run_demo(runs_dir: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    completed = subprocess.run(
        [sys.executable, "-m", "tools.cli", "demo", *flags, "--runs-dir", str(runs_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    reports = list(runs_dir.glob("*/report.json"))
    output = f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
    assert reports, f"the run wrote no report:\n{output}"
    return completed, json.loads(reports[0].read_text())


def druid_sum_of_events(druid: Druid, datasource: str) -> int:
    [row] = druid.sql(f'SELECT COALESCE(SUM("events"), 0) AS "events" FROM "{datasource}"')
    return row["events"]


def druid_decisions(druid: Druid, datasource: str) -> int:
    [row] = druid.sql(
        f'SELECT COALESCE(SUM("events"), 0) AS "events" FROM "{datasource}" '
        "WHERE \"event\" = 'Decision Made'"
    )
    return row["events"]


def test_every_accepted_event_and_decision_is_in_druid_exactly_once(
    druid: Druid, tmp_path: Path
) -> None:
    """HTTP clients as the server SDKs send, asking for decisions, and shop pages in Chromium
    with analytics-next. A run this short need not find the experiment's lift; its exit code
    says whether it did."""
    completed, report = run_demo(tmp_path, *SHORT_RUN, "--browser")

    assert report["exactly_once"], completed.stdout[-4000:]
    assert completed.returncode == (0 if report["lift_found"] else 1), completed.stdout[-4000:]
    assert "CHECK: distinct events accepted" in completed.stdout
    assert "Decision Made events" in completed.stdout and "): PASS" in completed.stdout
    assert report["accepted"] > 1000, "each visit waits for its decisions; the rate is lower"
    assert report["sent"] == report["accepted"] + report["rejected"]
    assert report["rejected"] == report["bad_sent"] > 0
    assert report["unexpected_rejections"] == 0
    assert set(report["browser_visits"]) == {"standard", "batching"}
    assert report["browser_sent"] == report["browser_accepted"] > 0
    assert report["browser_missing"] == report["browser_failed_visits"] == 0
    assert report["decide_statuses"] == {"200": report["decide_calls"]}
    assert report["decisions_made"] == 2 * report["decide_calls"] > 200, "two placements each"
    assert report["returns"]["scheduled"] > 0
    accepted = report["accepted"] + report["browser_accepted"] + report["decisions_made"]
    assert report["stream_events"] == accepted
    assert report["stream_repeated_message_ids"] == 0
    assert druid_sum_of_events(druid, report["datasource"]) == accepted
    assert druid_decisions(druid, report["datasource"]) == report["decisions_made"]
    assert {experiment["experiment"] for experiment in report["experiments"]} == {
        "cart-banner",
        "picks-aa",
    }
    profiles = report["profiles"]
    assert profiles["applied"] == accepted and profiles["unusable"] == profiles["replayed"] == 0
    assert profiles["samples"], "shoppers who log in at checkout have joined profiles"


def test_nothing_is_lost_or_doubled_when_kinesis_throttles_druid_fails_and_the_consumer_crashes(
    druid: Druid, tmp_path: Path
) -> None:
    completed, report = run_demo(tmp_path, *SHORT_RUN, "--inject-faults", "--no-decisions")

    assert completed.returncode == 0, completed.stdout[-4000:]
    faults = report["fault_counts"]
    assert faults["PutRecords calls throttled"] > 0
    assert faults["PutRecords records failed"] > 0
    assert faults["Druid 503 answers"] > 0
    assert faults["consumer crashes before work"] > 0
    assert faults["consumer crashes after work"] > 0
    assert report["sent"] == report["accepted"] + report["rejected"]
    assert report["rejected"] == report["bad_sent"]
    # A request answered 429 after part of it was written is sent again whole: its written part
    # lands twice, and the deduplication window drops the second copy.
    repeated = report["stream_repeated_message_ids"]
    assert report["stream_events"] == report["accepted"] + repeated
    assert druid_sum_of_events(druid, report["datasource"]) == report["accepted"]


def test_requests_sent_again_minutes_later_are_counted_once(druid: Druid, tmp_path: Path) -> None:
    """As browser SDKs resending from storage and server SDKs retrying a timeout do."""
    completed, report = run_demo(
        tmp_path, *SHORT_RUN, "--resend-share", "0.05", "--settle-timeout", "400", "--no-decisions"
    )

    assert completed.returncode == 0, completed.stdout[-4000:]
    assert report["late_resent_events"] > 0
    assert report["stream_events"] == report["accepted"] + report["late_resent_events"]
    assert report["stream_repeated_message_ids"] == report["late_resent_events"]
    assert sum(report["duplicates_dropped"].values()) == report["late_resent_events"]
    assert druid_sum_of_events(druid, report["datasource"]) == report["accepted"]
