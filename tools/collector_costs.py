"""Monthly cost of the two ingresses side by side: API Gateway + Lambda, or the collector.

The Lambda producer aggregates only the events of one request, and every request pays API
Gateway's and Lambda's request fees. The collector (ECS Fargate behind an Application Load
Balancer) packs the events of many requests into full records and pays for vCPU-hours, GB-hours
and the load balancer's hours and LCUs instead. Its size follows from the requests one vCPU
takes per second, measured with `riptide load` (--events-per-request R), run at a target CPU
utilization that leaves room for bursts. The stream and the consumer are the same behind both,
except for the records: a Lambda record holds at most one request's events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from riptide.contract import PUT_PAYLOAD_UNIT_BYTES
from tools.costs import HOURS_PER_MONTH, PRICES_CHECKED_ON, Workload, estimate, render_table

FARGATE_ARM_PER_VCPU_HOUR = 0.03238
FARGATE_ARM_PER_GB_HOUR = 0.00356
ALB_PER_HOUR = 0.0225
ALB_PER_LCU_HOUR = 0.008
LCU_NEW_CONNECTIONS_PER_SECOND = 25
LCU_ACTIVE_CONNECTIONS_PER_MINUTE = 3000
LCU_GB_PER_HOUR = 1.0
LAMBDA_INGRESS_ITEMS = frozenset({"API Gateway HTTP API", "Lambda producer (arm64)"})

MEASURED = {1: (2360.0, 20.4), 3: (1866.0, 29.5), 10: (1264.0, 35.3), 100: (339.0, 39.6)}
"""Requests per vCPU-second and events per Kinesis record, by events per request, from
`riptide load --events-per-request R --duration 15 --connections 128` (2026-12-01): one
collector worker pinned to one core of a shared, busy 2-core x86_64 machine, the load and moto
on the other; requests over the server's CPU-seconds. Fargate arm64 vCPUs are assumed no
faster. Records fill further as a task's request rate grows; the local rates were lower."""


@dataclass(frozen=True)
class CollectorFleet:
    """How the collector is run and what its traffic looks like at the load balancer."""

    vcpu_per_task: float = 1.0
    gb_per_task: float = 2.0
    min_tasks: int = 2
    target_cpu_utilization: float = 0.6
    requests_per_connection: float = 20
    """Requests a browser sends over one keep-alive connection (new connections = req/s / this)."""
    connection_seconds: float = 60
    """How long a connection stays open (the load balancer's idle timeout)."""
    request_overhead_bytes: float = 700
    """Headers of a browser request and of the answer, with the answer's body."""


@dataclass(frozen=True)
class IngressCost:
    events_per_request: float
    lambda_total: float
    collector_total: float
    tasks: int
    lcus: float
    break_even_requests_per_second: float


def lambda_ingress_total(workload: Workload) -> float:
    """The whole pipeline's monthly cost behind API Gateway + Lambda (records filled as far as
    one request's events go)."""
    return estimate(replace(workload, events_per_record=full_record_events(workload))).total


def collector_total(
    workload: Workload, fleet: CollectorFleet, requests_per_vcpu_second: float
) -> tuple[float, int, float]:
    """(monthly cost of the whole pipeline behind the collector, tasks, LCUs)."""
    requests_per_second = workload.events_per_second / workload.events_per_request
    vcpus = requests_per_second / (requests_per_vcpu_second * fleet.target_cpu_utilization)
    tasks = max(fleet.min_tasks, math.ceil(vcpus / fleet.vcpu_per_task))
    fargate = (
        tasks
        * HOURS_PER_MONTH
        * (
            fleet.vcpu_per_task * FARGATE_ARM_PER_VCPU_HOUR
            + fleet.gb_per_task * FARGATE_ARM_PER_GB_HOUR
        )
    )
    new_connections = requests_per_second / fleet.requests_per_connection
    active_per_minute = new_connections * fleet.connection_seconds
    request_bytes = workload.events_per_request * workload.bytes_per_event
    gb_per_hour = requests_per_second * (request_bytes + fleet.request_overhead_bytes) * 3600 / 1e9
    lcus = max(
        new_connections / LCU_NEW_CONNECTIONS_PER_SECOND,
        active_per_minute / LCU_ACTIVE_CONNECTIONS_PER_MINUTE,
        gb_per_hour / LCU_GB_PER_HOUR,
    )
    alb = HOURS_PER_MONTH * (ALB_PER_HOUR + lcus * ALB_PER_LCU_HOUR)
    behind_collector = replace(workload, records_span_requests=True)
    rest = sum(
        line.dollars
        for line in estimate(behind_collector).lines
        if line.item not in LAMBDA_INGRESS_ITEMS
    )
    return fargate + alb + rest, tasks, lcus


def compare(
    workload: Workload,
    fleet: CollectorFleet,
    measured: dict[int, tuple[float, float]] = MEASURED,
) -> list[IngressCost]:
    """Both ingresses for each measured number of events per request."""
    rows = []
    for per_request, (capacity, events_per_record) in sorted(measured.items()):
        at = replace(workload, events_per_request=per_request, events_per_record=events_per_record)
        total, tasks, lcus = collector_total(at, fleet, capacity)
        rows.append(
            IngressCost(
                per_request,
                lambda_ingress_total(at),
                total,
                tasks,
                lcus,
                _break_even(at, fleet, capacity),
            )
        )
    return rows


def full_record_events(workload: Workload) -> float:
    """Events in a record filled to one PUT payload unit."""
    return max(1.0, math.floor(PUT_PAYLOAD_UNIT_BYTES / workload.bytes_per_event))


def _break_even(workload: Workload, fleet: CollectorFleet, capacity: float) -> float:
    """The request rate above which the collector costs less (bisection; both grow with it)."""

    def collector_cheaper(requests_per_second: float) -> bool:
        at = replace(workload, events_per_second=requests_per_second * workload.events_per_request)
        return collector_total(at, fleet, capacity)[0] < lambda_ingress_total(at)

    low, high = 0.01, 1e7
    if collector_cheaper(low):
        return low
    for _ in range(60):
        middle = math.sqrt(low * high)
        low, high = (low, middle) if collector_cheaper(middle) else (middle, high)
    return high


def comparison_table(workload: Workload, fleet: CollectorFleet) -> str:
    rows: list[tuple[str, ...]] = [
        (
            "events/request",
            "API Gateway + Lambda",
            "collector",
            "tasks",
            "LCUs",
            "collector cheaper above",
        )
    ]
    for row in compare(workload, fleet):
        rows.append(
            (
                f"{row.events_per_request:,.0f}",
                f"${row.lambda_total:,.0f}",
                f"${row.collector_total:,.0f}",
                f"{row.tasks:,}",
                f"{row.lcus:,.0f}",
                f"{row.break_even_requests_per_second:,.1f} requests/s",
            )
        )
    header = (
        f"Monthly AWS cost of the whole pipeline at {workload.events_per_second:,.0f} events/s "
        f"by ingress (us-east-1 list prices of {PRICES_CHECKED_ON}; "
        f"{workload.bytes_per_event:,.0f} B/event; collector: {fleet.vcpu_per_task:g} vCPU / "
        f"{fleet.gb_per_task:g} GB tasks at {fleet.target_cpu_utilization:.0%} CPU, "
        f"requests per vCPU-second and events per record as measured)"
    )
    return header + "\n" + render_table(rows)
