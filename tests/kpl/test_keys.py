"""Key strategies: where aggregates land on the hash key space."""

import random
import zlib
from collections import Counter

import pytest

from riptide.kpl import OrderedKeys, SpreadKeys, effective_hash_key

HASH_KEY_SPACE = 2**128


def quarter(hash_key: int) -> int:
    return hash_key * 4 // HASH_KEY_SPACE


def test_spread_keys_land_evenly_on_four_shards():
    keys = SpreadKeys(random.Random(3))

    counts = Counter(
        quarter(effective_hash_key(keys.keys_for().partition_key, None)) for _ in range(4_000)
    )

    assert set(counts) == {0, 1, 2, 3}
    assert all(800 <= count <= 1_200 for count in counts.values())


def test_spread_keys_are_fresh_for_every_aggregate():
    keys = SpreadKeys(random.Random(3))

    assert len({keys.keys_for().partition_key for _ in range(1_000)}) == 1_000


def test_bucket_hash_keys_sit_in_the_middle_of_equal_slices():
    keys = OrderedKeys(buckets=8)

    hash_keys = [int(keys.keys_for(bucket).explicit_hash_key) for bucket in range(8)]

    slice_size = HASH_KEY_SPACE // 8
    assert hash_keys == [bucket * slice_size + slice_size // 2 for bucket in range(8)]
    assert all(0 <= key < HASH_KEY_SPACE - 1 for key in hash_keys)
    assert [quarter(key) for key in hash_keys] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_an_ordering_key_always_maps_to_the_same_bucket_in_any_process():
    keys = OrderedKeys(buckets=64)

    assert keys.bucket_of("nor-user-000042") == zlib.crc32(b"nor-user-000042") % 64
    assert OrderedKeys(buckets=64).bucket_of("nor-user-000042") == keys.bucket_of("nor-user-000042")


def test_records_without_an_ordering_key_are_spread():
    keys = OrderedKeys(buckets=4, rng=random.Random(1))

    record_keys = keys.keys_for(None)

    assert record_keys.explicit_hash_key is None
    assert record_keys.partition_key != keys.keys_for(None).partition_key


@pytest.mark.parametrize("buckets", [0, -1, 65_537, 2.5])
def test_bucket_count_must_be_a_sensible_integer(buckets):
    with pytest.raises(ValueError, match=r"OrderedKeys buckets must be an int in 1\.\.65536"):
        OrderedKeys(buckets=buckets)


def test_effective_hash_key_is_the_explicit_one_or_the_md5_of_the_partition_key():
    assert effective_hash_key("anything", "42") == 42
    # MD5("a") = 0cc175b9c0f1b6a831c399e269772661
    assert effective_hash_key("a", None) == 0x0CC175B9C0F1B6A831C399E269772661
