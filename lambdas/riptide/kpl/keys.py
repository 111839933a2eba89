"""Key strategies: which partition key and explicit hash key each Kinesis record gets.

Kinesis routes a record by its explicit hash key when it has one, else by the MD5 of its
partition key. Every user record inside an aggregate uses the outer record's keys, so the Java
KCL, which checks each user record's hash against the shard it read from, never drops one.
"""

from __future__ import annotations

import base64
import hashlib
import random
import zlib
from dataclasses import dataclass, field

HASH_KEY_SPACE = 2**128
MAX_ORDERED_BUCKETS = 2**16
_RANDOM_KEY_BYTES = 9


def effective_hash_key(partition_key: str, explicit_hash_key: str | None) -> int:
    """The 128-bit hash Kinesis uses to pick a shard for a record with these keys."""
    if explicit_hash_key is not None:
        return int(explicit_hash_key)
    return int.from_bytes(hashlib.md5(partition_key.encode(), usedforsecurity=False).digest())


@dataclass(frozen=True, slots=True)
class RecordKeys:
    """The keys of one outgoing Kinesis record."""

    partition_key: str
    explicit_hash_key: str | None = None


def _random_keys(rng: random.Random) -> RecordKeys:
    return RecordKeys(base64.urlsafe_b64encode(rng.randbytes(_RANDOM_KEY_BYTES)).decode())


@dataclass(frozen=True)
class SpreadKeys:
    """Spread aggregates evenly over all shards; no ordering between events.

    Each aggregate gets a fresh random partition key (72 random bits, 12 characters), whose MD5
    is uniform over the hash key space. A random partition key rather than a random explicit
    hash key: inner records then need no explicit hash key table or index, which saves bytes.
    """

    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    ordered = False

    def keys_for(self, group: int | None = None) -> RecordKeys:
        """Keys for a new aggregate; `group` is ignored, every aggregate goes anywhere."""
        return _random_keys(self.rng)


@dataclass(frozen=True)
class OrderedKeys:
    """Keep each ordering key (e.g. a user id) on one shard, in order, while aggregating densely.

    Ordering keys are hashed (CRC-32, stable across processes) into `buckets` buckets. Bucket i
    has a fixed explicit hash key in the middle of the i-th equal slice of the hash key space,
    so buckets spread evenly over uniformly split shards, and all the users of a bucket share
    its aggregates. More buckets spread load over more shards; fewer buckets make denser
    aggregates from small batches. Records without an ordering key are spread like SpreadKeys.
    """

    buckets: int
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    _bucket_keys: tuple[RecordKeys, ...] = field(init=False, repr=False, compare=False)

    ordered = True

    def __post_init__(self) -> None:
        if not isinstance(self.buckets, int) or not 1 <= self.buckets <= MAX_ORDERED_BUCKETS:
            raise ValueError(
                f"OrderedKeys buckets must be an int in 1..{MAX_ORDERED_BUCKETS}, "
                f"got {self.buckets!r}"
            )
        step = HASH_KEY_SPACE // self.buckets
        bucket_keys = tuple(
            RecordKeys(f"b{bucket}", str(bucket * step + step // 2))
            for bucket in range(self.buckets)
        )
        object.__setattr__(self, "_bucket_keys", bucket_keys)

    def bucket_of(self, ordering_key: str) -> int:
        """The bucket an ordering key always lands in (for a given number of buckets)."""
        return zlib.crc32(ordering_key.encode()) % self.buckets

    def keys_for(self, group: int | None) -> RecordKeys:
        """Keys for a new aggregate of a bucket, or random keys for unordered records."""
        if group is None:
            return _random_keys(self.rng)
        return self._bucket_keys[group]


KeyStrategy = SpreadKeys | OrderedKeys
