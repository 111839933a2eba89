"""The trends job's settings, read from its environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from riptide import defaults
from riptide.config import EnvReader
from riptide.contract import Env


@dataclass(frozen=True, slots=True)
class TrendsSettings:
    druid_url: str
    datasource: str
    druid_secret_arn: str | None
    druid_timeout_seconds: float
    decisions_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TrendsSettings:
        """Settings from environment variables; a bad value raises ConfigurationError naming it."""
        read = EnvReader(os.environ if environ is None else environ)
        return cls(
            druid_url=read.text(Env.DRUID_URL),
            datasource=read.text(Env.DRUID_DATASOURCE, defaults.DRUID_DATASOURCE),
            druid_secret_arn=read.optional(Env.DRUID_SECRET_ARN),
            druid_timeout_seconds=read.seconds(
                Env.DRUID_TIMEOUT_SECONDS, defaults.DRUID_TIMEOUT_SECONDS
            ),
            decisions_url=read.text(Env.DECISIONS_URL),
        )
