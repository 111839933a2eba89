"""riptide.kpl against independent implementations: aws_kinesis_agg and the protobuf runtime."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from riptide.kpl import (
    MAGIC,
    Aggregator,
    KinesisRecord,
    OrderedKeys,
    SpreadKeys,
    deaggregate,
    deaggregate_user_records,
)
from tests.kpl.references import (
    ReferenceRecord,
    agg_lib_decode,
    agg_lib_encode,
    protobuf_decode,
    protobuf_encode,
)
from tests.kpl.strategies import sized_binary

ordering_keys = st.one_of(st.none(), st.text(min_size=1, max_size=20))
strategies = st.sampled_from(["spread", "ordered"])


def make_aggregator(strategy: str, seed: int) -> Aggregator:
    rng = random.Random(seed)
    keys = SpreadKeys(rng) if strategy == "spread" else OrderedKeys(buckets=4, rng=rng)
    return Aggregator(keys, max_record_bytes=8_000)


def our_view(record: KinesisRecord) -> list[ReferenceRecord]:
    return [
        ReferenceRecord(user.partition_key, user.explicit_hash_key, user.data)
        for user in deaggregate_user_records(
            record.data, record.partition_key, record.explicit_hash_key
        )
    ]


@settings(max_examples=60)
@given(
    st.lists(st.tuples(ordering_keys, sized_binary(3_000)), min_size=1, max_size=60),
    strategies,
    st.integers(0, 2**32),
)
def test_aws_kinesis_agg_reads_our_records(user_records, strategy, seed):
    records = make_aggregator(strategy, seed).aggregate(user_records)

    for record in records:
        theirs = agg_lib_decode(record)
        assert [user.data for user in theirs] == deaggregate(record.data)
        if record.data.startswith(MAGIC):  # plain records: the keys are the caller's own
            assert theirs == our_view(record)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=40),
            st.one_of(st.none(), st.integers(0, 2**128 - 2).map(str)),
            sized_binary(2_000),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_we_read_aws_kinesis_agg_records(user_records):
    aggregated = agg_lib_encode(user_records, max_size=10_000)

    read_back = []
    for _, _, data in aggregated:
        read_back += [
            ReferenceRecord(user.partition_key, user.explicit_hash_key, user.data)
            for user in deaggregate_user_records(data)
        ]
    assert read_back == [ReferenceRecord(pk, ehk, data) for pk, ehk, data in user_records]


@settings(max_examples=60)
@given(
    st.lists(st.tuples(ordering_keys, sized_binary(3_000)), min_size=1, max_size=60),
    strategies,
    st.integers(0, 2**32),
)
def test_protobuf_runtime_reads_our_records(user_records, strategy, seed):
    records = make_aggregator(strategy, seed).aggregate(user_records)

    for record in records:
        if record.data.startswith(MAGIC):
            assert protobuf_decode(record.data) == our_view(record)


@st.composite
def protobuf_aggregates(draw):
    partition_keys = draw(st.lists(st.text(max_size=30), min_size=1, max_size=5))
    explicit_hash_keys = draw(st.lists(st.integers(0, 2**128 - 1).map(str), min_size=0, max_size=5))
    records = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(partition_keys) - 1),
                st.none()
                if not explicit_hash_keys
                else st.one_of(st.none(), st.integers(0, len(explicit_hash_keys) - 1)),
                sized_binary(20_000),
            ),
            max_size=30,
        )
    )
    tags = draw(
        st.dictionaries(
            st.integers(0, max(0, len(records) - 1)),
            st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=3),
            max_size=3,
        )
    )
    return partition_keys, explicit_hash_keys, records, tags


@settings(max_examples=100)
@given(protobuf_aggregates())
def test_we_read_what_the_protobuf_runtime_writes(aggregate):
    partition_keys, explicit_hash_keys, records, tags = aggregate
    data = protobuf_encode(partition_keys, explicit_hash_keys, records, tags)

    expected = [
        ReferenceRecord(
            partition_keys[pk], None if ehk is None else explicit_hash_keys[ehk], payload
        )
        for pk, ehk, payload in records
    ]
    assert [
        ReferenceRecord(user.partition_key, user.explicit_hash_key, user.data)
        for user in deaggregate_user_records(data)
    ] == expected
    assert deaggregate(data) == [payload for _, _, payload in records]
