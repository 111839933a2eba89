"""Monthly AWS cost of the pipeline at a given event rate, by how many events a request carries.

The estimate multiplies list prices by volumes derived from a workload: how many events a
request carries, how many events a Kinesis record carries, how big an event is in the stream and
how long the functions run. A local run measures these; `riptide cost` takes them as flags.
The producer aggregates the events of one request only, so a record never holds more events than
the request brought: a browser sending one event per request gets no aggregation at all, and
pays API Gateway and the producer Lambda for every single event.
Covered: API Gateway HTTP API, the producer and consumer Lambdas, Kinesis provisioned shards and
PUT payload units, the profile consumer and its ElastiCache Serverless store (ECPUs from the
store commands and bytes an event costs, storage from profiles x size), and the messageId
deduplication window in the same store (ECPUs per event, memory from the claims it holds: one
per event for the window plus the retry horizon), and, at a given rate of decide calls, what
decisions add: their API Gateway requests, the context Lambda, and the Decision Made events'
Kinesis records (PUT payload units and the shards they need on top). Not covered:
CloudWatch, X-Ray, S3, SQS, Secrets Manager, VPC endpoints, data transfer and Druid itself, nor
the decide calls' profile reads, nor the Decision Made events in the consumers (add them to the
event rate for that).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from riptide.contract import PUT_PAYLOAD_UNIT_BYTES

PRICES_CHECKED_ON = "2026-11-27"
"""us-east-1 list prices, as of this date."""
API_FIRST_TIER_REQUESTS = 300_000_000
API_FIRST_TIER_PER_MILLION = 1.00
API_NEXT_TIER_PER_MILLION = 0.90
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
LAMBDA_PER_MILLION_REQUESTS = 0.20
KINESIS_PER_SHARD_HOUR = 0.015
KINESIS_PER_MILLION_PUT_UNITS = 0.014
ELASTICACHE_PER_MILLION_ECPU = 0.0023
ELASTICACHE_PER_GB_HOUR = 0.084
ELASTICACHE_MINIMUM_GB = 0.1
ECPU_BYTES = 1024
"""ElastiCache Serverless bills about one ECPU per KB a simple command reads or writes."""

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
SHARD_BYTES_PER_SECOND = 1024 * 1024
SHARD_RECORDS_PER_SECOND = 1000


@dataclass(frozen=True)
class Workload:
    """The figures the cost depends on; defaults are what local runs measure.

    `bytes_per_event` is what one event takes in the stream (enriched JSON, plus its share of
    the aggregation framing when aggregated). `events_per_record` is what a record holds when a
    request brings enough events to fill it; `events_per_kinesis_record` caps it by the request,
    unless `records_span_requests` (the collector packs the events of many requests together).
    `producer_ms_per_request` is one invocation's duration, mostly the PutRecords round trip.
    """

    events_per_second: float = 100_000
    events_per_request: float = 100
    events_per_record: float = 33
    bytes_per_event: float = 650
    producer_ms_per_request: float = 40
    consumer_ms_per_1000_events: float = 150
    producer_memory_mb: int = 1024
    consumer_memory_mb: int = 1024
    batching_window_seconds: float = 5
    batch_size: int = 1000
    tumbling_window_seconds: float = 60
    records_span_requests: bool = False
    profile_ms_per_1000_events: float = 40
    profile_memory_mb: int = 1024
    profile_batching_window_seconds: float = 1
    profile_batch_size: int = 500
    store_commands_per_event: float = 0.62
    """Commands the update script runs per event (bench/bench_profiles.py; fewer as batches
    fill: each profile is read and written once per batch however many events it takes)."""
    store_bytes_per_event: float = 400
    """Script arguments sent per event (bench/bench_profiles.py)."""
    profile_bytes: float = 1_500
    profiles_stored: float = 10_000_000
    """Profiles held: users' for good, anonymous ones for their time to live (30 days)."""
    dedup_window_seconds: float = 3_600
    dedup_retry_seconds: float = 21_600
    """A claim outlives the window by the mappings' maximum record age (maxRecordAgeSeconds)."""
    dedup_claim_bytes: float = 260
    """Store memory per claim: key, value and expiry (measured with MEMORY USAGE and
    used_memory on Valkey-compatible Redis 7 with UUID messageIds)."""
    dedup_commands_per_event: float = 3
    """A GET and a SET by the consumer that asks first, a GET by the other."""
    dedup_bytes_per_event: float = 340
    """Script arguments per event, both consumers together (key and position)."""
    decisions_per_second: float = 0
    """Calls to POST /v1/decide; each is one API Gateway request and one context invocation,
    and writes its Decision Made events (one per placement) as one aggregated record."""
    placements_per_decision: float = 1
    decide_ms_per_request: float = 40
    """One decide invocation: the profile read, the rules, and the PutRecords round trip that
    also dominates the producer's 40 ms."""
    context_memory_mb: int = 512

    @property
    def decision_record_bytes(self) -> float:
        return self.placements_per_decision * self.bytes_per_event

    @property
    def dedup_claims_held(self) -> float:
        return self.events_per_second * (self.dedup_window_seconds + self.dedup_retry_seconds)

    @property
    def events_per_kinesis_record(self) -> float:
        """The producer aggregates within one request, so a record holds at most its events."""
        if self.records_span_requests:
            return self.events_per_record
        return min(self.events_per_record, self.events_per_request)

    def unaggregated(self) -> Workload:
        return replace(self, events_per_record=1)

    def with_events_per_request(self, events_per_request: float) -> Workload:
        return replace(self, events_per_request=events_per_request)


