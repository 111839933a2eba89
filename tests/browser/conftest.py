"""The real producer handler behind the local HTTP API (moto Kinesis and Secrets Manager), a shop
site serving the published analytics-next bundle, and Debian's Chromium to run it in.

Every browser test goes over real HTTP from a real page on another origin, so CORS, preflights,
keepalive and the SDK's own retries all happen as on a shop's site.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from playwright.sync_api import Browser

from producer import handler
from riptide.contract import Env
from tests.fake_aws import REGION, use_fake_aws_credentials
from tests.producer.kinesis_reader import read_events
from tools.lambda_kit.context import FunctionSpec
from tools.local.browser import Shopper, ShopSite, chromium
from tools.local.cors import CorsPolicy
from tools.local.gateway import LocalHttpApi

STREAM = "riptide-browser-events"
SECRET = "riptide/browser-write-keys"
WRITE_KEY = "wk_shop_5e1f0c2a"
SITE = "shop-browser"
OTHER_WRITE_KEY = "wk_other_9d3b7a10"


@dataclass
class Pipeline:
    """What a test drives (the API, the shop's page in Chromium) and reads back (Kinesis)."""

    api: LocalHttpApi
    site: ShopSite
    browser: Browser
    kinesis: Any

    def shopper(self, api: LocalHttpApi | None = None) -> Shopper:
        """A new visitor of the shop whose SDK loads its settings from `api` (default: the
        one allowing every origin); close it when done."""
        return Shopper(self.browser, self.site.url, (api or self.api).url, WRITE_KEY)

    def stored(self) -> list[dict[str, Any]]:
        """Every event in the stream, de-aggregated, once the API is idle."""
        self.api.drain()
        return read_events(self.kinesis, STREAM)

    def stored_ids(self) -> list[str]:
        return [event["messageId"] for event in self.stored()]

    def holds(self, message_ids: list[str]) -> bool:
        return set(message_ids) <= set(self.stored_ids())


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site() -> Iterator[ShopSite]:
    with ShopSite() as serving:
        yield serving


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """moto with one stream and the write keys, and the producer configured for them."""
    with pytest.MonkeyPatch.context() as patch:
        use_fake_aws_credentials(patch)
        with mock_aws():
            kinesis = boto3.client("kinesis")
            kinesis.create_stream(StreamName=STREAM, ShardCount=2)
            secrets = boto3.client("secretsmanager")
            keys = {WRITE_KEY: SITE, OTHER_WRITE_KEY: "site-other"}
            arn = secrets.create_secret(Name=SECRET, SecretString=json.dumps(keys))["ARN"]
            patch.setenv(Env.STREAM_NAME, STREAM)
            patch.setenv(Env.WRITE_KEYS_SECRET_ARN, arn)
            patch.setenv("NO_PROXY", "127.0.0.1")
            handler.service.cache_clear()
            yield kinesis
            handler.service.cache_clear()


def local_api(allow_origins: tuple[str, ...]) -> LocalHttpApi:
    """The producer handler behind the local HTTP API (one invocation at a time)."""
    function = FunctionSpec(
        "riptide-producer", os.environ.get("AWS_DEFAULT_REGION", REGION), 10, 1024
    )
    return LocalHttpApi(handler.handler, function, cors=CorsPolicy.for_origins(allow_origins))


@pytest.fixture(scope="module")
def pipeline(aws: Any, site: ShopSite, browser: Browser) -> Iterator[Pipeline]:
    with local_api(("*",)) as api:
        yield Pipeline(api, site, browser, aws)
