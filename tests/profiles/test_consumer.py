"""The profile consumer against a real store: what a shopper's events make of their profile."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec
import pytest

from riptide.profiles import ProfileConsumer, ProfileStore
from riptide.profiles.consumer import BatchOutcome
from riptide.profiles.view import present
from riptide.store import SiteKeys, StoreUnavailableError, connect
from tests.profiles.conftest import LIMITS, profile_consumer, site_state
from tests.profiles.events import START, batch, event, product

NOW_MS = int(START.timestamp() * 1000) + 3_600_000


def shopping_session(site: str) -> list[dict[str, Any]]:
    """An anonymous visitor browses, fills a cart, logs in mid-session and buys."""
    anon = {"anonymous_id": "anon-1"}
    campaign = {"name": "winter", "source": "newsletter", "medium": "email"}
    return [
        event(site, call="page", name="Home", second=0, **anon,
              context={"campaign": campaign, "page": {"path": "/"}, "locale": "de-DE"}),
        event(site, name="Product Viewed", second=10, properties=product("p1", "shoes", 50.0),
              **anon),
        event(site, name="Product Added", second=20,
              properties=product("p1", "shoes", 50.0, quantity=2), **anon),
        event(site, name="Product Viewed", second=30, properties=product("p2", "hats", 20.0),
              **anon),
        event(site, name="Product Added", second=40, properties=product("p2", "hats", 20.0),
              **anon),
        event(site, name="Product Removed", second=45,
              properties=product("p2", "hats", 20.0), **anon),
        event(site, call="identify", second=50, user_id="alice", traits={"plan": "gold"},
              **anon),
        event(site, name="Order Completed", second=60, user_id="alice", anonymous_id="anon-1",
              properties={"order_id": "o1", "revenue": 100.0, "currency": "EUR"}),
        event(site, name="Product Viewed", second=70, user_id="alice",
              properties=product("p3", "shoes", 80.0)),
    ]  # fmt: skip


def test_a_session_builds_one_profile_joined_at_login(
    consumer: ProfileConsumer, profile_store: ProfileStore, site: str
) -> None:
    events = shopping_session(site)
    outcome = consumer.consume(batch([events[:4], events[4:]]))

    assert (outcome.applied, outcome.replayed, outcome.failed_from) == (9, 0, None)
    by_user = profile_store.read(site, ["alice", "anon-1"])
    assert by_user["alice"] == by_user["anon-1"]
    profile = present(by_user["alice"], NOW_MS)
    assert profile["profileId"] == "u:alice"
    assert profile["anonymousIds"] == ["anon-1"]
    assert profile["traits"] == {"plan": "gold"}
    assert profile["firstSeen"] == "2026-11-27T10:00:00.000Z"
    assert profile["lastSeen"] == "2026-11-27T10:01:10.000Z"
    assert profile["firstTouch"]["name"] == "winter"
    assert (profile["country"], profile["locale"]) == ("DE", "de-DE")
    assert profile["cart"] == {"items": [], "value": 0, "lastChangedAt": None}
    assert profile["orders"]["count"] == 1 and profile["orders"]["revenue"] == 100.0
    assert [item["id"] for item in profile["recentlyViewed"]] == ["p3", "p2", "p1"]
    assert list(profile["categoryAffinity"]) == ["shoes", "hats"]
    assert profile["counts"]["lifetime"]["Product Viewed"] == 3
    assert profile["counts"]["last24h"]["Product Viewed"] == 3
    assert profile["session"]["pages"] == 1 and profile["session"]["lastPage"] == "/"


def test_a_cart_holds_what_was_added_and_not_removed_until_an_order(
    consumer: ProfileConsumer, profile_store: ProfileStore, site: str
) -> None:
    events = shopping_session(site)[:6]
    consumer.consume(batch([events]))

    profile = present(profile_store.read(site, ["anon-1"])["anon-1"], NOW_MS)
    assert profile["anonymous"] is True
    assert profile["cart"]["items"] == [
        {"productId": "p1", "quantity": 2, "price": 50.0, "category": "shoes"}
    ]
    assert profile["cart"]["value"] == 100.0
    assert profile["cart"]["lastChangedAt"] == "2026-11-27T10:00:20.250Z"  # p1 added, received


def test_a_replayed_batch_changes_nothing(
    consumer: ProfileConsumer, store_client: Any, site: str
) -> None:
    events = shopping_session(site)
    once = batch([events[:3], events[3:6], events[6:]])
    consumer.consume(once)
    before = site_state(store_client, site)

    outcome = consumer.consume(once)

    assert (outcome.applied, outcome.replayed) == (0, 9)
    assert site_state(store_client, site) == before


def test_no_ip_address_reaches_the_store(
    consumer: ProfileConsumer, store_client: Any, site: str
) -> None:
    consumer.consume(batch([shopping_session(site)]))

    assert not any(b"203.0.113" in value for value in site_state(store_client, site).values())


def test_anonymous_profiles_expire_and_users_profiles_stay(
    consumer: ProfileConsumer, store_client: Any, site: str
) -> None:
    events = shopping_session(site)
    visitor = [event(site, call="page", name="Home", anonymous_id="anon-2")]
    consumer.consume(batch([events, visitor]))

    keys = SiteKeys(site)
    assert store_client.pttl(keys.profile("u:alice")) == -1
    ttl = store_client.pttl(keys.profile("a:anon-2"))
    assert 0 < ttl <= LIMITS.anonymous_ttl_seconds * 1000


def test_unusable_events_are_skipped_and_the_rest_applied(
    consumer: ProfileConsumer, profile_store: ProfileStore, site: str
) -> None:
    good = event(site, name="Product Viewed", user_id="bob", properties=product("p1", "x", 1))
    no_identity = event(site, name="Product Viewed")
    no_site = {**good, "site": None}
    outcome = consumer.consume(batch([[no_identity, good, no_site]]))

    assert (outcome.events, outcome.applied, outcome.unusable) == (3, 1, 2)
    assert profile_store.read(site, ["bob"])["bob"] is not None


def test_a_store_outage_fails_the_batch_from_its_first_record(site: str) -> None:
    unreachable = ProfileStore(connect("redis://127.0.0.1:9/0"), LIMITS)
    consumer = profile_consumer(unreachable)
    events = batch([shopping_session(site)[:2], shopping_session(site)[2:]])

    outcome = consumer.consume(events)

    assert outcome.response() == {
        "batchItemFailures": [{"itemIdentifier": events.records[0].sequence_number}]
    }


def test_a_later_chunk_never_runs_past_a_failed_one(
    consumer: ProfileConsumer, profile_store: ProfileStore, site: str
) -> None:
    """The script refuses a chunk whose predecessor in the batch was not applied, so the
    high-water mark cannot move past events that never reached their profiles."""
    events = [
        event(site, name="Product Viewed", user_id="carol", second=i,
              properties=product(f"p{i}", "x", 1.0))
        for i in range(10)
    ]  # fmt: skip
    first, second = consumer.chunks(batch([events]), BatchOutcome())
    # Fault injection: a row the script cannot apply makes the first chunk fail on the server.
    broken = replace(first, events=[first.events[0]._replace(timestamp_ms="not a time")])

    with pytest.raises(StoreUnavailableError):
        profile_store.apply([broken, second])

    assert profile_store.read(site, ["carol"])["carol"] is None


def test_stored_profiles_are_messagepack(
    consumer: ProfileConsumer, store_client: Any, site: str
) -> None:
    consumer.consume(batch([shopping_session(site)]))
    document = msgspec.msgpack.decode(store_client.get(SiteKeys(site).profile("u:alice")))
    assert document["identity"] == {"userId": "alice", "anonymousIds": ["anon-1"]}


def test_an_order_clears_what_arrived_before_it_whatever_the_client_clocks(
    consumer: ProfileConsumer, profile_store: ProfileStore, site: str
) -> None:
    """Client clocks are corrected only to within seconds: an add may carry a later timestamp
    than the order that followed it. The cart goes by when the server received each."""
    add = event(
        site,
        name="Product Added",
        user_id="erin",
        second=5,
        receivedAt="2026-11-27T10:00:01.000Z",
        properties=product("p1", "x", 9.0),
    )
    order = event(
        site,
        name="Order Completed",
        user_id="erin",
        second=2,
        receivedAt="2026-11-27T10:00:03.000Z",
        properties={"revenue": 9.0},
    )
    later_add = event(
        site,
        name="Product Added",
        user_id="erin",
        second=1,
        receivedAt="2026-11-27T10:00:04.000Z",
        properties=product("p2", "x", 4.0),
    )
    consumer.consume(batch([[order], [add, later_add]]))  # order first, as from another shard

    profile = present(profile_store.read(site, ["erin"])["erin"], NOW_MS)
    assert [item["productId"] for item in profile["cart"]["items"]] == ["p2"]
