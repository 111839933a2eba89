"""A DruidClient for a function: its Druid URL and timeout, and its user from Secrets Manager.

Shared by the consumer, the reconciler and the trends job; kept apart from their engines, so a
function that only queries Druid does not import the rollup engine at cold start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from riptide.aws import aws_client
from riptide.config import ConfigurationError
from riptide.contract import Env
from riptide.druid.client import DruidAuth, DruidClient, Timeouts


class DruidConnection(Protocol):
    """Where a function finds Druid and as whom it talks to it (its settings say)."""

    @property
    def druid_url(self) -> str: ...

    @property
    def druid_secret_arn(self) -> str | None: ...

    @property
    def druid_timeout_seconds(self) -> float: ...


def druid_client(settings: DruidConnection, secrets: Any | None = None) -> DruidClient:
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
        raise ConfigurationError(
            f"the secret named by {Env.DRUID_SECRET_ARN} must be a JSON object with "
            f'"username" and "password" ({type(error).__name__}: {error})'
        ) from None
