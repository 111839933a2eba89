"""Decide API: server time against the profile read alone, and decisions/s per core on the
collector against its Tracking API, each side by side in the same run.

    .venv/bin/python -m bench.bench_decide [--decisions N] [--rate PER_SECOND]
        [--duration S] [--connections N] [--store-url redis://127.0.0.1:6390/0]

Part 1, server time (in this process, the real store on loopback, Secrets Manager and Kinesis
from moto): for profiles of the seeded shopper corpus (applied under a fresh site by the profile
consumer), each step asks, in turn and paced at `--rate`,
- baseline: the read API's core, GET /v1/profiles/{id} (read key, the store read, presented);
- decide: the decider's core for two placements (read key, body, the same profile read, rules
  with an experiment, trends, the Decision Made events enriched and serialized): everything
  the server does but the Kinesis write;
- decide on a worker thread: the same, handed from an event loop to a thread and back, as the
  collector does (the difference is the hop's cost);
- decide + PutRecords: the Lambda's whole decide, with the write to moto's Kinesis (in this
  process: moto's own time counts, so this shows the order, not a deployed figure).
The contenders take turns in a rotating order, so none always comes first after the pause.
Part 2, the collector (`riptide collector`, one worker pinned to the first CPU, moto in its own
process, the load from the other CPU): single-event /v1/track requests (the baseline) and then
decide requests for two placements from many keep-alive connections, each for its own seeded
shopper; requests per server CPU-second; and the check that the stream holds one Decision Made
event per decision answered.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._harness import describe_machine
from bench.bench_profiles import LIMITS, batches
from riptide.contract import DECISION_EVENT, Env
from riptide.dedup import DedupWindow, WindowLength
from riptide.kinesis_batch import KinesisBatch
from riptide.profiles import ProfileConsumer, ProfileStore
from riptide.store import connect
from tools.traffic import event_corpus

READ_KEY = "rk_bench_decide"
PLACEMENTS = ("home-hero", "recommendations")
DEDUP_WINDOW = WindowLength(window_seconds=3_600, retry_seconds=600)


def bench_rules(site: str) -> dict[str, Any]:
    """A home hero with three rules and an A/B experiment, and a trends-fed placement."""
    return {
        "site": site,
        "version": "bench.1",
        "contents": {
            "complete-your-order": {"payload": {"headline": "Your cart is waiting"}},
            "loyalty-offer": {"payload": {"headline": "10% off for regulars"}},
            **{f"hero-{c}": {"payload": {"image": f"/img/{c}.jpg"}} for c in CATEGORIES},
            "hero-default": {"payload": {"image": "/img/hero.jpg"}},
            "trending-now": {
                "payload": {"title": "Trending now"},
                "products": {"from": "trends.byCategory.{profile.topCategory}", "limit": 4},
            },
            "bestsellers": {"payload": {"title": "Bestsellers"}},
        },
        "placements": {
            "home-hero": {
                "rules": [
                    {"id": "complete-your-order", "priority": 100,
                     "when": {"all": [{"fact": "profile.cart.value", "gt": 0},
                                      {"fact": "profile.cart.lastChangedAt",
                                       "olderThanSeconds": 600}]},
                     "content": "complete-your-order"},
                    {"id": "loyalty", "priority": 90,
                     "when": {"fact": "profile.orders.count", "gte": 2},
                     "content": "loyalty-offer"},
                    {"id": "affinity-hero", "priority": 50,
                     "when": {"fact": "profile.topCategory", "exists": True},
                     "content": "hero-{profile.topCategory}"},
                ],
                "fallback": "hero-default",
            },
            "recommendations": {
                "rules": [
                    {"id": "trending-in-category", "priority": 10,
                     "when": {"fact": "profile.topCategory", "exists": True},
                     "content": "trending-now"},
                ],
                "fallback": "bestsellers",
            },
        },
        "experiments": [
            {"id": "cart-banner", "placement": "home-hero", "status": "running",
             "startedAt": "2026-11-01T00:00:00Z", "holdout": 0.1,
             "arms": [{"name": "control", "weight": 1, "disableRules": ["complete-your-order"]},
                      {"name": "banner", "weight": 1}]},
        ],
    }  # fmt: skip


CATEGORIES = ("Apparel", "Footwear", "Home", "Beauty", "Toys", "Outdoor", "Kitchen", "Garden")


class Unmetered:
    """The writer's metrics go nowhere here: the stream is read instead."""

    def add_metric(self, *args: object, **kwargs: object) -> None:
        pass


