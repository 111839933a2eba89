"""A copy of an event, on any shard and replayed any number of times, changes no profile."""

from __future__ import annotations

from riptide.profiles import ProfileConsumer, ProfileStore
from tests.profiles.events import batch, event, product


def test_resent_copies_on_another_shard_change_no_profile(
    consumer: ProfileConsumer, profile_store: ProfileStore, site: str
) -> None:
    added = event(site, name="Product Added", user_id="dana", second=1,
                  properties=product("p1", "shoes", 50.0, quantity=2))  # fmt: skip
    order = event(site, name="Order Completed", user_id="dana", second=9,
                  properties={"order_id": "o1", "revenue": 100.0})  # fmt: skip
    viewed = event(site, name="Product Viewed", user_id="dana", second=20,
                   properties=product("p2", "hats", 20.0))  # fmt: skip
    consumer.consume(batch([[added, order]], shard=0))
    before = profile_store.read(site, ["dana"])["dana"]

    for _ in range(2):  # the resent batch, and Lambda's retry of it
        outcome = consumer.consume(batch([[order, added], [viewed]], shard=1))
        assert (outcome.applied + outcome.replayed, outcome.duplicates) == (1, 2)
        assert outcome.failed_from is None

    after = profile_store.read(site, ["dana"])["dana"]
    assert after is not None and before is not None
    assert (after["orders"], after["cart"]) == (before["orders"], before["cart"])
    assert after["counts"]["total"] == {
        "Product Added": 1,
        "Order Completed": 1,
        "Product Viewed": 1,
    }
