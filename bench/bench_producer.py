"""Producer hot path: from HTTP body to aggregated Kinesis records, against a plain baseline.

    .venv/bin/python -m bench.bench_producer [--requests N] [--batch-size N] [--repeat R]

Corpus: seeded shopper traffic (tools.traffic), sent as segment-analytics-python sends it:
/v1/batch bodies of `--batch-size` events written by json.dumps, with the write key in the body.
No network: Kinesis and Secrets Manager are out of the timed work. Each contender runs in its own
forked process, timed in CPU time after gc.collect(), best of `--repeat` runs in each of
`--rounds` rounds that alternate the contenders (so a burst of load on a shared machine does not
land on one contender only):

- baseline: the straightforward build. The Powertools parser with its API Gateway v2 envelope
  and pydantic models (batch, then each event on its own so a bad one is rejected alone),
  datetime arithmetic for the clock-skew correction, json.dumps per event, and
  aws_kinesis_agg.RecordAggregator (25,000-byte aggregates).
- riptide: riptide.ingest (msgspec envelope with raw event slices, checks on plain dicts,
  msgspec encode) and riptide.kpl.Aggregator with SpreadKeys.

Both do the same work per event: decode, size check, type/identity/name/messageId/timestamp
checks, receivedAt, skew-corrected timestamp, context.ip, site, compact JSON, aggregation.
Then the handler module's import time, as Lambda's cold start sees it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import aws_kinesis_agg.aggregator as agg_lib
from aws_lambda_powertools.utilities.parser import envelopes, parse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bench._harness import describe_machine, print_timings, time_contenders
from riptide.ingest.body import parse_batch, read_body
from riptide.ingest.enrichment import Enricher
from riptide.ingest.events import prepare_events
from riptide.ingest.validation import parse_time
from riptide.kpl import Aggregator, SpreadKeys
from tools.traffic import ShopperTraffic

SEED = 20261127
SOURCE_IP = "203.0.113.77"
MAX_BATCH_BYTES = 500 * 1024
MAX_EVENT_BYTES = 32 * 1024
ROOT = Path(__file__).resolve().parent.parent


def api_gateway_events(requests: int, batch_size: int) -> list[dict[str, Any]]:
    """Payload 2.0 events, each a /v1/batch request as the Python SDK builds it."""
    traffic = ShopperTraffic(SEED)
    out = []
    for _ in range(requests):
        site_events = traffic.take(batch_size)
        body = {
            "batch": [site_event.event for site_event in site_events],
            "sentAt": "2026-11-27T09:00:05.000+00:00",
            "writeKey": site_events[0].site.write_key,
        }
        out.append(
            {
                "version": "2.0",
                "routeKey": "$default",
                "rawPath": "/v1/batch",
                "rawQueryString": "",
                "headers": {"content-type": "application/json"},
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "a1b2c3d4e5",
                    "domainName": "api.example.com",
                    "domainPrefix": "api",
                    "http": {
                        "method": "POST",
                        "path": "/v1/batch",
                        "protocol": "HTTP/1.1",
                        "sourceIp": SOURCE_IP,
                        "userAgent": "analytics-python/2.4.0",
                    },
                    "requestId": "JKJaXmPLvHcESHA=",
                    "routeKey": "$default",
                    "stage": "$default",
                    "time": "27/Nov/2026:09:00:05 +0000",
                    "timeEpoch": 1_795_770_005_000,
                },
                "body": json.dumps(body),
                "isBase64Encoded": False,
            }
        )
    return out


# --- baseline ---------------------------------------------------------------------------------


class BatchRequest(BaseModel):
    batch: list[Any]
    sentAt: datetime | None = None
    context: dict[str, Any] | None = None
    writeKey: str | None = None


class TrackingEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["track", "page", "screen", "identify", "group", "alias"]
    userId: str | int | None = None
    anonymousId: str | int | None = None
    event: str | None = None
    messageId: str | None = Field(default=None, min_length=1, max_length=100)
    timestamp: datetime | None = None
    originalTimestamp: datetime | None = None
    sentAt: datetime | None = None
    context: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None

    @model_validator(mode="after")
    def identified_and_named(self) -> TrackingEvent:
        if not (self.userId or self.anonymousId):
            raise ValueError("userId or anonymousId is required")
        if self.type == "track" and not self.event:
            raise ValueError("a track call needs the event name")
        return self


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def baseline(requests: list[dict[str, Any]]) -> int:
    records = 0
    for request in requests:
        received_at = datetime.now(UTC)
        received_text = _utc_text(received_at)
        source_ip = request["requestContext"]["http"]["sourceIp"]
        body = parse(event=request, model=BatchRequest, envelope=envelopes.ApiGatewayV2Envelope)
        aggregator = agg_lib.RecordAggregator(max_size=25_000)
        for item in body.batch:
            if len(json.dumps(item)) > MAX_EVENT_BYTES:
                continue
            try:
                event = TrackingEvent.model_validate(item)
            except ValidationError:
                continue
            sent_at = event.sentAt or body.sentAt
            client_time = event.originalTimestamp or event.timestamp
            if sent_at and client_time:
                timestamp = received_at - (sent_at - client_time)
            else:
                timestamp = event.timestamp or client_time or received_at
            out = dict(item)
            context = {**(body.context or {}), **(item.get("context") or {})}
            context.setdefault("ip", source_ip)
            out.update(
                timestamp=_utc_text(timestamp),
                receivedAt=received_text,
                messageId=event.messageId or str(uuid.uuid4()),
                context=context,
                site="site",
            )
            data = json.dumps(out, separators=(",", ":")).encode()
            key = str(event.userId or event.anonymousId)
            if aggregator.add_user_record(key, data) is not None:
                records += 1
        if aggregator.get_num_user_records():
            aggregator.clear_and_get()
            records += 1
    return records


# --- riptide ----------------------------------------------------------------------------------


def riptide(requests: list[dict[str, Any]]) -> int:
    aggregator = Aggregator(SpreadKeys())
    records = 0
    for request in requests:
        data = read_body(request["body"], request["isBase64Encoded"], None, MAX_BATCH_BYTES)
        payload = parse_batch(data)
        enricher = Enricher(
            site="site",
            received_at=datetime.now(UTC),
            source_ip=request["requestContext"]["http"]["sourceIp"],
            truncate_ip=False,
            batch_context=payload.context,
            batch_sent_at=parse_time(payload.sent_at, "sentAt"),
        )
        user_records, _ = prepare_events(payload.events, enricher, max_event_bytes=MAX_EVENT_BYTES)
        records += len(aggregator.aggregate(user_records))
    return records


# --- import time ------------------------------------------------------------------------------


def handler_import_ms(in_lambda: bool, runs: int) -> tuple[float, float]:
    """(best, median) of `python -X importtime -c 'import producer.handler'`, in milliseconds.

    With `in_lambda`, LAMBDA_TASK_ROOT is set as in Lambda, where the X-Ray SDK does not build
    the sampling client (a botocore client) that it builds anywhere else.
    """
    environ = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-1"}
    environ.pop("LAMBDA_TASK_ROOT", None)
    if in_lambda:
        environ |= {"LAMBDA_TASK_ROOT": str(ROOT / "lambdas"), "AWS_LAMBDA_FUNCTION_NAME": "bench"}
    command = [sys.executable, "-X", "importtime", "-c", "import producer.handler"]
    samples = []
    for _ in range(runs):
        stderr = subprocess.run(command, env=environ, capture_output=True, text=True, check=True)
        line = next(
            line for line in stderr.stderr.splitlines() if line.endswith("| producer.handler")
        )
        samples.append(int(line.split("|")[1]) / 1000)
    return min(samples), statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--rounds", type=int, default=3, help="contenders alternate; best of all rounds is kept"
    )
    parser.add_argument("--import-runs", type=int, default=5)
    options = parser.parse_args()

    requests = api_gateway_events(options.requests, options.batch_size)
    events = options.requests * options.batch_size
    body_bytes = sum(len(request["body"]) for request in requests)
    print(describe_machine("msgspec", "pydantic", "aws-lambda-powertools", "aws-kinesis-agg"))
    print(
        f"corpus: {options.requests} requests x {options.batch_size} events of seeded shopper "
        f"traffic, {body_bytes / events:,.0f} bytes per event as sent"
    )
    contenders = {"baseline": lambda: baseline(requests), "riptide": lambda: riptide(requests)}
    rounds = [time_contenders(contenders, events, options.repeat) for _ in range(options.rounds)]
    timings = [min(times, key=attrgetter("cpu_seconds")) for times in zip(*rounds, strict=True)]
    print_timings("HTTP body -> aggregated Kinesis records (one core)", timings, "baseline")

    print(f"\nproducer.handler import (python -X importtime, {options.import_runs} runs), ms")
    for label, in_lambda in (("as in Lambda", True), ("outside Lambda", False)):
        best, median = handler_import_ms(in_lambda, options.import_runs)
        print(f"{label:<16} best {best:6.0f}   median {median:6.0f}")


if __name__ == "__main__":
    main()
