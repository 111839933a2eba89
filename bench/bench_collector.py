"""Collector under browser-like load: group commit against flushing at once, in the same run.

    .venv/bin/python -m bench.bench_collector [--duration S] [--connections N] [--linger-ms MS]

Both contenders are the real server (`riptide collector`, one worker pinned to the first CPU)
against moto in its own process; the load (single-event /v1/track requests from many keep-alive
connections) comes from the other CPU. The baseline flushes as soon as the event loop turns
(linger 0), so records hold only the requests that arrived in the same turn, which is close to
what the Lambda producer does (one request's events per record). Figures: requests/s, requests
per server CPU-second (per core), answer latency p50/p99, events per Kinesis record and PUT
payload units against the floor (one unit per record of up to 25 KB; bytes / 25 KB).
"""

from __future__ import annotations

import argparse

from bench._harness import describe_machine
from tools.local.collector_load import LOCAL_WRITE_KEY, LoadReport, run_local_load
from tools.local.http_load import HttpLoadPlan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--events-per-request", type=int, default=1)
    parser.add_argument("--linger-ms", type=int, default=15)
    args = parser.parse_args()
    plan = HttpLoadPlan(
        LOCAL_WRITE_KEY,
        duration_seconds=args.duration,
        connections=args.connections,
        events_per_request=args.events_per_request,
    )
    print(describe_machine("uvicorn", "uvloop", "httptools", "moto"))
    reports = {
        "flush at once (linger 0)": run_local_load(plan, workers=1, linger_ms=0, shards=4),
        f"group commit (linger {args.linger_ms} ms)": run_local_load(
            plan, workers=1, linger_ms=args.linger_ms, shards=4
        ),
    }
    print(_table(reports))


def _table(reports: dict[str, LoadReport]) -> str:
    header = (
        f"{'':28} {'req/s':>7} {'req/s/core':>10} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'ev/rec':>7} {'records':>8} {'PUT units':>9} {'floor':>7} {'check':>6}"
    )
    rows = [header]
    for name, r in reports.items():
        rows.append(
            f"{name:28} {r.requests_per_second:>7,.0f} {r.requests_per_core_second or 0:>10,.0f} "
            f"{r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {r.events_per_record or 0:>7.1f} "
            f"{r.records or 0:>8,} {r.put_units or 0:>9,} {r.put_unit_floor or 0:>7,} "
            f"{'PASS' if r.passed else 'FAIL':>6}"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
