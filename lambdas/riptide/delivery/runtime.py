"""Settings and clients of the consumer and reconciler functions, built on first use.

Nothing here runs at import: the handlers call these once per execution environment and
keep the results, so a cold start pays for boto3 and the secret once and a warm one not at all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riptide import env
from riptide.druid import DruidAuth, DruidClient, Timeouts

DEFAULT_DRUID_TIMEOUT_SECONDS = 10.0


class SettingsError(ValueError):
    """A required environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    druid_url: str
    datasource: str
    outbox_bucket: str
    quarantine_bucket: str | None
    druid_secret_arn: str | None
    druid_timeout_seconds: float
    dimensions_json: str | None
    metrics_json: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DeliverySettings:
        return cls(
            druid_url=_required(environ, env.DRUID_URL),
            datasource=_required(environ, env.DRUID_DATASOURCE),
            outbox_bucket=_required(environ, env.OUTBOX_BUCKET),
            quarantine_bucket=environ.get(env.QUARANTINE_BUCKET) or None,
            druid_secret_arn=environ.get(env.DRUID_SECRET_ARN) or None,
            druid_timeout_seconds=_positive_float(
                environ, env.DRUID_TIMEOUT_SECONDS, DEFAULT_DRUID_TIMEOUT_SECONDS
            ),
            dimensions_json=environ.get(env.ROLLUP_DIMENSIONS) or None,
            metrics_json=environ.get(env.ROLLUP_METRICS) or None,
        )

    def required_quarantine_bucket(self) -> str:
        if not self.quarantine_bucket:
            raise SettingsError(f"{env.QUARANTINE_BUCKET}: required, but not set")
        return self.quarantine_bucket


def druid_client(settings: DeliverySettings, secrets: Any | None = None) -> DruidClient:
    """A client for the configured Druid, with the Basic-auth user from Secrets Manager if set."""
    auth = None
    if settings.druid_secret_arn:
        secrets = secrets or aws_client("secretsmanager")
        auth = druid_auth(secrets.get_secret_value(SecretId=settings.druid_secret_arn))
    read = settings.druid_timeout_seconds
    return DruidClient(
        settings.druid_url,
        auth,
        timeouts=Timeouts(connect_seconds=min(3.0, read), read_seconds=read),
    )


def druid_auth(secret_value: Mapping[str, Any]) -> DruidAuth | None:
    """Credentials from a GetSecretValue answer holding {"username": ..., "password": ...}.

    The stack creates the secret as {}, which stands for a Druid without authentication.
    """
    try:
        secret = json.loads(secret_value["SecretString"])
        if secret == {}:
            return None
        return DruidAuth(username=secret["username"], password=secret["password"])
    except (KeyError, TypeError, ValueError) as error:
        raise SettingsError(
            f"{env.DRUID_SECRET_ARN}: the secret must be a JSON object with "
            f'"username" and "password" ({type(error).__name__}: {error})'
        ) from None


def aws_client(service: str) -> Any:
    """A client with short timeouts and bounded retries: a slow S3 must fail the batch (to be
    redelivered) well before the Lambda timeout, which would lose the window state."""
    import boto3  # deferred: boto3 costs about 0.3 s to import, paid on first use only
    from botocore.config import Config

    return boto3.client(
        service,
        config=Config(
            connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
        ),
    )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name}: required, but not set")
    return value


def _positive_float(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}: expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise SettingsError(f"{name}: expected a number of seconds > 0, got {text!r}")
    return value
