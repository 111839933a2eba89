"""Monthly AWS cost of the pipeline at a given event rate, with and without KPL aggregation.

The estimate multiplies list prices by volumes derived from a workload: how many events a
request carries, how many events a Kinesis record carries, how big an event is in the stream and
how long the functions run. A local run measures these; `riptide cost` takes them as flags.
Covered: API Gateway HTTP API, the producer and consumer Lambdas, Kinesis provisioned shards and
PUT payload units. Not covered: CloudWatch, X-Ray, S3, SQS, Secrets Manager, data transfer and
Druid itself.
"""

from __future__ import annotations

import math
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

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
SHARD_BYTES_PER_SECOND = 1024 * 1024
SHARD_RECORDS_PER_SECOND = 1000


@dataclass(frozen=True)
class Workload:
    """The figures the cost depends on; defaults are what local runs measure.

    `bytes_per_event` is what one event takes in the stream (enriched JSON, plus its share of
    the aggregation framing when aggregated).
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

    def unaggregated(self) -> Workload:
        return replace(self, events_per_record=1)


@dataclass(frozen=True)
class CostLine:
    item: str
    volume: str
    dollars: float


@dataclass(frozen=True)
class Estimate:
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
    record_bytes = workload.events_per_record * workload.bytes_per_event
    records_per_second = rate / workload.events_per_record
    units_per_record = math.ceil(record_bytes / PUT_PAYLOAD_UNIT_BYTES)
    shards = max(
        1,
        math.ceil(records_per_second * record_bytes / SHARD_BYTES_PER_SECOND),
        math.ceil(records_per_second / SHARD_RECORDS_PER_SECOND),
    )
    requests = rate / workload.events_per_request * SECONDS_PER_MONTH
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
    )
    return Estimate(records_per_second, shards, lines)


def cost_table(workload: Workload) -> str:
    """The monthly cost with KPL aggregation next to one Kinesis record per event."""
    aggregated = estimate(workload)
    single = estimate(workload.unaggregated())
    header = (
        f"Monthly AWS cost at {workload.events_per_second:,.0f} events/s "
        f"(us-east-1 list prices of {PRICES_CHECKED_ON}; {workload.events_per_request:,.0f} "
        f"events/request, {workload.bytes_per_event:,.0f} B/event, "
        f"{workload.events_per_record:,.1f} events/record when aggregated)"
    )
    rows = [
        ("", f"aggregated ({workload.events_per_record:,.1f}/record)", "one record per event"),
        (
            "Kinesis records/s",
            f"{aggregated.records_per_second:,.0f}",
            f"{single.records_per_second:,.0f}",
        ),
        ("Shards needed", f"{aggregated.shards:,}", f"{single.shards:,}"),
    ]
    for with_kpl, without in zip(aggregated.lines, single.lines, strict=True):
        rows.append(
            (
                with_kpl.item,
                f"${with_kpl.dollars:,.0f}  ({with_kpl.volume})",
                f"${without.dollars:,.0f}  ({without.volume})",
            )
        )
    rows.append(("Total per month", f"${aggregated.total:,.0f}", f"${single.total:,.0f}"))
    return header + "\n" + render_table(rows)


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
