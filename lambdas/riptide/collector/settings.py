"""The collector's own settings, read from the environment next to the producer's."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from riptide.config import EnvReader
from riptide.contract import MAX_BYTES_PER_PUT, Env

DEFAULT_LINGER_MS = 15
DEFAULT_MAX_WAITING_BYTES = 64 * 1024 * 1024
DEFAULT_PUBLISH_BUDGET_SECONDS = 10.0
PUBLISHERS = 4
"""PutRecords flushes in flight at once per process; more wait their turn."""


@dataclass(frozen=True)
class CollectorSettings:
    linger_seconds: float = DEFAULT_LINGER_MS / 1000
    """How long the first event of a flush may wait for others to share its records."""
    max_waiting_bytes: int = DEFAULT_MAX_WAITING_BYTES
    """Event bytes waiting for Kinesis (lingering or in flight); past it requests get 503."""
    publish_budget_seconds: float = DEFAULT_PUBLISH_BUDGET_SECONDS
    """How long one flush may retry PutRecords before its requests are answered 503 or 429."""
    flush_bytes: int = MAX_BYTES_PER_PUT
    """A flush starts at once when this much is waiting: a full PutRecords call."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CollectorSettings:
        """Settings from environment variables; a bad value raises ConfigurationError naming it."""
        read = EnvReader(os.environ if environ is None else environ)
        return cls(
            linger_seconds=read.integer(
                Env.COLLECTOR_LINGER_MS, DEFAULT_LINGER_MS, minimum=0, maximum=1000
            )
            / 1000,
            max_waiting_bytes=read.integer(
                Env.COLLECTOR_MAX_WAITING_BYTES, DEFAULT_MAX_WAITING_BYTES, minimum=1_048_576
            ),
            publish_budget_seconds=read.seconds(
                Env.COLLECTOR_PUBLISH_BUDGET_SECONDS, DEFAULT_PUBLISH_BUDGET_SECONDS
            ),
        )
