"""`riptide load`: browser-like load on a collector, and what it put in the stream.

Locally (no --url) it starts moto and `riptide collector` pinned to the first CPU, sends the
load from the other CPUs, reads the server's CPU time from /proc (requests/s per core is
requests over that time), stops the server with SIGTERM and reads the whole stream back: Kinesis
records, events per record, PUT payload units against the floor for those bytes, and the check
that every event answered 200 is in the stream exactly once.
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aws_kinesis_agg.deaggregator import iter_deaggregate_records

from riptide.contract import PUT_PAYLOAD_UNIT_BYTES, Env
from tools.local.aws import provision
from tools.local.collector import LocalCollector, collector_environment
from tools.local.http_load import HttpLoadPlan, LoadResult, run_http_load
from tools.local.moto_process import MotoProcess

LOCAL_WRITE_KEY = "wk_load_7f3a"
LOCAL_SITE = "shop-load"


@dataclass(frozen=True)
class StreamFigures:
    records: int
    events: int
    billed_bytes: int
    put_units: int
    message_ids: Counter[str]

    @property
    def events_per_record(self) -> float:
        return self.events / self.records if self.records else 0.0

    @property
    def put_unit_floor(self) -> int:
        """The fewest 25 KB units these bytes could be billed as, in full records."""
        return math.ceil(self.billed_bytes / PUT_PAYLOAD_UNIT_BYTES)


@dataclass(frozen=True)
class LoadReport:
    linger_ms: int
    workers: int
    connections: int
    events_per_request: int
    seconds: float
    requests: int
    statuses: dict[int, int]
    requests_per_second: float
    server_cpu_seconds: float | None
    requests_per_core_second: float | None
    p50_ms: float
    p99_ms: float
    events_accepted: int
    records: int | None = None
    events_in_stream: int | None = None
    events_per_record: float | None = None
    put_units: int | None = None
    put_unit_floor: int | None = None
    accepted_missing: int | None = None
    accepted_duplicated: int | None = None
    server_exit_code: int | None = None

    @property
    def passed(self) -> bool:
        return not self.accepted_missing and not self.accepted_duplicated

    def render(self) -> str:
        lines = [
            f"collector: {self.workers} worker(s), linger {self.linger_ms} ms; load: "
            f"{self.connections} connections, {self.events_per_request} event(s) per request, "
            f"{self.seconds:.1f} s",
            f"requests: {self.requests:,} ({self.requests_per_second:,.0f}/s); answers "
            + ", ".join(f"{status or 'no answer'}: {n:,}" for status, n in self.statuses.items()),
            f"latency: p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms",
        ]
        if self.requests_per_core_second is not None:
            lines.append(
                f"server CPU: {self.server_cpu_seconds:.1f} s, "
                f"{self.requests_per_core_second:,.0f} requests/s per core"
            )
        if self.records is not None:
            lines += [
                f"stream: {self.events_in_stream:,} events in {self.records:,} Kinesis records, "
                f"{self.events_per_record:.1f} events per record",
                f"PUT payload units: {self.put_units:,} for {self.records:,} records (floor at "
                f"this fill: one per record; {self.put_unit_floor:,} if every record were full; "
                f"{self.events_accepted:,} with one record per event)",
                f"CHECK: {self.events_accepted:,} events answered 200; missing from the stream "
                f"{self.accepted_missing:,}, written twice {self.accepted_duplicated:,}: "
                + ("PASS" if self.passed else "FAIL"),
            ]
        return "\n".join(lines)

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))


def read_stream(kinesis: Any, stream_name: str) -> StreamFigures:
    """Every record of every shard, de-aggregated with aws-kinesis-agg (not riptide.kpl)."""
    records = events = billed = units = 0
    message_ids: Counter[str] = Counter()
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            for record in page["Records"]:
                size = len(record["Data"]) + len(record["PartitionKey"].encode())
                records += 1
                billed += size
                units += math.ceil(size / PUT_PAYLOAD_UNIT_BYTES)
            for user_record in iter_deaggregate_records(page["Records"], data_format="Boto3"):
                data = user_record["kinesis"]["data"]
                if user_record["kinesis"].get("aggregated"):
                    data = base64.b64decode(data)
                events += 1
                message_ids[json.loads(data)["messageId"]] += 1
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return StreamFigures(records, events, billed, units, message_ids)


def run_local_load(
    plan: HttpLoadPlan,
    *,
    workers: int,
    linger_ms: int,
    shards: int,
    log_path: Path | None = None,
) -> LoadReport:
    """moto, a collector on the first CPU, the load from the others; the report."""
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = set(cpus[:workers]) if len(cpus) > workers else None
    load_cpus = set(cpus) - server_cpus if server_cpus else None
    with MotoProcess() as moto:
        resources = provision(
            moto, shards=shards, write_keys={plan.write_key: LOCAL_SITE}, druid_credentials={}
        )
        environment = collector_environment(
            moto, resources, settings={Env.COLLECTOR_LINGER_MS: str(linger_ms)}
        )
        with LocalCollector(
            environment, workers=workers, cpus=server_cpus, log_path=log_path
        ) as collector:
            if load_cpus:
                os.sched_setaffinity(0, load_cpus)
            try:
                cpu_before = collector.cpu_seconds()
                result = run_http_load(collector.url, plan)
                cpu_seconds = collector.cpu_seconds() - cpu_before
            finally:
                os.sched_setaffinity(0, cpus)
            exit_code = collector.stop()
        figures = read_stream(moto.client("kinesis"), resources.stream_name)
    return _report(plan, result, workers, linger_ms, cpu_seconds, figures, exit_code)


def run_remote_load(plan: HttpLoadPlan, url: str) -> LoadReport:
    """The load alone, against a collector (or any Tracking API) at `url`."""
    result = run_http_load(url, plan)
    return _report(plan, result, workers=0, linger_ms=0)


def _report(
    plan: HttpLoadPlan,
    result: LoadResult,
    workers: int,
    linger_ms: int,
    cpu_seconds: float | None = None,
    figures: StreamFigures | None = None,
    exit_code: int | None = None,
) -> LoadReport:
    accepted = Counter(result.accepted_message_ids)
    stream: dict[str, Any] = {}
    if figures is not None:
        stream = {
            "records": figures.records,
            "events_in_stream": figures.events,
            "events_per_record": round(figures.events_per_record, 2),
            "put_units": figures.put_units,
            "put_unit_floor": figures.put_unit_floor,
            "accepted_missing": sum(1 for m in accepted if figures.message_ids[m] == 0),
            "accepted_duplicated": sum(1 for m in accepted if figures.message_ids[m] > 1),
            "server_exit_code": exit_code,
        }
    return LoadReport(
        linger_ms=linger_ms,
        workers=workers,
        connections=plan.connections,
        events_per_request=plan.events_per_request,
        seconds=round(result.seconds, 2),
        requests=result.requests,
        statuses=dict(sorted(result.statuses.items())),
        requests_per_second=round(result.requests / result.seconds, 1) if result.seconds else 0,
        server_cpu_seconds=round(cpu_seconds, 2) if cpu_seconds is not None else None,
        requests_per_core_second=round(result.requests / cpu_seconds, 1) if cpu_seconds else None,
        p50_ms=round(result.median_ms, 2),
        p99_ms=round(result.percentile_ms(0.99), 2),
        events_accepted=len(result.accepted_message_ids),
        **stream,
    )
