"""Property: whatever Lambda does with a shard (retries, bisected halves, replays from an older
checkpoint, shards interleaved), the profiles end as if every record was applied once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riptide.kinesis_batch import KinesisBatch
from riptide.profiles import ProfileStore
from riptide.store import SiteKeys
from tests.delivery.kinesis_events import shard_records
from tests.profiles.conftest import LIMITS, profile_consumer, site_state
from tests.profiles.events import encoded, event, product
from tools.lambda_kit.kinesis import StreamRecord, kinesis_event

SHOPPERS = 4
SHARDS = 2
ACTIONS = ("page", "view", "add", "remove", "order", "identify", "alias")


def shopper_event(site: str, shopper: int, action: str, second: int) -> dict[str, Any]:
    """Shopper n is anonymous `anon-n` until an identify or alias names them `user-n`; each
    shopper's events go to one shard, as a partition key per shopper routes them."""
    anon = f"anon-{shopper}"
    item = product(f"p{second % 3}", ("shoes", "hats")[second % 2], 10.0 + second % 5)
    match action:
        case "page":
            return event(site, call="page", name="Home", anonymous_id=anon, second=second)
        case "view":
            return event(site, name="Product Viewed", anonymous_id=anon, second=second,
                         properties=item)  # fmt: skip
        case "add" | "remove":
            name = "Product Added" if action == "add" else "Product Removed"
            return event(site, name=name, anonymous_id=anon, second=second, properties=item)
        case "order":
            return event(site, name="Order Completed", anonymous_id=anon, second=second,
                         properties={"revenue": 12.5})  # fmt: skip
        case "identify":
            return event(site, call="identify", user_id=f"user-{shopper}", anonymous_id=anon,
                         traits={"seen": second}, second=second)  # fmt: skip
        case _:
            return event(site, call="alias", user_id=f"user-{shopper}", previousId=anon,
                         second=second)  # fmt: skip


plans = st.lists(
    st.tuples(st.integers(0, SHOPPERS - 1), st.sampled_from(ACTIONS), st.integers(0, 7200)),
    min_size=1,
    max_size=40,
)


def stream(
    site: str, plan: Sequence[tuple[int, str, int]], sizes: Sequence[int]
) -> dict[int, list[StreamRecord]]:
    """Each shard's records: its events in plan order, packed `sizes[i]` events per record."""
    by_shard: dict[int, list[bytes]] = {}
    for shopper, action, second in plan:
        by_shard.setdefault(shopper % SHARDS, []).extend(
            encoded([shopper_event(site, shopper, action, second)])
        )
    records = {}
    for shard, payloads in by_shard.items():
        groups, start = [], 0
        for size in sizes:
            if start >= len(payloads):
                break
            groups.append(payloads[start : start + size])
            start += size
        if start < len(payloads):
            groups.append(payloads[start:])
        records[shard] = shard_records(shard, groups)
    return records


def state(client: Any, site: str) -> dict[bytes, Any]:
    """The site's profiles, links and high-water marks (the window's claims name messageIds,
    which differ from site to site)."""
    prefix = SiteKeys(site).prefix.encode()
    return {
        key.removeprefix(prefix): msgspec.msgpack.decode(value) if b":p:" in key else value
        for key, value in site_state(client, site).items()
        if not key.startswith(prefix + b"m:")
    }


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=plans, sizes=st.lists(st.integers(1, 4), min_size=1, max_size=20), data=st.data())
def test_retries_and_replays_change_no_profile(
    store_client: Any, plan: list[tuple[int, str, int]], sizes: list[int], data: st.DataObject
) -> None:
    store = ProfileStore(store_client, LIMITS)
    consumer = profile_consumer(store, chunk_events=data.draw(st.integers(1, 6), "chunk"))
    once_site, messy_site = (f"site-{uuid.uuid4().hex[:12]}" for _ in range(2))

    for records in stream(once_site, plan, sizes).values():
        consumer.consume(KinesisBatch.from_event(kinesis_event(records)))

    shards = stream(messy_site, plan, sizes)
    checkpoints = dict.fromkeys(shards, 0)
    failures = 6
    while any(checkpoints[shard] < len(records) for shard, records in shards.items()):
        shard = data.draw(st.sampled_from([s for s in shards if checkpoints[s] < len(shards[s])]))
        records, done = shards[shard], checkpoints[shard]
        start = data.draw(st.integers(0, done), "replay from")
        end = data.draw(st.integers(done + 1, len(records)), "batch end")
        outcome = consumer.consume(KinesisBatch.from_event(kinesis_event(records[start:end])))
        assert outcome.failed_from is None
        # Lambda may checkpoint anywhere in the batch (a partial failure, a bisected half) or
        # not at all (a timeout), then deliver from there again.
        checkpoints[shard] = end
        if failures and data.draw(st.booleans(), "failed"):
            failures -= 1
            checkpoints[shard] = data.draw(st.integers(done, end - 1), "checkpoint")

    assert state(store_client, messy_site) == state(store_client, once_site)