@dataclass(frozen=True)
class CostLine:
    item: str
    volume: str
    dollars: float


@dataclass(frozen=True)
class Estimate:
    requests_per_second: float
    producer_concurrency: float
    records_per_second: float
    shards: int
    lines: tuple[CostLine, ...]

    @property
    def total(self) -> float:
        return sum(line.dollars for line in self.lines)


def api_gateway_dollars(requests: float) -> float:
    first = min(requests, API_FIRST_TIER_REQUESTS)
    rest = max(requests - API_FIRST_TIER_REQUESTS, 0)
    return (first * API_FIRST_TIER_PER_MILLION + rest * API_NEXT_TIER_PER_MILLION) / 1e6


def lambda_dollars(invocations: float, seconds_each: float, memory_mb: int) -> float:
    gb_seconds = invocations * seconds_each * memory_mb / 1024
    return gb_seconds * LAMBDA_ARM_PER_GB_SECOND + invocations * LAMBDA_PER_MILLION_REQUESTS / 1e6


def estimate(workload: Workload) -> Estimate:
    """One month at a steady `events_per_second`."""
    rate = workload.events_per_second
    events_per_record = workload.events_per_kinesis_record
    record_bytes = events_per_record * workload.bytes_per_event
    records_per_second = rate / events_per_record
    units_per_record = math.ceil(record_bytes / PUT_PAYLOAD_UNIT_BYTES)
    shards = shards_needed(records_per_second, records_per_second * record_bytes)
    requests_per_second = rate / workload.events_per_request
    requests = requests_per_second * SECONDS_PER_MONTH
    batches_per_shard_second = max(
        1 / workload.batching_window_seconds,
        records_per_second / shards / workload.batch_size,
    )
    final_invokes_per_shard_second = (
        1 / workload.tumbling_window_seconds if workload.tumbling_window_seconds else 0.0
    )
    consumer_invocations = (
        shards * SECONDS_PER_MONTH * (batches_per_shard_second + final_invokes_per_shard_second)
    )
    consumer_seconds = rate * SECONDS_PER_MONTH * workload.consumer_ms_per_1000_events / 1e6
    put_units = records_per_second * units_per_record * SECONDS_PER_MONTH
    profile_invocations = (
        shards
        * SECONDS_PER_MONTH
        * max(
            1 / max(workload.profile_batching_window_seconds, 0.1),
            records_per_second / shards / workload.profile_batch_size,
        )
    )
    profile_seconds = rate * SECONDS_PER_MONTH * workload.profile_ms_per_1000_events / 1e6
    ecpu_per_event = (
        workload.store_commands_per_event * max(1.0, workload.profile_bytes / ECPU_BYTES)
        + workload.store_bytes_per_event / ECPU_BYTES
    )
    ecpus = rate * SECONDS_PER_MONTH * ecpu_per_event
    store_gb = max(ELASTICACHE_MINIMUM_GB, workload.profiles_stored * workload.profile_bytes / 1e9)
    dedup_ecpu_per_event = (
        workload.dedup_commands_per_event + workload.dedup_bytes_per_event / ECPU_BYTES
    )
    dedup_ecpus = rate * SECONDS_PER_MONTH * dedup_ecpu_per_event
    dedup_gb = workload.dedup_claims_held * workload.dedup_claim_bytes / 1e9
    dedup_hours = (workload.dedup_window_seconds + workload.dedup_retry_seconds) / 3600
    lines = (
        CostLine(
            "API Gateway HTTP API",
            f"{requests / 1e6:,.0f} M requests",
            api_gateway_dollars(requests),
        ),
        CostLine(
            "Lambda producer (arm64)",
            f"{requests / 1e6:,.0f} M invokes x {workload.producer_ms_per_request:.0f} ms",
            lambda_dollars(
                requests, workload.producer_ms_per_request / 1000, workload.producer_memory_mb
            ),
        ),
        CostLine(
            "Lambda consumer (arm64)",
            f"{consumer_invocations / 1e6:,.1f} M invokes, {consumer_seconds / 3600:,.0f} h",
            lambda_dollars(
                consumer_invocations,
                consumer_seconds / consumer_invocations,
                workload.consumer_memory_mb,
            ),
        ),
        CostLine(
            "Kinesis shard-hours",
            f"{shards} shards x {HOURS_PER_MONTH} h",
            shards * HOURS_PER_MONTH * KINESIS_PER_SHARD_HOUR,
        ),
        CostLine(
            "Kinesis PUT payload units",
            f"{put_units / 1e9:,.2f} B units",
            put_units * KINESIS_PER_MILLION_PUT_UNITS / 1e6,
        ),
        CostLine(
            "Lambda profile consumer (arm64)",
            f"{profile_invocations / 1e6:,.1f} M invokes, {profile_seconds / 3600:,.0f} h",
            lambda_dollars(
                profile_invocations,
                profile_seconds / profile_invocations,
                workload.profile_memory_mb,
            ),
        ),
        CostLine(
            "ElastiCache Serverless ECPUs",
            f"{ecpus / 1e9:,.0f} B ECPUs, {ecpu_per_event:.2f}/event",
            ecpus * ELASTICACHE_PER_MILLION_ECPU / 1e6,
        ),
        CostLine(
            "ElastiCache Serverless storage",
            f"{store_gb:,.1f} GB ({workload.profiles_stored / 1e6:,.1f} M profiles)",
            store_gb * HOURS_PER_MONTH * ELASTICACHE_PER_GB_HOUR,
        ),
        CostLine(
            "Deduplication window ECPUs",
            f"{dedup_ecpus / 1e9:,.0f} B ECPUs, {dedup_ecpu_per_event:.2f}/event",
            dedup_ecpus * ELASTICACHE_PER_MILLION_ECPU / 1e6,
        ),
        CostLine(
            "Deduplication window storage",
            f"{dedup_gb:,.1f} GB ({workload.dedup_claims_held / 1e9:,.2f} B claims, "
            f"{dedup_hours:,.1f} h)",
            dedup_gb * HOURS_PER_MONTH * ELASTICACHE_PER_GB_HOUR,
        ),
    )
    decisions = decision_lines(workload, requests, records_per_second, record_bytes, shards)
    producer_concurrency = requests_per_second * workload.producer_ms_per_request / 1000
    return Estimate(
        requests_per_second,
        producer_concurrency,
        records_per_second + workload.decisions_per_second,
        shards + decisions.extra_shards,
        lines + decisions.lines,
    )


