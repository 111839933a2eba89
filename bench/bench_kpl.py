"""KPL codec: aggregation and de-aggregation throughput, and PUT payload units used.

    .venv/bin/python -m bench.bench_kpl [--events N] [--rounds R] [--request-size N]

Corpus: seeded shopper traffic (tools.traffic) as compact JSON, the ordering key being the
user id (or anonymous id). Contenders, each in its own forked process, timed in CPU time:

- aggregate: aws_kinesis_agg.RecordAggregator (max_size 25,000, the ordering key as partition
  key) against riptide.kpl.Aggregator with SpreadKeys and with OrderedKeys(64).
- de-aggregate, from the records of a Lambda Kinesis event (base64) to payload bytes:
  aws_kinesis_agg.deaggregate_records + base64 of each user record, against base64 of each
  Kinesis record + riptide.kpl.deaggregate; and the codecs alone, from raw record bytes (as
  boto3 get_records returns them) to payload bytes.

Then PUT payload units per million events, against the floor (event bytes / 25,000), and
against sending one Kinesis record per event; for the whole corpus in one call and for
producer-sized requests of `--request-size` events, as the producer aggregates per request.
"""

from __future__ import annotations

import argparse
import base64
import math
import random
from collections.abc import Callable, Iterable
from typing import Any

import aws_kinesis_agg.aggregator as agg_lib
import msgspec
from aws_kinesis_agg.deaggregator import deaggregate_records, iter_deaggregate_records

from bench._harness import (
    LambdaRecord,
    describe_machine,
    lambda_event_records,
    print_timings,
    time_contenders,
)
from riptide.kinesis_batch import KinesisBatch
from riptide.kpl import (
    DEFAULT_MAX_RECORD_BYTES,
    Aggregator,
    KinesisRecord,
    OrderedKeys,
    SpreadKeys,
    deaggregate,
)
from tools.traffic import generate_events

SEED = 20261127
UNIT = DEFAULT_MAX_RECORD_BYTES

UserRecords = list[tuple[str, bytes]]


def shopper_corpus(count: int) -> UserRecords:
    """(user id or anonymous id, compact JSON) for `count` seeded shopper events."""
    encode = msgspec.json.Encoder().encode
    return [
        (str(event.get("userId") or event["anonymousId"]), encode(event))
        for event in generate_events(count, seed=SEED)
    ]


def agg_lib_aggregate(user_records: UserRecords) -> list[tuple[str, str | None, bytes]]:
    aggregator = agg_lib.RecordAggregator(max_size=UNIT)
    out = []
    for partition_key, payload in user_records:
        full = aggregator.add_user_record(partition_key, payload)
        if full is not None:
            out.append(full.get_contents())
    if aggregator.get_num_user_records():
        out.append(aggregator.clear_and_get().get_contents())
    return out


def riptide_aggregate(keys: SpreadKeys | OrderedKeys) -> Callable[[UserRecords], object]:
    aggregator = Aggregator(keys)
    return aggregator.aggregate


def agg_lib_deaggregate(records: list[LambdaRecord]) -> list[bytes]:
    b64decode = base64.b64decode
    return [b64decode(user["kinesis"]["data"]) for user in deaggregate_records(records)]


def riptide_deaggregate(records: list[LambdaRecord]) -> list[bytes]:
    """As the consumer does it: its event reader decodes base64, then riptide.kpl."""
    out: list[bytes] = []
    for record in KinesisBatch.from_event({"Records": records}).records:
        out += deaggregate(record.data)
    return out


def boto3_records(records: list[KinesisRecord]) -> list[dict[str, Any]]:
    return [
        {
            "SequenceNumber": str(index),
            "PartitionKey": record.partition_key,
            "ApproximateArrivalTimestamp": 1_795_770_000.0 + index,
            "Data": record.data,
        }
        for index, record in enumerate(records)
    ]


def agg_lib_deaggregate_bytes(records: list[dict[str, Any]]) -> list[bytes]:
    b64decode = base64.b64decode
    users = iter_deaggregate_records(records, data_format="Boto3")
    return [b64decode(user["kinesis"]["data"]) for user in users]


