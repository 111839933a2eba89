"""The deduplication window's settings and its wiring, shared by every consumer that asks it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riptide import defaults
from riptide.config import EnvReader
from riptide.contract import Env
from riptide.dedup.window import DedupWindow, WindowLength
from riptide.store import connect, store_url


@dataclass(frozen=True, slots=True)
class DedupSettings:
    store_url: str
    store_cluster: bool
    length: WindowLength

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DedupSettings:
        """Settings from environment variables; a bad value raises ConfigurationError naming it."""
        read = EnvReader(os.environ if environ is None else environ)
        return cls(
            store_url=store_url(read),
            store_cluster=read.flag(Env.PROFILE_STORE_CLUSTER, defaults.PROFILE_STORE_CLUSTER),
            length=WindowLength(
                window_seconds=read.integer(
                    Env.DEDUP_WINDOW_SECONDS, defaults.DEDUP_WINDOW_SECONDS
                ),
                retry_seconds=read.integer(
                    Env.DEDUP_RETRY_SECONDS, defaults.DEDUP_RETRY_SECONDS, minimum=0
                ),
            ),
        )


def compose_optional_dedup_window() -> DedupWindow | None:
    """The window when the function is given a store, else None: every copy then counts.

    The rollup consumer reaches the store only where it shares the store's network (the
    operator's VPC); the profile consumer always has it.
    """
    if not os.environ.get(Env.PROFILE_STORE_URL, "").strip():
        return None
    return compose_dedup_window()


def compose_dedup_window(client: Any = None) -> DedupWindow:
    """The window from the environment, on `client` when the caller already holds one."""
    settings = DedupSettings.from_env()
    if client is None:
        client = connect(settings.store_url, cluster=settings.store_cluster)
    return DedupWindow(client, settings.length)
