"""A decide API on real parts: the context Lambda's handler (payload 2.0 in), a real store
(scripts/valkey) holding profiles the profile consumer made, moto for Secrets Manager and
Kinesis, rules and trends as files. Kinesis failures moto cannot produce come from
FaultInjectingKinesis, named as what it is. Each test gets its own site, read key and stream.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from context import handler as context_handler
from riptide.contract import DECISION_EVENT
from riptide.decisions.decider import Decider
from riptide.decisions.documents import DirectoryDocuments, rules_key, trends_key
from riptide.decisions.rulebook import RuleBook
from riptide.decisions.service import DecideService
from riptide.decisions.trends import TRENDS_MAX_AGE_SECONDS, TrendsCache
from riptide.ingest.config import IngestSettings
from riptide.ingest.ingestor import EventWriter
from riptide.ingest.publisher import KinesisPublisher
from riptide.ingest.telemetry import IngestTelemetry
from riptide.ingest.write_keys import WriteKeyRegistry
from riptide.kpl import deaggregate
from riptide.profiles import ProfileStore
from tests.fake_aws import use_fake_aws_credentials
from tests.producer.conftest import ManualClock
from tests.producer.fault_injecting_kinesis import Fault, FaultInjectingKinesis
from tests.profiles.conftest import LIMITS, profile_consumer
from tests.profiles.events import batch, event, product
from tools.lambda_kit.context import FunctionSpec
from tools.lambda_kit.http_api import payload_v2_event

CONTEXT = FunctionSpec("riptide-context", memory_mb=512)
READ_KEY = "rk_decide_4c2e"
RULES_VERSION = "2026-12-01.1"
_numbers = itertools.count()


def cart_banner_rules(site: str) -> dict[str, Any]:
    """A rules file with the three rules of the decision engine's first use: complete your
    order (a cart left over 10 minutes), a loyalty offer, the top category's hero; and an A/B
    experiment that switches the first off in its control arm."""
    return {
        "site": site,
        "version": RULES_VERSION,
        "contents": {
            "complete-your-order": {
                "payload": {"headline": "Your cart is waiting", "cta": "/checkout"}
            },
            "loyalty-offer": {"payload": {"headline": "10% off for regulars"}},
            "hero-Apparel": {"payload": {"image": "/img/hero-apparel.jpg"}},
            "hero-default": {"payload": {"image": "/img/hero.jpg"}},
            "trending-now": {
                "payload": {"title": "Trending now"},
                "products": {"from": "trends.byCategory.{profile.topCategory}", "limit": 4},
            },
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
            }
        },
        "experiments": [
            {"id": "cart-banner", "placement": "home-hero", "status": "running",
             "startedAt": "2026-12-01T00:00:00Z", "holdout": 0.0,
             "arms": [{"name": "control", "weight": 1, "disableRules": ["complete-your-order"]},
                      {"name": "banner", "weight": 1}]}
        ],
    }  # fmt: skip


def rules(site: str, *, status: str = "running", holdout: float = 0.0) -> dict[str, Any]:
    """Rules with a loyalty rule, an affinity hero and an experiment on them, and a footer."""
    experiment: dict[str, Any] = {
        "id": "hero-test",
        "placement": "home-hero",
        "status": status,
        "startedAt": "2026-11-01T00:00:00Z",
        "holdout": holdout,
        "arms": [
            {"name": "control", "weight": 1, "disableRules": ["loyalty"]},
            {"name": "loyal", "weight": 1},
        ],
    }
    if status == "ended":
        experiment["endedAt"] = "2026-11-20T00:00:00Z"
    return {
        "site": site,
        "version": RULES_VERSION,
        "contents": {
            "loyalty-offer": {"payload": {"headline": "10% off for regulars"}},
            "hero-Apparel": {"payload": {"image": "/img/hero-apparel.jpg"}},
            "hero-default": {"payload": {"image": "/img/hero.jpg"}},
            "newsletter": {"payload": {"title": "Stay in touch"}},
        },
        "placements": {
            "home-hero": {
                "rules": [
                    {
                        "id": "loyalty",
                        "priority": 90,
                        "when": {"fact": "profile.orders.count", "gte": 2},
                        "content": "loyalty-offer",
                    },
                    {
                        "id": "affinity-hero",
                        "priority": 50,
                        "when": {"fact": "profile.topCategory", "exists": True},
                        "content": "hero-{profile.topCategory}",
                    },
                ],
                "fallback": "hero-default",
            },
            "footer": {"rules": [], "fallback": "newsletter"},
        },
        "experiments": [experiment],
    }


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class DecideApi:
    site: str
    stream_name: str
    kinesis: FaultInjectingKinesis
    documents: DirectoryDocuments
    profiles: ProfileStore

    def post(self, body: Any, key: str | None = READ_KEY, *, raw: bytes | None = None) -> Reply:
        return post_decide(body, key, raw=raw)

    def write_rules(self, document: dict[str, Any]) -> None:
        self.documents.write(rules_key(self.site), json.dumps(document).encode())

    def write_trends(self, document: dict[str, Any]) -> None:
        self.documents.write(trends_key(self.site), json.dumps(document).encode())

    def shop(
        self, *anonymous_ids: str, category: str = "Apparel", orders: int = 0, cart: bool = False
    ) -> None:
        """Each shopper's view (affinity to `category`) or add to cart, and orders, days ago,
        through the profile consumer in one batch (a later batch at the same stream positions
        would be skipped as a replay)."""
        name = "Product Added" if cart else "Product Viewed"
        events = []
        for anonymous_id in anonymous_ids:
            events.append(
                event(
                    self.site,
                    name=name,
                    anonymous_id=anonymous_id,
                    properties=product("p-1", category, 30.0, quantity=1),
                )
            )
            events += [
                event(
                    self.site,
                    name="Order Completed",
                    anonymous_id=anonymous_id,
                    second=60 + n,
                    properties={"order_id": f"o-{n}", "revenue": 30.0, "currency": "EUR"},
                )
                for n in range(orders)
            ]
        outcome = profile_consumer(self.profiles).consume(batch([events]))
        assert outcome.applied == len(events)

    def exposures(self) -> list[dict[str, Any]]:
        """Every Decision Made event in the stream, de-aggregated with riptide.kpl."""
        return [e for e in read_stream(self.kinesis.client, self.stream_name)
                if e.get("event") == DECISION_EVENT]  # fmt: skip


def post_decide(body: Any, key: str | None = READ_KEY, *, raw: bytes | None = None) -> Reply:
    """POST /v1/decide through the context Lambda's handler."""
    headers = [("content-type", "application/json")]
    if key is not None:
        headers.append(("authorization", f"Bearer {key}"))
    event = payload_v2_event(
        method="POST",
        raw_path="/v1/decide",
        headers=headers,
        body=json.dumps(body).encode() if raw is None else raw,
        source_ip="198.51.100.7",
        domain_name="context.example.com",
    )
    response = context_handler.handler(event, CONTEXT.frozen_context())
    return Reply(response["statusCode"], json.loads(response["body"]), response["headers"])


