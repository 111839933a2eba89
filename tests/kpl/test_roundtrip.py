"""Properties of aggregate -> de-aggregate: nothing lost or duplicated, order and shard kept."""

import random
from collections import Counter, defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from riptide.kpl import (
    MAGIC,
    MAX_KINESIS_RECORD_BYTES,
    Aggregator,
    OrderedKeys,
    SpreadKeys,
    deaggregate,
    deaggregate_user_records,
    effective_hash_key,
)
from tests.kpl.strategies import sized_binary

BUDGET = 4_000


any_payload = st.one_of(
    sized_binary(6_000),
    st.binary(max_size=200).map(lambda tail: MAGIC + tail),
    st.just(b""),
)
ordering_key = st.one_of(st.none(), st.text(min_size=1, max_size=12), st.sampled_from("abc"))
key_strategy = st.one_of(
    st.builds(SpreadKeys, st.randoms(use_true_random=False)),
    st.builds(OrderedKeys, st.integers(1, 16), st.randoms(use_true_random=False)),
)


@st.composite
def tagged_records(draw):
    """(ordering key, payload) pairs whose payloads start with their input position."""
    pairs = draw(st.lists(st.tuples(ordering_key, sized_binary(3_000)), max_size=80))
    return [(key, position.to_bytes(4) + body) for position, (key, body) in enumerate(pairs)]


@settings(max_examples=150)
@given(st.lists(st.tuples(ordering_key, any_payload), max_size=60), key_strategy)
def test_every_payload_comes_back_exactly_once(user_records, keys):
    records = Aggregator(keys, max_record_bytes=BUDGET).aggregate(user_records)

    read_back = [payload for record in records for payload in deaggregate(record.data)]
    assert Counter(read_back) == Counter(payload for _, payload in user_records)
    assert sum(record.user_record_count for record in records) == len(user_records)


@settings(max_examples=150)
@given(tagged_records(), key_strategy)
def test_pack_names_exactly_the_inputs_each_record_holds(user_records, keys):
    packed = Aggregator(keys, max_record_bytes=BUDGET).pack(user_records)

    for record, positions in packed:
        inside = [int.from_bytes(payload[:4]) for payload in deaggregate(record.data)]
        assert sorted(inside) == sorted(positions)
    everywhere = [position for _, positions in packed for position in positions]
    assert sorted(everywhere) == list(range(len(user_records)))


@settings(max_examples=150)
@given(tagged_records(), key_strategy)
def test_order_shard_and_budget_hold_for_every_record(user_records, keys):
    records = Aggregator(keys, max_record_bytes=BUDGET).aggregate(user_records)

    positions_by_key = defaultdict(list)
    hash_keys_by_key = defaultdict(set)
    for record in records:
        outer_hash = effective_hash_key(record.partition_key, record.explicit_hash_key)
        users = deaggregate_user_records(
            record.data, record.partition_key, record.explicit_hash_key
        )
        assert len(users) == record.user_record_count
        if record.billed_bytes > BUDGET:
            assert record.user_record_count == 1
            assert len(users[0].data) > BUDGET - 100
            assert record.billed_bytes <= MAX_KINESIS_RECORD_BYTES
        for user in users:
            # KCL safety: each user record hashes to the shard its outer record lands on.
            assert effective_hash_key(user.partition_key, user.explicit_hash_key) == outer_hash
            position = int.from_bytes(user.data[:4])
            key = user_records[position][0]
            positions_by_key[key].append(position)
            hash_keys_by_key[key].add(outer_hash)

    assert sorted(p for positions in positions_by_key.values() for p in positions) == list(
        range(len(user_records))
    )
    if keys.ordered:
        for key, positions in positions_by_key.items():
            if key is not None:
                assert positions == sorted(positions), f"order of key {key!r}"
                assert len(hash_keys_by_key[key]) == 1, f"key {key!r} spread over hash keys"


def test_spread_and_ordered_keys_are_reproducible_with_a_seeded_rng():
    user_records = [(f"user-{n % 7}", b"x" * (100 + n)) for n in range(300)]

    for make_keys in (
        lambda: SpreadKeys(random.Random(5)),
        lambda: OrderedKeys(3, random.Random(5)),
    ):
        first = Aggregator(make_keys(), max_record_bytes=BUDGET).aggregate(user_records)
        second = Aggregator(make_keys(), max_record_bytes=BUDGET).aggregate(user_records)
        assert first == second
