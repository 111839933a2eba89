"""The trends function's settings: the consumer's Druid settings and where documents live."""

from __future__ import annotations

import pytest

from riptide.config import ConfigurationError
from riptide.contract import Env
from riptide.trends.settings import TrendsSettings

ENVIRONMENT = {Env.DRUID_URL: "https://druid.internal:8888", Env.DECISIONS_URL: "s3://b/d"}


def test_defaults_are_the_consumers():
    settings = TrendsSettings.from_env(ENVIRONMENT)

    assert settings == TrendsSettings(
        druid_url="https://druid.internal:8888",
        datasource="events_1m",
        druid_secret_arn=None,
        druid_timeout_seconds=10.0,
        decisions_url="s3://b/d",
    )


@pytest.mark.parametrize("missing", [Env.DRUID_URL, Env.DECISIONS_URL])
def test_a_missing_setting_is_named(missing: str):
    environment = {name: value for name, value in ENVIRONMENT.items() if name != missing}

    with pytest.raises(ConfigurationError, match=missing):
        TrendsSettings.from_env(environment)
