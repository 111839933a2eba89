"""Shared fixtures: moto S3 and Secrets Manager, the consumer's environment, a stub Druid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

import consumer.handler
import consumer.reconciler
from riptide.contract import Env
from tests.delivery.fault_injecting_druid import FaultInjectingDruid
from tests.fake_aws import use_fake_aws_credentials

OUTBOX_BUCKET = "riptide-outbox"
QUARANTINE_BUCKET = "riptide-quarantine"
DATASOURCE = "events_1m"


@dataclass
class Buckets:
    s3: Any

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for item in listing.get("Contents", [])]

    def quarantined(self) -> list[dict[str, Any]]:
        lines = []
        for key in self.keys(QUARANTINE_BUCKET):
            body = self.s3.get_object(Bucket=QUARANTINE_BUCKET, Key=key)["Body"].read()
            lines += [json.loads(line) for line in body.splitlines()]
        return lines

    def pending(self) -> list[str]:
        return self.keys(OUTBOX_BUCKET, "pending/")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Buckets]:
    use_fake_aws_credentials(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (OUTBOX_BUCKET, QUARANTINE_BUCKET):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
        yield Buckets(s3)


def configure(monkeypatch: pytest.MonkeyPatch, druid_url: str, **extra: str) -> None:
    """Point both handlers at `druid_url` and drop their cached clients."""
    settings = {
        Env.DRUID_URL: druid_url,
        Env.DRUID_DATASOURCE: DATASOURCE,
        Env.OUTBOX_BUCKET: OUTBOX_BUCKET,
        Env.QUARANTINE_BUCKET: QUARANTINE_BUCKET,
        Env.DRUID_TIMEOUT_SECONDS: "0.3",
        **extra,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    consumer.handler.shard_consumer.cache_clear()
    consumer.reconciler.reconciliation.cache_clear()


@pytest.fixture
def druid(aws: Buckets, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultInjectingDruid]:
    with FaultInjectingDruid() as stub:
        configure(monkeypatch, stub.url)
        yield stub
    consumer.handler.shard_consumer.cache_clear()
    consumer.reconciler.reconciliation.cache_clear()
