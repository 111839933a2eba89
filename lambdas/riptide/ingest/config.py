"""Producer settings, read from the environment once, on first use rather than at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from riptide import defaults
from riptide.config import EnvReader
from riptide.contract import Env
from riptide.kpl.keys import MAX_ORDERED_BUCKETS

WRITE_KEYS_MAX_AGE_SECONDS = 300
"""How long a loaded set of write keys is trusted; a new key works at most this long after."""


class PartitionStrategy(StrEnum):
    SPREAD = "spread"
    """Aggregates go to random shards: densest packing, no ordering."""
    USER = "user"
    """Each user's events stay on one shard, in order (ordering key: userId else anonymousId)."""


DEFAULT_PARTITION_STRATEGY = PartitionStrategy(defaults.PARTITION_STRATEGY)


@dataclass(frozen=True)
class IngestSettings:
    stream_name: str
    write_keys_secret_id: str
    max_batch_bytes: int = defaults.MAX_BATCH_BYTES
    max_batch_events: int = defaults.MAX_BATCH_EVENTS
    max_event_bytes: int = defaults.MAX_EVENT_BYTES
    truncate_ip: bool = defaults.TRUNCATE_IP
    partition_strategy: PartitionStrategy = DEFAULT_PARTITION_STRATEGY
    partition_buckets: int = defaults.PARTITION_BUCKETS
    write_keys_max_age_seconds: int = WRITE_KEYS_MAX_AGE_SECONDS

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, takes_requests: bool = True
    ) -> IngestSettings:
        """Settings from environment variables; a bad value raises ConfigurationError naming it.

        A function that only writes events of its own (`takes_requests=False`, the decider)
        authenticates no client by write key, so it needs no write keys secret.
        """
        read = EnvReader(os.environ if environ is None else environ)
        strategies = tuple(strategy.value for strategy in PartitionStrategy)
        return cls(
            stream_name=read.text(Env.STREAM_NAME),
            write_keys_secret_id=(read.text(Env.WRITE_KEYS_SECRET_ARN) if takes_requests else ""),
            max_batch_bytes=read.integer(Env.MAX_BATCH_BYTES, defaults.MAX_BATCH_BYTES),
            max_batch_events=read.integer(Env.MAX_BATCH_EVENTS, defaults.MAX_BATCH_EVENTS),
            max_event_bytes=read.integer(Env.MAX_EVENT_BYTES, defaults.MAX_EVENT_BYTES),
            truncate_ip=read.flag(Env.TRUNCATE_IP, defaults.TRUNCATE_IP),
            partition_strategy=PartitionStrategy(
                read.choice(Env.PARTITION_STRATEGY, defaults.PARTITION_STRATEGY, strategies)
            ),
            partition_buckets=read.integer(
                Env.PARTITION_BUCKETS, defaults.PARTITION_BUCKETS, maximum=MAX_ORDERED_BUCKETS
            ),
        )
