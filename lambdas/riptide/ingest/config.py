"""Producer settings, read from the environment once, on first use rather than at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from riptide import env
from riptide.ingest.exceptions import ConfigurationError
from riptide.kpl.keys import MAX_ORDERED_BUCKETS

DEFAULT_MAX_BATCH_BYTES = 500 * 1024
DEFAULT_MAX_BATCH_EVENTS = 2_500
DEFAULT_MAX_EVENT_BYTES = 32 * 1024
"""Segment's documented limits: 500 KB and 2,500 events per batch, 32 KB per event."""

DEFAULT_PARTITION_BUCKETS = 64
WRITE_KEYS_MAX_AGE_SECONDS = 300
"""How long a loaded set of write keys is trusted; a new key works at most this long after."""


class PartitionStrategy(StrEnum):
    SPREAD = "spread"
    """Aggregates go to random shards: densest packing, no ordering."""
    USER = "user"
    """Each user's events stay on one shard, in order (ordering key: userId else anonymousId)."""


@dataclass(frozen=True)
class IngestSettings:
    stream_name: str
    write_keys_secret_id: str
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES
    max_batch_events: int = DEFAULT_MAX_BATCH_EVENTS
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    truncate_ip: bool = False
    partition_strategy: PartitionStrategy = PartitionStrategy.SPREAD
    partition_buckets: int = DEFAULT_PARTITION_BUCKETS
    write_keys_max_age_seconds: int = WRITE_KEYS_MAX_AGE_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IngestSettings:
        """Settings from environment variables; a bad value raises ConfigurationError naming it."""
        environ = os.environ if environ is None else environ
        return cls(
            stream_name=_required(environ, env.STREAM_NAME),
            write_keys_secret_id=_required(environ, env.WRITE_KEYS_SECRET_ARN),
            max_batch_bytes=_positive_int(environ, env.MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_BYTES),
            max_batch_events=_positive_int(environ, env.MAX_BATCH_EVENTS, DEFAULT_MAX_BATCH_EVENTS),
            max_event_bytes=_positive_int(environ, env.MAX_EVENT_BYTES, DEFAULT_MAX_EVENT_BYTES),
            truncate_ip=_flag(environ, env.TRUNCATE_IP),
            partition_strategy=_strategy(environ),
            partition_buckets=_positive_int(
                environ, env.PARTITION_BUCKETS, DEFAULT_PARTITION_BUCKETS, MAX_ORDERED_BUCKETS
            ),
        )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} must be set")
    return value


def _positive_int(
    environ: Mapping[str, str], name: str, default: int, maximum: int | None = None
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        upper = f" of at most {maximum}" if maximum is not None else ""
        raise ConfigurationError(
            f"environment variable {name} must be a positive integer{upper}, got {raw!r}"
        )
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise ConfigurationError(f"environment variable {name} must be true or false, got {raw!r}")


def _strategy(environ: Mapping[str, str]) -> PartitionStrategy:
    raw = environ.get(env.PARTITION_STRATEGY, "").strip().lower() or PartitionStrategy.SPREAD
    try:
        return PartitionStrategy(raw)
    except ValueError:
        choices = ", ".join(strategy.value for strategy in PartitionStrategy)
        raise ConfigurationError(
            f"environment variable {env.PARTITION_STRATEGY} must be one of {choices}, got {raw!r}"
        ) from None
