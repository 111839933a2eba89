"""The profile functions' wiring: settings, the store client and the engines, built on first use."""

from __future__ import annotations

from riptide.ingest.config import WRITE_KEYS_MAX_AGE_SECONDS
from riptide.ingest.service import secrets_manager_client
from riptide.ingest.write_keys import WriteKeyRegistry
from riptide.profiles.consumer import ProfileConsumer
from riptide.profiles.reads import ProfileReads
from riptide.profiles.settings import ProfileSettings
from riptide.profiles.store import ProfileStore
from riptide.store import connect


def compose_profile_store(settings: ProfileSettings | None = None) -> ProfileStore:
    settings = settings or ProfileSettings.from_env()
    client = connect(settings.store_url, cluster=settings.store_cluster)
    return ProfileStore(client, settings.limits)


def compose_profile_consumer() -> ProfileConsumer:
    return ProfileConsumer(compose_profile_store())


def compose_profile_reads() -> ProfileReads:
    """The read API's core: the store plus the read keys and (if configured) the admin keys."""
    settings = ProfileSettings.from_env()

    def registry(secret_id: str, kind: str) -> WriteKeyRegistry:
        return WriteKeyRegistry(
            secret_id, secrets_manager_client, WRITE_KEYS_MAX_AGE_SECONDS, kind=kind
        )

    admin = settings.admin_keys_secret_id
    return ProfileReads(
        compose_profile_store(settings),
        registry(settings.required_read_keys(), "read"),
        registry(admin, "admin") if admin else None,
    )