def riptide_deaggregate_bytes(blobs: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for data in blobs:
        out += deaggregate(data)
    return out


def put_units(billed_sizes: Iterable[int]) -> int:
    return sum(math.ceil(size / UNIT) for size in billed_sizes)


def in_requests(user_records: UserRecords, size: int) -> Iterable[UserRecords]:
    return (user_records[start : start + size] for start in range(0, len(user_records), size))


def print_put_units(user_records: UserRecords, request_size: int) -> None:
    events = len(user_records)
    floor = sum(len(payload) for _, payload in user_records) / UNIT
    per_million = 1_000_000 / events

    def units_of(aggregate: Callable[[UserRecords], list[KinesisRecord]], size: int) -> int:
        return sum(
            put_units(record.billed_bytes for record in aggregate(request))
            for request in in_requests(user_records, size)
        )

    def agg_lib_units(size: int) -> int:
        return sum(
            put_units(len(data) + len(pk.encode()) for pk, _, data in agg_lib_aggregate(request))
            for request in in_requests(user_records, size)
        )

    rows: list[tuple[str, int]] = [
        ("one record per event", put_units(len(p) + len(k.encode()) for k, p in user_records)),
        ("aws_kinesis_agg, one call", agg_lib_units(events)),
    ]
    for label, size in (("one call", events), (f"requests of {request_size}", request_size)):
        rows += [
            (
                f"spread, {label}",
                units_of(Aggregator(SpreadKeys(random.Random(1))).aggregate, size),
            ),
            (f"ordered(8), {label}", units_of(Aggregator(OrderedKeys(8)).aggregate, size)),
            (f"ordered(64), {label}", units_of(Aggregator(OrderedKeys(64)).aggregate, size)),
        ]
    print(f"\nPUT payload units (25,000 B) per million events; floor = event bytes / {UNIT:,}")
    print(f"{'contender':<34} {'units/1M events':>16} {'vs floor':>9} {'vs per-event':>13}")
    print(f"{'floor':<34} {floor * per_million:>16,.0f} {1:>8.3f}x {floor / events:>12.4f}x")
    for name, units in rows:
        print(
            f"{name:<34} {units * per_million:>16,.0f} {units / floor:>8.3f}x "
            f"{units / rows[0][1]:>12.4f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--request-size", type=int, default=500, help="events per request")
    args = parser.parse_args()

    user_records = shopper_corpus(args.events)
    sizes = [len(payload) for _, payload in user_records]
    spread_records = Aggregator(SpreadKeys(random.Random(1))).aggregate(user_records)
    event_records = lambda_event_records(spread_records)
    blobs = [record.data for record in spread_records]
    raw_records = boto3_records(spread_records)
    expected = sorted(payload for _, payload in user_records)
    for name, payloads in (
        ("aws_kinesis_agg", agg_lib_deaggregate(event_records)),
        ("aws_kinesis_agg from bytes", agg_lib_deaggregate_bytes(raw_records)),
        ("riptide", riptide_deaggregate(event_records)),
        ("riptide from bytes", riptide_deaggregate_bytes(blobs)),
    ):
        if sorted(payloads) != expected:
            raise SystemExit(f"{name} does not read back the corpus")

    print(describe_machine("msgspec", "aws-kinesis-agg", "protobuf"))
    print(
        f"{len(sizes):,} events, {sum(sizes) / len(sizes):.0f} B mean ({min(sizes)}-{max(sizes)}), "
        f"seed {SEED}; {len(spread_records):,} aggregates of ~{len(sizes) / len(blobs):.0f} events"
    )
    aggregation = time_contenders(
        {
            "aws_kinesis_agg": lambda: agg_lib_aggregate(user_records),
            "riptide spread": lambda: riptide_aggregate(SpreadKeys())(user_records),
            "riptide ordered(64)": lambda: riptide_aggregate(OrderedKeys(64))(user_records),
        },
        args.events,
        repeat=2,
        rounds=args.rounds,
    )
    print_timings(
        "aggregate: (ordering key, event bytes) -> Kinesis records", aggregation, "aws_kinesis_agg"
    )
    from_lambda = time_contenders(
        {
            "aws_kinesis_agg": lambda: agg_lib_deaggregate(event_records),
            "riptide": lambda: riptide_deaggregate(event_records),
        },
        args.events,
        repeat=2,
        rounds=args.rounds,
    )
    print_timings(
        "de-aggregate: Lambda Kinesis records (base64) -> event bytes",
        from_lambda,
        "aws_kinesis_agg",
    )
    from_bytes = time_contenders(
        {
            "aws_kinesis_agg": lambda: agg_lib_deaggregate_bytes(raw_records),
            "riptide": lambda: riptide_deaggregate_bytes(blobs),
        },
        args.events,
        repeat=2,
        rounds=args.rounds,
    )
    print_timings("de-aggregate: record bytes -> event bytes", from_bytes, "aws_kinesis_agg")
    print_put_units(user_records, args.request_size)


if __name__ == "__main__":
    main()