@dataclass(frozen=True)
class DecisionCost:
    lines: tuple[CostLine, ...]
    extra_shards: int


def decision_lines(
    workload: Workload,
    event_requests: float,
    event_records_per_second: float,
    event_record_bytes: float,
    event_shards: int,
) -> DecisionCost:
    """What decide calls add to the events' bill: API Gateway requests past the events' (so in
    the tier the events leave), the context Lambda, and one record per call on the same stream.
    None at no decisions, so the events' estimate stands as it is."""
    rate = workload.decisions_per_second
    if not rate:
        return DecisionCost((), 0)
    calls = rate * SECONDS_PER_MONTH
    record_bytes = workload.decision_record_bytes
    units = calls * math.ceil(record_bytes / PUT_PAYLOAD_UNIT_BYTES)
    shards = shards_needed(
        event_records_per_second + rate,
        event_records_per_second * event_record_bytes + rate * record_bytes,
    )
    extra_shards = shards - event_shards
    lines = (
        CostLine(
            "Decide: API Gateway HTTP API",
            f"{calls / 1e6:,.0f} M requests",
            api_gateway_dollars(event_requests + calls) - api_gateway_dollars(event_requests),
        ),
        CostLine(
            "Decide: Lambda context (arm64)",
            f"{calls / 1e6:,.0f} M invokes x {workload.decide_ms_per_request:.0f} ms",
            lambda_dollars(
                calls, workload.decide_ms_per_request / 1000, workload.context_memory_mb
            ),
        ),
        CostLine(
            "Decide: Kinesis",
            f"{units / 1e9:,.2f} B PUT units, {extra_shards} more shards",
            units * KINESIS_PER_MILLION_PUT_UNITS / 1e6
            + extra_shards * HOURS_PER_MONTH * KINESIS_PER_SHARD_HOUR,
        ),
    )
    return DecisionCost(lines, extra_shards)