def bench_trends(site: str) -> dict[str, Any]:
    def products(category: str) -> list[dict[str, Any]]:
        return [
            {"productId": f"{category[:3].lower()}-{n:05d}", "category": category,
             "recent": 40 - n, "baseline": 60, "score": 2.7 - n / 10}
            for n in range(10)
        ]  # fmt: skip

    return {
        "site": site,
        "generatedAt": "2026-12-01T15:00:00Z",
        "recentMinutes": 15,
        "baselineMinutes": 60,
        "trending": products("Apparel"),
        "byCategory": {category: products(category) for category in CATEGORIES},
        "top": [],
    }


def seed_site(store_url: str, events: int, folder: Path) -> tuple[str, list[dict[str, str]]]:
    """A fresh site with the corpus' profiles, its rules and trends in `folder`: the site and
    each shopper's identity as a decide body names it."""
    site = f"bench-{uuid.uuid4().hex[:10]}"
    one_site = f'"site":"{site}","shop":"'.encode()
    payloads = [p.replace(b'"site":"', one_site, 1) for p in event_corpus(events, 2_000)]
    client = connect(store_url)
    consumer = ProfileConsumer(ProfileStore(client, LIMITS), DedupWindow(client, DEDUP_WINDOW))
    for records in batches(payloads):
        consumer.consume(KinesisBatch.from_event({"Records": records}))
    (folder / "rules").mkdir(parents=True, exist_ok=True)
    (folder / "trends").mkdir(parents=True, exist_ok=True)
    (folder / "rules" / f"{site}.json").write_text(json.dumps(bench_rules(site)))
    (folder / "trends" / f"{site}.json").write_text(json.dumps(bench_trends(site)))
    shoppers: dict[str, dict[str, str]] = {}
    for payload in payloads:
        event = json.loads(payload)
        if event.get("anonymousId"):
            shoppers.setdefault(event["anonymousId"], {"anonymousId": event["anonymousId"]})
        elif event.get("userId"):
            shoppers.setdefault(event["userId"], {"userId": event["userId"]})
    return site, list(shoppers.values())


def drop_site(store_url: str, site: str) -> None:
    client = connect(store_url)
    for key in client.scan_iter(match=f"rt:\\{{{site}*", count=1000):
        client.delete(key)


