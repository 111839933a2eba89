"""The consumer's and reconciler's settings, read from their environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from riptide import defaults
from riptide.config import ConfigurationError, EnvReader
from riptide.contract import Env
from riptide.rollup import RollupSchema, TimePolicy


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    druid_url: str
    datasource: str
    outbox_bucket: str
    quarantine_bucket: str | None
    druid_secret_arn: str | None
    druid_timeout_seconds: float
    schema: RollupSchema
    time_policy: TimePolicy
    decisions_url: str | None = None
    """Where the sites' rules are: their experiments fill the `variant` dimension."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeliverySettings:
        """Settings from environment variables; a bad value raises ConfigurationError naming it."""
        read = EnvReader(os.environ if environ is None else environ)
        return cls(
            druid_url=read.text(Env.DRUID_URL),
            datasource=read.text(Env.DRUID_DATASOURCE, defaults.DRUID_DATASOURCE),
            outbox_bucket=read.text(Env.OUTBOX_BUCKET),
            quarantine_bucket=read.optional(Env.QUARANTINE_BUCKET),
            druid_secret_arn=read.optional(Env.DRUID_SECRET_ARN),
            druid_timeout_seconds=read.seconds(
                Env.DRUID_TIMEOUT_SECONDS, defaults.DRUID_TIMEOUT_SECONDS
            ),
            schema=RollupSchema.from_settings(
                read.optional(Env.ROLLUP_DIMENSIONS), read.optional(Env.ROLLUP_METRICS)
            ),
            time_policy=TimePolicy(
                late_tolerance_seconds=read.integer(
                    Env.LATE_TOLERANCE_SECONDS, defaults.LATE_TOLERANCE_SECONDS, minimum=0
                ),
                future_tolerance_seconds=read.integer(
                    Env.FUTURE_TOLERANCE_SECONDS, defaults.FUTURE_TOLERANCE_SECONDS, minimum=0
                ),
            ),
            decisions_url=read.optional(Env.DECISIONS_URL),
        )

    def required_quarantine_bucket(self) -> str:
        """The consumer needs the quarantine bucket; the reconciler does not."""
        if not self.quarantine_bucket:
            raise ConfigurationError(f"environment variable {Env.QUARANTINE_BUCKET} must be set")
        return self.quarantine_bucket