def shards_needed(records_per_second: float, bytes_per_second: float) -> int:
    """Provisioned shards for the records and bytes a second brings (a shard: 1 MiB or 1,000
    records in per second)."""
    return max(
        1,
        math.ceil(bytes_per_second / SHARD_BYTES_PER_SECOND),
        math.ceil(records_per_second / SHARD_RECORDS_PER_SECOND),
    )


REQUEST_SIZES = (1, 3, 10, 100)
"""Events per request compared: a browser's standard mode (1), small and full client batches."""


def cost_table(workload: Workload, request_sizes: Sequence[float] = REQUEST_SIZES) -> str:
    """The monthly cost for each number of events per request, side by side, and the largest
    request size without KPL aggregation (one Kinesis record per event) for comparison."""
    largest = workload.with_events_per_request(max(request_sizes))
    columns = [
        (f"{size:,.4g} per request", estimate(workload.with_events_per_request(size)))
        for size in request_sizes
    ]
    columns.append(
        (f"{max(request_sizes):,.4g} per request, no KPL", estimate(largest.unaggregated()))
    )
    header = (
        f"Monthly AWS cost at {workload.events_per_second:,.0f} events/s (us-east-1 list prices "
        f"of {PRICES_CHECKED_ON}; {workload.bytes_per_event:,.0f} B/event; a Kinesis record "
        f"holds up to {workload.events_per_record:,.1f} events, never more than one request's; "
        f"producer {workload.producer_ms_per_request:,.0f} ms per request)"
    )
    rows = [
        ("events", *(title for title, _ in columns)),
        ("Requests/s", *(f"{e.requests_per_second:,.0f}" for _, e in columns)),
        ("Producer concurrency", *(f"{e.producer_concurrency:,.0f}" for _, e in columns)),
        ("Kinesis records/s", *(f"{e.records_per_second:,.0f}" for _, e in columns)),
        ("Shards needed", *(f"{e.shards:,}" for _, e in columns)),
    ]
    for index, line in enumerate(columns[0][1].lines):
        rows.append((line.item, *(_money(e.lines[index].dollars) for _, e in columns)))
    rows.append(("Total per month", *(_money(e.total) for _, e in columns)))
    rows.append(
        (
            "per million events",
            *(f"${e.total / _events_per_month(workload) * 1e6:,.2f}" for _, e in columns),
        )
    )
    return header + "\n" + render_table(rows) + "\n\n" + _volumes(columns)


def _events_per_month(workload: Workload) -> float:
    return workload.events_per_second * SECONDS_PER_MONTH


def _money(dollars: float) -> str:
    return f"${dollars:,.0f}"


def _volumes(columns: list[tuple[str, Estimate]]) -> str:
    """What each column's dollars are made of, one line per column."""
    return "\n".join(
        f"{title}: " + "; ".join(f"{line.item} {line.volume}" for line in estimate.lines)
        for title, estimate in columns
    )


def render_table(rows: list[tuple[str, ...]]) -> str:
    """A plain-text table with the first row as header."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
