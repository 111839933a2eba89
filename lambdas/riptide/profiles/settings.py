"""The profile functions' settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from riptide import defaults
from riptide.config import ConfigurationError, EnvReader
from riptide.contract import Env
from riptide.profiles.store import StoreLimits

_SCHEMES = ("redis://", "rediss://")


@dataclass(frozen=True)
class ProfileSettings:
    store_url: str
    store_cluster: bool
    limits: StoreLimits
    read_keys_secret_id: str | None = None
    admin_keys_secret_id: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProfileSettings:
        env = EnvReader(os.environ if environ is None else environ)
        url = env.text(Env.PROFILE_STORE_URL)
        if not url.startswith(_SCHEMES):
            raise ConfigurationError(
                f"environment variable {Env.PROFILE_STORE_URL} must start with redis:// or "
                f"rediss://, got {url.split('://')[0]!r}"
            )
        days = env.integer(Env.ANONYMOUS_PROFILE_TTL_DAYS, defaults.ANONYMOUS_PROFILE_TTL_DAYS)
        return cls(
            store_url=url,
            store_cluster=env.flag(Env.PROFILE_STORE_CLUSTER, defaults.PROFILE_STORE_CLUSTER),
            limits=StoreLimits(
                anonymous_ttl_seconds=days * 86_400, identity_cap=defaults.IDENTITY_CAP
            ),
            read_keys_secret_id=env.optional(Env.READ_KEYS_SECRET_ARN),
            admin_keys_secret_id=env.optional(Env.ADMIN_KEYS_SECRET_ARN),
        )

    def required_read_keys(self) -> str:
        if self.read_keys_secret_id is None:
            raise ConfigurationError(f"environment variable {Env.READ_KEYS_SECRET_ARN} must be set")
        return self.read_keys_secret_id
