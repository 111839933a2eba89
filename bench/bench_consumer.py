"""Consumer hot path: Kinesis records in, Druid rollup rows out, in events per second per core.

    .venv/bin/python -m bench.bench_consumer [--events N] [--rate EVENTS_PER_SECOND] [--rounds R]

Both contenders start from the same Lambda Kinesis event records (base64 KPL aggregates of a
seeded shopper corpus, written as our producer writes events) and end with newline-delimited
JSON rows for Druid:

- riptide: riptide.kpl.deaggregate -> Rollup.add (msgspec decode of the schema's fields,
  per-minute rows, one HLL sketch per row) -> Rollup.to_ndjson.
- baseline: aws_kinesis_agg.deaggregate_records -> json.loads -> dict rollup keyed by minute and
  dimensions, users in a Python set -> json.dumps per row.

Timing follows bench/_harness.py: each contender in its own forked process, after gc.collect(),
in process CPU time, contenders taking turns over `rounds` rounds, best run kept. A third table
prices the `variant` dimension: the rollup engine in consumer-sized batches, with no experiments
against two running experiments on every site (each shopper's arms hashed once per batch). A
last table shows how many events one rollup row stands for at several traffic rates (a minute of
one shard's share of the traffic).
"""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Callable, Iterable
from datetime import datetime
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
from riptide.decisions.assignment import Arm, Experiment
from riptide.kinesis_batch import KinesisBatch
from riptide.kpl import Aggregator, SpreadKeys, deaggregate
from riptide.rollup import Rollup, RollupSchema, TimePolicy
from riptide.rollup.arms import ExperimentArms, ExperimentsBySite
from tools.traffic import CORPUS_SEED, SITES, event_corpus

BATCH_EVENTS = 2_000
"""Events of one consumer invocation: shoppers' arms are remembered for a batch, not longer."""


def lambda_records(payloads: list[bytes]) -> list[LambdaRecord]:
    """The payloads KPL-aggregated, as the records of a Lambda Kinesis event."""
    return lambda_event_records(
        Aggregator(keys=SpreadKeys()).aggregate([(None, p) for p in payloads])
    )


def riptide_hot_path(records: list[LambdaRecord]) -> tuple[int, int, bytes]:
    """Our consumer's path: its event reader (base64), riptide.kpl, then the rollup engine."""
    rollup = Rollup(RollupSchema.from_settings(None, None), TimePolicy())
    add = rollup.add
    for record in KinesisBatch.from_event({"Records": records}).records:
        for payload in deaggregate(record.data):
            add(payload)
    return rollup.event_count, len(rollup), rollup.to_ndjson()


def riptide_rollup(payloads: Iterable[bytes]) -> tuple[int, int, bytes]:
    rollup = Rollup(RollupSchema.from_settings(None, None), TimePolicy())
    add = rollup.add
    for payload in payloads:
        add(payload)
    return rollup.event_count, len(rollup), rollup.to_ndjson()


def riptide_batches(
    payloads: list[bytes], experiments: ExperimentsBySite
) -> tuple[int, int, bytes]:
    """The rollup engine as the consumer runs it: a rollup and the experiments per batch."""
    schema, policy = RollupSchema.from_settings(None, None), TimePolicy()
    events, rows, out = 0, 0, []
    for start in range(0, len(payloads), BATCH_EVENTS):
        rollup = Rollup(schema, policy, ExperimentArms(experiments))
        add = rollup.add
        for payload in payloads[start : start + BATCH_EVENTS]:
            add(payload)
        events, rows = events + rollup.event_count, rows + len(rollup)
        out.append(rollup.to_ndjson())
    return events, rows, b"".join(out)


def two_experiments_on_every_site() -> ExperimentsBySite:
    """An A/B test with a holdout and an A/A test per site, running since before the traffic."""
    return {
        site.name: (
            Experiment(
                f"{site.name}-banner", "home-hero", (Arm("control", 1), Arm("banner", 1)), 0.1
            ),
            Experiment(f"{site.name}-aa", "footer", (Arm("a", 1), Arm("b", 1))),
        )
        for site in SITES
    }


def baseline_hot_path(records: list[LambdaRecord]) -> tuple[int, int, bytes]:
    """The straightforward consumer: the reference de-aggregator, json, dicts and sets."""
    return baseline_rollup(
        base64.b64decode(user_record["kinesis"]["data"])
        for user_record in deaggregate_records(records)
    )


