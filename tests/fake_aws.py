"""Fake credentials and a region for moto, so that no test can reach a real AWS account."""

import pytest

REGION = "eu-west-1"


def use_fake_aws_credentials(patch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        patch.setenv(name, value)