def read_stream(kinesis: Any, stream_name: str) -> list[dict[str, Any]]:
    found = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]:
            found += [json.loads(data) for data in deaggregate(record["Data"])]
    return found


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    """One moto account per module; each test gets its own secret and stream."""
    with pytest.MonkeyPatch.context() as patch:
        use_fake_aws_credentials(patch)
        with mock_aws():
            yield


def new_site_and_stream(
    read_key: str = READ_KEY,
) -> tuple[str, str, str]:
    """A fresh site with a read key, and a fresh stream: (site, read keys secret ARN, stream)."""
    number = next(_numbers)
    site = f"shop-{uuid.uuid4().hex[:10]}"
    secret = boto3.client("secretsmanager").create_secret(
        Name=f"riptide/read-keys-{number}-{site}", SecretString=json.dumps({read_key: site})
    )
    stream = f"riptide-decide-{number}-{site}"
    boto3.client("kinesis").create_stream(StreamName=stream, ShardCount=2)
    return site, secret["ARN"], stream


@pytest.fixture
def make_api(
    aws: None, store_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., DecideApi]:
    """The context Lambda's decide API on its own site and stream; `plan` injects PutRecords
    faults, `profiles` replaces the shared store (e.g. with one the test stops)."""

    def make(
        plan: list[Fault] | None = None,
        *,
        repeat_last: bool = False,
        profiles: ProfileStore | None = None,
        trends_max_age_seconds: float = TRENDS_MAX_AGE_SECONDS,
    ) -> DecideApi:
        site, secret_arn, stream = new_site_and_stream()
        secrets = boto3.client("secretsmanager")
        kinesis = FaultInjectingKinesis(boto3.client("kinesis"), plan or [], repeat_last)
        clock = ManualClock()
        documents = DirectoryDocuments(tmp_path / "decisions")
        profiles = profiles or ProfileStore(store_client, LIMITS)
        writer = EventWriter(
            IngestSettings(stream_name=stream, write_keys_secret_id=""),
            KinesisPublisher(stream, lambda: kinesis, sleep=clock.sleep),
            IngestTelemetry(context_handler.metrics),
            monotonic=clock,
        )
        decider = Decider(
            WriteKeyRegistry(secret_arn, lambda: secrets, 300, kind="read"),
            profiles,
            RuleBook(documents, logger=context_handler.logger),
            TrendsCache(documents, context_handler.logger, trends_max_age_seconds),
            writer,
        )
        service = DecideService(lambda: decider, context_handler.logger)
        monkeypatch.setattr(context_handler, "decide_service", lambda: service)
        return DecideApi(site, stream, kinesis, documents, profiles)

    return make