def baseline_rollup(payloads: Iterable[bytes]) -> tuple[int, int, bytes]:
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    events = 0
    for payload in payloads:
        event = json.loads(payload)
        timestamp = datetime.fromisoformat(event["timestamp"])
        properties = event.get("properties") or {}
        context = event.get("context") or {}
        key = (
            timestamp.strftime("%Y-%m-%dT%H:%M:00Z"),
            event.get("site"),
            event.get("type"),
            event.get("event") or event.get("name"),
            (context.get("location") or {}).get("country"),
            (context.get("device") or {}).get("type"),
            properties.get("currency"),
            (context.get("campaign") or {}).get("source"),
            (context.get("campaign") or {}).get("name"),
            properties.get("product_id"),
            properties.get("category"),
        )
        row = rows.get(key)
        if row is None:
            row = rows[key] = {"events": 0, "revenue": 0.0, "quantity": 0, "users": set()}
        row["events"] += 1
        revenue = properties.get("revenue")
        if revenue is None and event.get("event") == "Order Completed":
            revenue = properties.get("total")
        row["revenue"] += revenue or 0.0
        row["quantity"] += properties.get("quantity") or 0
        user = event.get("userId") or event.get("anonymousId")
        if user:
            row["users"].add(user)
        events += 1
    names = ("ts", "site", "type", "event", "country", "device", "currency", "utm_source")
    names += ("utm_campaign", "product", "category")
    lines = [
        json.dumps(
            {
                **dict(zip(names, key, strict=True)),
                **row,
                "users": sorted(row["users"]),
            }
        )
        for key, row in rows.items()
    ]
    return events, len(rows), "\n".join(lines).encode()


Contender = Callable[[Any], tuple[int, int, bytes]]
STAGES: dict[str, dict[str, Contender]] = {
    "whole hot path: Lambda Kinesis records in, NDJSON rows out": {
        "baseline": baseline_hot_path,
        "riptide": riptide_hot_path,
    },
    "rollup engine alone: event payloads in, NDJSON rows out": {
        "baseline": baseline_rollup,
        "riptide": riptide_rollup,
    },
}


def check_agreement(contenders: dict[str, Contender], given: Any) -> None:
    """Both contenders must roll up the same events into the same number of rows."""
    outcomes = {name: contender(given)[:2] for name, contender in contenders.items()}
    if len(set(outcomes.values())) != 1:
        raise SystemExit(f"contenders disagree on (events, rows): {outcomes}")


def events_per_row(rates: Iterable[float], seconds: int = 60) -> None:
    print(f"{'events/s':>9} {'events':>8} {'rows':>7} {'events/row':>11}")
    for rate in rates:
        payloads = event_corpus(int(rate * seconds), rate)
        events, rows, _ = riptide_rollup(payloads)
        print(f"{rate:>9,.0f} {events:>8,} {rows:>7,} {events / rows:>11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=2_000, help="simulated events/s of traffic")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    payloads = event_corpus(args.events, args.rate)
    records = lambda_records(payloads)
    print(describe_machine("msgspec", "datasketches", "aws-kinesis-agg"))
    print(
        f"{len(payloads):,} events ({sum(map(len, payloads)) / len(payloads):.0f} B mean) in "
        f"{len(records):,} KPL records, seed {CORPUS_SEED}, traffic at {args.rate:,.0f} events/s"
    )
    for (stage, contenders), given in zip(STAGES.items(), (records, payloads), strict=True):
        check_agreement(contenders, given)
        work = {name: partial(contender, given) for name, contender in contenders.items()}
        print_timings(stage, time_contenders(work, len(payloads), args.rounds), "baseline")
    arms = {
        "no experiments": partial(riptide_batches, payloads, {}),
        "two per site": partial(riptide_batches, payloads, two_experiments_on_every_site()),
    }
    print_timings(
        f"the variant dimension: rollup engine in batches of {BATCH_EVENTS:,} events",
        time_contenders(arms, len(payloads), args.rounds),
        "no experiments",
    )
    print()
    print("events per rollup row, one minute of one shard's traffic:")
    events_per_row((100, 1_000, 3_000))


if __name__ == "__main__":
    main()