def server_times(
    store_url: str, site: str, folder: Path, shoppers: list[dict[str, str]], rate: float
) -> dict[str, list[float]]:
    """Milliseconds per request of each contender, asked in turn for each shopper."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from aws_lambda_powertools import Logger
    from moto import mock_aws

    from riptide.decisions.decider import DecideCall, Decider
    from riptide.decisions.documents import DirectoryDocuments
    from riptide.decisions.rulebook import RuleBook
    from riptide.decisions.service import DecideService
    from riptide.decisions.trends import TrendsCache
    from riptide.ingest.config import IngestSettings
    from riptide.ingest.ingestor import EventWriter
    from riptide.ingest.publisher import KinesisPublisher
    from riptide.ingest.telemetry import IngestTelemetry
    from riptide.ingest.write_keys import WriteKeyRegistry
    from riptide.profiles.reads import ProfileReads

    logger = Logger(service="bench", level="ERROR")
    store = ProfileStore(connect(store_url), LIMITS)
    documents = DirectoryDocuments(folder)
    loop = asyncio.new_event_loop()
    threads = ThreadPoolExecutor(1)
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="eu-west-1")
        kinesis = boto3.client("kinesis", region_name="eu-west-1")
        kinesis.create_stream(StreamName="bench", ShardCount=1)
        arn = secrets.create_secret(Name="read", SecretString=json.dumps({READ_KEY: site}))["ARN"]

        def read_keys() -> WriteKeyRegistry:
            return WriteKeyRegistry(arn, lambda: secrets, 300, kind="read")

        reads = ProfileReads(store, read_keys(), None)
        writer = EventWriter(
            IngestSettings(stream_name="bench", write_keys_secret_id=""),
            KinesisPublisher("bench", lambda: kinesis),
            IngestTelemetry(Unmetered()),  # type: ignore[arg-type]
        )
        decider = Decider(
            read_keys(), store, RuleBook(documents, logger=logger), TrendsCache(documents, logger),
            writer,
        )  # fmt: skip
        service = DecideService(lambda: decider, logger)
        bearer = f"Bearer {READ_KEY}"

        def call(shopper: dict[str, str]) -> DecideCall:
            body = {**shopper, "placements": list(PLACEMENTS), "context": {"page": {"path": "/"}}}
            return DecideCall(bearer, json.dumps(body).encode())

        contenders: dict[str, Callable[[dict[str, str]], int]] = {
            "profile read": lambda s: reads.get(bearer, next(iter(s.values()))).status,
            "decide": lambda s: decider.prepare(call(s)).answer.status,
            "decide on a worker thread": lambda s: (
                loop.run_until_complete(
                    loop.run_in_executor(threads, decider.prepare, call(s))
                ).answer.status
            ),
            "decide + PutRecords": lambda s: service.handle(call(s), 10.0).status,
        }
        for work in contenders.values():  # the first request loads keys, rules and trends
            work(shoppers[0])
        timings: dict[str, list[float]] = {name: [] for name in contenders}
        turns = list(contenders.items())
        gap = 1 / rate
        next_at = time.perf_counter()
        for number, shopper in enumerate(shoppers):
            first = number % len(turns)
            for name, work in turns[first:] + turns[:first]:
                next_at += gap
                started = time.perf_counter()
                status = work(shopper)
                timings[name].append(1000 * (time.perf_counter() - started))
                if status not in (200, 404):
                    raise SystemExit(f"{name} for {shopper} answered {status}")
                time.sleep(max(0.0, next_at - time.perf_counter()))
    loop.close()
    threads.shutdown()
    return timings


def print_server_times(timings: dict[str, list[float]], rate: float) -> None:
    base = statistics.quantiles(timings["profile read"], n=100, method="inclusive")
    print(
        f"\nserver time per request, store on loopback, {len(timings['profile read']):,} shoppers, "
        f"{rate:,.0f} requests/s; {len(PLACEMENTS)} placements per decision"
    )
    print(f"{'':28}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'p50 x':>8}{'p99 x':>8}")
    for name, values in timings.items():
        q = statistics.quantiles(values, n=100, method="inclusive")
        print(
            f"{name:28}{q[49]:>9.2f}{q[98]:>9.2f}{max(values):>9.2f}"
            f"{q[49] / base[49]:>8.2f}{q[98] / base[98]:>8.2f}"
        )


def collector_rates(
    store_url: str,
    site: str,
    folder: Path,
    shoppers: list[dict[str, str]],
    duration: float,
    connections: int,
) -> None:
    """Tracking API then decide load on one collector; requests per server CPU-second."""
    import os

    from tools.local.aws import provision
    from tools.local.collector import LocalCollector, collector_environment
    from tools.local.collector_load import LOCAL_WRITE_KEY, read_stream
    from tools.local.http_load import DecideLoad, HttpLoadPlan, run_http_load
    from tools.local.moto_process import MotoProcess

    anonymous = tuple(s["anonymousId"] for s in shoppers if "anonymousId" in s)
    plans = {
        "Tracking API, 1 event/request": HttpLoadPlan(
            LOCAL_WRITE_KEY, duration_seconds=duration, connections=connections
        ),
        f"decide, {len(PLACEMENTS)} placements": HttpLoadPlan(
            LOCAL_WRITE_KEY,
            duration_seconds=duration,
            connections=connections,
            decide=DecideLoad(READ_KEY, anonymous, PLACEMENTS),
        ),
    }
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus, load_cpus = ({cpus[0]}, set(cpus[1:])) if len(cpus) > 1 else (None, None)
    rows = []
    with MotoProcess() as moto:
        resources = provision(
            moto, shards=4, write_keys={LOCAL_WRITE_KEY: site}, druid_credentials={}
        )
        read_keys = moto.client("secretsmanager").create_secret(
            Name="riptide/read-keys", SecretString=json.dumps({READ_KEY: site})
        )["ARN"]
        environment = collector_environment(
            moto,
            resources,
            settings={
                Env.PROFILE_STORE_URL: store_url,
                Env.PROFILE_STORE_CLUSTER: "false",
                Env.READ_KEYS_SECRET_ARN: read_keys,
                Env.DECISIONS_URL: f"file://{folder}",
            },
        )
        with LocalCollector(environment, workers=1, cpus=server_cpus) as collector:
            for name, plan in plans.items():
                if load_cpus:
                    os.sched_setaffinity(0, load_cpus)
                try:
                    before = collector.cpu_seconds()
                    result = run_http_load(collector.url, plan)
                    cpu = collector.cpu_seconds() - before
                finally:
                    os.sched_setaffinity(0, cpus)
                rows.append((name, plan, result, cpu))
            collector.stop()
        figures = read_stream(moto.client("kinesis"), resources.stream_name)
    decisions_in_stream = sum(
        n for message_id, n in figures.message_ids.items() if not message_id.startswith("ajs-")
    )
    print(
        f"\ncollector, 1 worker on 1 core, {connections} connections, {duration:.0f} s each "
        "(moto in its own process)"
    )
    print(f"{'':32}{'req/s':>8}{'req/s/core':>11}{'dec/s/core':>11}{'p50 ms':>8}{'p99 ms':>8}")
    base = rows[0][2].statuses[200] / rows[0][3]
    decided = 0
    for name, plan, result, cpu in rows:
        answered = result.statuses[200]
        per_core = answered / cpu
        placements = len(plan.decide.placements) if plan.decide else 0
        decided += answered * placements
        print(
            f"{name:32}{answered / result.seconds:>8,.0f}{per_core:>11,.0f}"
            f"{per_core * placements if placements else 0:>11,.0f}"
            f"{result.percentile_ms(0.5):>8.1f}{result.percentile_ms(0.99):>8.1f}"
            f"   ({per_core / base:.2f}x)"
        )
    verdict = "PASS" if decisions_in_stream == decided else "FAIL"
    print(
        f"CHECK: decisions answered {decided:,} == {DECISION_EVENT} events in the stream "
        f"{decisions_in_stream:,}: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="corpus events applied")
    parser.add_argument("--decisions", type=int, default=2_000, help="shoppers asked (part 1)")
    parser.add_argument("--rate", type=float, default=300, help="requests per second (part 1)")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--store-url", default="redis://127.0.0.1:6390/0")
    args = parser.parse_args()
    print(describe_machine("msgspec", "redis", "uvicorn", "moto"))
    with tempfile.TemporaryDirectory() as folder:
        site, shoppers = seed_site(args.store_url, args.events, Path(folder))
        try:
            print(f"{len(shoppers):,} shoppers' profiles from {args.events:,} corpus events")
            timings = server_times(
                args.store_url, site, Path(folder), shoppers[: args.decisions], args.rate
            )
            print_server_times(timings, args.rate)
            collector_rates(
                args.store_url, site, Path(folder), shoppers, args.duration, args.connections
            )
        finally:
            drop_site(args.store_url, site)


if __name__ == "__main__":
    main()
