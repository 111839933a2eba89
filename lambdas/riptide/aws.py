"""AWS clients as every function makes them: short timeouts and bounded retries."""

from __future__ import annotations

from typing import Any


def aws_client(service: str) -> Any:
    """A client with short timeouts and bounded retries: a slow call must fail well before the
    Lambda timeout (for the consumer, one that ran out would lose the window state)."""
    import boto3  # deferred: boto3 costs about 0.3 s to import, paid on first use only
    from botocore.config import Config

    return boto3.client(
        service,
        config=Config(
            connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
        ),
    )
