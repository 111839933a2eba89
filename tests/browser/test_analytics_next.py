"""@segment/analytics-next, as published on npm, in Chromium on a shop's page, with only its
cdnURL pointing at Riptide: every event the page sends is in Kinesis exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.browser.conftest import SITE, Pipeline
from tools.local.browser import BATCHING, STANDARD, SdkCall

SHOPPING = (
    SdkCall("page", ("Product", "Alpine Jacket", {"path": "/p/alpine-jacket"})),
    SdkCall("track", ("Product Viewed", {"product_id": "p-17", "price": 129.0})),
    SdkCall("track", ("Product Added", {"product_id": "p-17", "quantity": 1})),
    SdkCall("identify", ("u-4711", {"plan": "gold"})),
    SdkCall("group", ("acct-9", {"name": "Acme"})),
    SdkCall("screen", ("Checkout",)),
    SdkCall("track", ("Order Completed", {"order_id": "o-1", "revenue": 129.0, "currency": "EUR"})),
    SdkCall("alias", ("u-4711-new",)),
)
TYPES = ["page", "track", "track", "identify", "group", "screen", "track", "alias"]


def assert_stored_once(pipeline: Pipeline, message_ids: list[str]) -> list[dict]:
    stored = [event for event in pipeline.stored() if event["messageId"] in set(message_ids)]
    copies = Counter(event["messageId"] for event in stored)
    assert copies == Counter(message_ids), "each event the page sent is stored exactly once"
    by_id = {event["messageId"]: event for event in stored}
    return [by_id[message_id] for message_id in message_ids]


@pytest.mark.parametrize(
    ("mode", "batching"),
    [
        (STANDARD, {}),
        (BATCHING, {"batch_size": 10, "timeout_ms": 60_000}),
        (BATCHING, {"batch_size": 3, "timeout_ms": 60_000}),
        (BATCHING, {"batch_size": 100, "timeout_ms": 200}),
    ],
    ids=["standard", "batching-flushed-on-leave", "batching-full-batches", "batching-timeout"],
)
def test_every_event_the_page_sends_is_stored_once(
    pipeline: Pipeline, mode: str, batching: dict[str, int]
):
    with pipeline.shopper() as shopper:
        message_ids = shopper.visit(mode, SHOPPING, pipeline.holds, **batching)

    events = assert_stored_once(pipeline, message_ids)
    assert [event["type"] for event in events] == TYPES
    assert {event["site"] for event in events} == {SITE}
    assert events[1]["event"] == "Product Viewed"
    assert events[6]["properties"]["revenue"] == 129.0
    assert events[0]["context"]["library"]["name"] == "analytics.js"
    assert events[0]["context"]["page"]["url"].startswith(pipeline.site.url)
    assert all("writeKey" not in event for event in events)
    assert events[3]["userId"] == "u-4711"
    assert events[0]["anonymousId"] == events[7]["anonymousId"]
