"""The collector reloads write keys off the request path: a new key starts working without a
restart, and while Secrets Manager fails the known keys keep working."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace

import boto3
import pytest
from moto import mock_aws

from riptide.collector.service import Collector
from riptide.contract import Env
from riptide.ingest.exceptions import UnauthorizedError
from riptide.ingest.request import IngestRequest
from tests.fake_aws import use_fake_aws_credentials

SECRET = "riptide/write-keys"
POLL_SECONDS = 0.01
PATIENCE_POLLS = 3000


def request(write_key: str) -> IngestRequest:
    authorization = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    body = json.dumps({"event": "Product Viewed", "anonymousId": "a", "messageId": "m"})
    return IngestRequest("track", body.encode(), authorization=authorization)


def accepts(collector: Collector, write_key: str) -> bool:
    """Whether a request with this key gets past authentication (Kinesis is not reached)."""
    try:
        collector._ingestor.prepare(request(write_key))
    except UnauthorizedError:
        return False
    return True


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    use_fake_aws_credentials(monkeypatch)
    with mock_aws():
        yield


def test_a_new_key_works_after_a_reload_and_known_keys_outlive_a_secrets_outage(aws):
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name=SECRET, SecretString=json.dumps({"wk_a": "site-a"}))["ARN"]
    collector = Collector.from_env({Env.STREAM_NAME: "events", Env.WRITE_KEYS_SECRET_ARN: arn})
    collector.settings = replace(collector.settings, write_keys_max_age_seconds=0.05)

    async def scenario() -> tuple[bool, bool, bool]:
        refresher = asyncio.create_task(collector.keep_write_keys_fresh())
        try:
            await _until(lambda: accepts(collector, "wk_a"))
            await asyncio.sleep(0.1)  # the refresher's first reloads are done
            new_key_before = accepts(collector, "wk_b")
            secrets.put_secret_value(
                SecretId=arn, SecretString=json.dumps({"wk_a": "site-a", "wk_b": "site-b"})
            )
            await _until(lambda: accepts(collector, "wk_b"))
            secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
            await asyncio.sleep(0.2)  # several reloads fail meanwhile
            return new_key_before, accepts(collector, "wk_a"), accepts(collector, "wk_b")
        finally:
            refresher.cancel()

    new_key_before, a_after_outage, b_after_outage = asyncio.run(scenario())

    assert not new_key_before
    assert a_after_outage and b_after_outage


async def _until(condition) -> None:
    for _ in range(PATIENCE_POLLS):
        if condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError("the condition never held")
