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

CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 5.0
RETRIES = 3
"""Bounded, jittered reconnects: a store outage fails the batch well before the Lambda timeout,
so Lambda retries it, rather than the function hanging."""

StoreError = redis.RedisError


class StoreUnavailableError(RuntimeError):
    """The store did not answer or refused a command; the work is retried, never dropped."""


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
