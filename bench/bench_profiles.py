"""Profile consumer hot path: Kinesis records in, store script calls out, in events/s per core;
then, against the real store, the store operations each event costs.

    .venv/bin/python -m bench.bench_profiles [--events N] [--rate EVENTS_PER_SECOND]
        [--rounds R] [--store-url redis://127.0.0.1:6390/0]

Both contenders start from the same Lambda Kinesis event records (base64 KPL aggregates of the
seeded shopper corpus, as the producer writes events) and end with the arguments of the store
calls, ready to send; the store's round trip is not included:

- riptide: the consumer's event reader, riptide.kpl, the attributes' paths read from a msgspec
  decode, chunks per site, one MessagePack argument per chunk of CHUNK_EVENTS events.
- baseline: aws_kinesis_agg.deaggregate_records -> json.loads -> the same fields picked out ->
  one script call per event with its JSON, as a consumer without chunking would send.

Timing follows bench/_harness.py. The second part applies the corpus to the store (a fresh
site, removed afterwards) once with chunks per batch and once with one event per call, and
prints script calls, commands inside the scripts, and bytes sent, per event.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
import uuid
from functools import partial
from typing import Any

from aws_kinesis_agg.deaggregator import deaggregate_records

from bench._harness import (
    LambdaRecord,
    describe_machine,
    lambda_event_records,
    print_timings,
    time_contenders,
)
from riptide.kinesis_batch import KinesisBatch
from riptide.kpl import Aggregator, SpreadKeys
from riptide.profiles import BatchOutcome, ProfileConsumer, ProfileStore, StoreLimits
from riptide.profiles.attributes import ATTRIBUTES
from riptide.profiles.consumer import CHUNK_EVENTS
from riptide.store import connect
from tools.traffic import CORPUS_SEED, event_corpus

LIMITS = StoreLimits(anonymous_ttl_seconds=30 * 86_400, identity_cap=25)
BATCH_RECORDS = 100
"""Kinesis records per simulated invoke (about 3,000 events of the corpus)."""


def batches(payloads: list[bytes]) -> list[list[LambdaRecord]]:
    records = lambda_event_records(
        Aggregator(keys=SpreadKeys()).aggregate([(None, p) for p in payloads])
    )
    return [records[i : i + BATCH_RECORDS] for i in range(0, len(records), BATCH_RECORDS)]


def riptide_hot_path(store: ProfileStore, invokes: list[list[LambdaRecord]]) -> int:
    consumer = ProfileConsumer(store)
    calls = 0
    for records in invokes:
        batch = KinesisBatch.from_event({"Records": records})
        calls += len(store.script_calls(list(consumer.chunks(batch, BatchOutcome()))))
    return calls


def baseline_hot_path(invokes: list[list[LambdaRecord]]) -> int:
    calls = 0
    for records in invokes:
        for user_record in deaggregate_records(records):
            event = json.loads(base64.b64decode(user_record["kinesis"]["data"]))
            picked: dict[str, Any] = {}
            for attribute in ATTRIBUTES:
                for name, path in attribute.source.items():
                    value: Any = event
                    for key in path:
                        value = value.get(key) if isinstance(value, dict) else None
                    picked[f"{attribute.name}.{name}"] = value
            arguments = [event.get("site"), event.get("userId"), event.get("anonymousId")]
            arguments.append(json.dumps(picked))
            calls += 1
    return calls


def store_operations(url: str, payloads: list[bytes], chunk_events: int) -> dict[str, float]:
    """Apply the corpus under a fresh site name; what it cost the store, per event."""
    site = f"bench-{uuid.uuid4().hex[:10]}"
    renamed = [p.replace(b'"site":"', f'"site":"{site}-'.encode(), 1) for p in payloads]
    client = connect(url)
    store = ProfileStore(client, LIMITS)
    consumer = ProfileConsumer(store, chunk_events=chunk_events)
    totals = {"events": 0, "script calls": 0, "commands": 0, "bytes sent": 0, "round trips": 0}
    started = time.perf_counter()
    for records in batches(renamed):
        batch = KinesisBatch.from_event({"Records": records})
        chunks = list(consumer.chunks(batch, BatchOutcome()))
        totals["bytes sent"] += sum(
            len(a) if isinstance(a, bytes) else len(str(a))
            for _, args in store.script_calls(chunks)
            for a in args
        )
        outcome = consumer.consume(batch)
        totals["events"] += outcome.applied
        totals["script calls"] += outcome.store_calls
        totals["commands"] += outcome.store_commands
        totals["round trips"] += 1
    elapsed = time.perf_counter() - started
    for key in client.scan_iter(match=f"rt:\\{{{site}-*", count=1000):
        client.delete(key)
    events = max(totals["events"], 1)
    per_event = {name: value / events for name, value in totals.items() if name != "events"}
    return {"events": totals["events"], **per_event, "wall µs/event": 1e6 * elapsed / events}


def read_latency(url: str, payloads: list[bytes], reads: int, rate: float) -> list[float]:
    """Milliseconds the read API's core takes per GET /v1/profiles/{id}, paced at `rate`/s,
    for profiles of the corpus applied under a fresh site (Secrets Manager from moto)."""
    import boto3
    from moto import mock_aws

    from riptide.ingest.write_keys import WriteKeyRegistry
    from riptide.profiles.reads import ProfileReads

    site = f"bench-{uuid.uuid4().hex[:10]}"
    one_site = f'"site":"{site}","shop":"'.encode()  # every shop's events under one site
    renamed = [p.replace(b'"site":"', one_site, 1) for p in payloads]
    client = connect(url)
    store = ProfileStore(client, LIMITS)
    consumer = ProfileConsumer(store)
    ids: list[str] = []
    for records in batches(renamed):
        consumer.consume(KinesisBatch.from_event({"Records": records}))
    for payload in renamed[: reads * 2]:
        event = json.loads(payload)
        ids.append(event.get("userId") or event["anonymousId"])
    timings = []
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = secrets.create_secret(Name="read", SecretString=json.dumps({"rk": site}))["ARN"]
        reader = ProfileReads(store, WriteKeyRegistry(arn, lambda: secrets, 300, kind="read"), None)
        reader.get("Bearer rk", ids[0])  # loads the keys, as the first request of a function does
        gap = 1 / rate
        next_at = time.perf_counter()
        for identity in ids[:reads]:
            next_at += gap
            started = time.perf_counter()
            answer = reader.get("Bearer rk", identity)
            timings.append(1000 * (time.perf_counter() - started))
            if answer.status != 200:
                raise SystemExit(f"read of {identity} answered {answer.status}: {answer.body}")
            time.sleep(max(0.0, next_at - time.perf_counter()))
    for key in client.scan_iter(match=f"rt:\\{{{site}*", count=1000):
        client.delete(key)
    return sorted(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2_000, help="simulated events/s of traffic")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store-url", default="redis://127.0.0.1:6390/0")
    parser.add_argument("--reads", type=int, default=5_000)
    parser.add_argument("--read-rate", type=float, default=500, help="reads per second")
    args = parser.parse_args()

    payloads = event_corpus(args.events, args.rate)
    invokes = batches(payloads)
    offline = ProfileStore(connect("redis://127.0.0.1:9/0"), LIMITS)  # builds calls, never sends
    print(describe_machine("msgspec", "redis", "aws-kinesis-agg"))
    print(
        f"{len(payloads):,} events ({sum(map(len, payloads)) / len(payloads):.0f} B mean) in "
        f"{sum(map(len, invokes)):,} KPL records, {len(invokes)} invokes, seed {CORPUS_SEED}"
    )
    work = {
        "baseline": partial(baseline_hot_path, invokes),
        "riptide": partial(riptide_hot_path, offline, invokes),
    }
    title = "hot path: Lambda Kinesis records in, store call arguments out (no round trip)"
    print_timings(title, time_contenders(work, len(payloads), 1, args.rounds), "baseline")

    print(f"\nstore operations per event against {args.store_url} (Redis-compatible server):")
    rows = {
        f"chunks of {CHUNK_EVENTS} (riptide)": store_operations(
            args.store_url, payloads, CHUNK_EVENTS
        ),
        "one event per call": store_operations(args.store_url, payloads, 1),
    }
    names = [name for name in next(iter(rows.values())) if name != "events"]
    print(f"{'':<24}" + "".join(f"{name:>15}" for name in names))
    for label, figures in rows.items():
        print(f"{label:<24}" + "".join(f"{figures[name]:>15.4f}" for name in names))

    timings = read_latency(args.store_url, payloads, args.reads, args.read_rate)
    quantiles = statistics.quantiles(timings, n=100, method="inclusive")
    print(
        f"\nread API core, GET /v1/profiles/{{id}} at {args.read_rate:,.0f} reads/s "
        f"({len(timings):,} reads, store on loopback): p50 {quantiles[49]:.2f} ms, "
        f"p99 {quantiles[98]:.2f} ms, max {timings[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
