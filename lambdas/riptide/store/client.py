"""One way to reach the store: a client built from PROFILE_STORE_URL, with bounded timeouts.

`redis://` locally, `rediss://` (TLS) for ElastiCache. With `cluster` the client follows the
cluster's slot map (ElastiCache Serverless answers in cluster mode); scripts are loaded on
every primary and each call goes to the node owning its keys' slot.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from riptide.config import ConfigurationError, EnvReader
from riptide.contract import Env

CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 5.0
RETRIES = 3
"""Bounded, jittered reconnects: a store outage fails the batch well before the Lambda timeout,
so Lambda retries it, rather than the function hanging."""

StoreError = redis.RedisError
SCHEMES = ("redis://", "rediss://")


class StoreUnavailableError(RuntimeError):
    """The store did not answer or refused a command; the work is retried, never dropped."""


def store_url(read: EnvReader) -> str:
    """The store's URL from PROFILE_STORE_URL, which every function that reaches the store takes."""
    url = read.text(Env.PROFILE_STORE_URL)
    if not url.startswith(SCHEMES):
        raise ConfigurationError(
            f"environment variable {Env.PROFILE_STORE_URL} must start with redis:// or "
            f"rediss://, got {url.split('://')[0]!r}"
        )
    return url


def connect(url: str, *, cluster: bool = False) -> Any:
    """A client for `url` (redis:// or rediss://); a RedisCluster client when `cluster`."""
    options: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": COMMAND_TIMEOUT_SECONDS,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), RETRIES),
        "decode_responses": False,
    }
    if cluster:
        return redis.RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, health_check_interval=30, **options)
