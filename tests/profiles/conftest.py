"""A real Valkey-compatible store (scripts/valkey start), a fresh site per test, and the profile
consumer and store wired to it. Tests never flush the server: each works under its own site, so
they share the server with anything else that uses it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from riptide.profiles import ProfileConsumer, ProfileStore, StoreLimits
from riptide.store import SiteKeys, connect

LIMITS = StoreLimits(anonymous_ttl_seconds=30 * 86_400, identity_cap=25)


def store_url() -> str:
    return f"redis://127.0.0.1:{os.environ.get('RIPTIDE_VALKEY_PORT', '6390')}/0"


@pytest.fixture(scope="session")
def store_client() -> Iterator[Any]:
    client = connect(store_url())
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"no store at {store_url()} ({error}); run: scripts/valkey start")
    yield client
    client.close()


@pytest.fixture
def site() -> str:
    return f"site-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def profile_store(store_client: Any) -> ProfileStore:
    return ProfileStore(store_client, LIMITS)


@pytest.fixture
def consumer(profile_store: ProfileStore) -> ProfileConsumer:
    return ProfileConsumer(profile_store, chunk_events=7)


def site_state(client: Any, site: str) -> dict[bytes, bytes]:
    """Every key of the site and its value: what a replay must leave unchanged."""
    keys = sorted(client.scan_iter(match=SiteKeys(site).prefix.replace("{", "\\{") + "*"))
    return dict(zip(keys, client.mget(keys), strict=True)) if keys else {}
