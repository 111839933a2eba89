"""The consumer's and reconciler's settings: read from the environment, defaults shared with
the stack, each bad value named."""

from __future__ import annotations

import pytest

from riptide.config import ConfigurationError
from riptide.contract import Env
from riptide.delivery.settings import DeliverySettings
from riptide.rollup import RollupSchema, TimePolicy

REQUIRED = {Env.DRUID_URL: "http://druid:8888", Env.OUTBOX_BUCKET: "outbox"}


def test_missing_variables_take_the_stacks_defaults():
    settings = DeliverySettings.from_env(REQUIRED)

    assert settings.datasource == "events_1m"
    assert settings.time_policy == TimePolicy(7 * 86400, 300)
    assert settings.schema == RollupSchema.from_settings(None, None)
    assert (settings.quarantine_bucket, settings.druid_secret_arn) == (None, None)


def test_every_setting_is_read():
    settings = DeliverySettings.from_env(
        {
            **REQUIRED,
            Env.DRUID_DATASOURCE: "clicks",
            Env.QUARANTINE_BUCKET: "quarantine",
            Env.DRUID_SECRET_ARN: "arn:secret",
            Env.DRUID_TIMEOUT_SECONDS: "2.5",
            Env.ROLLUP_DIMENSIONS: '{"site": "site"}',
            Env.ROLLUP_METRICS: "",
            Env.LATE_TOLERANCE_SECONDS: "3600",
            Env.FUTURE_TOLERANCE_SECONDS: " 60 ",
        }
    )

    assert settings.datasource == "clicks"
    assert settings.required_quarantine_bucket() == "quarantine"
    assert (settings.druid_secret_arn, settings.druid_timeout_seconds) == ("arn:secret", 2.5)
    assert settings.schema.druid_dimensions() == ["site"]
    assert settings.schema.metrics == RollupSchema.from_settings(None, None).metrics
    assert settings.time_policy == TimePolicy(3600, 60)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (Env.DRUID_URL, "", "environment variable DRUID_URL must be set"),
        (Env.LATE_TOLERANCE_SECONDS, "7d", "environment variable LATE_TOLERANCE_SECONDS must be "
         "an integer of at least 0, got '7d'"),
        (Env.FUTURE_TOLERANCE_SECONDS, "-1", "environment variable FUTURE_TOLERANCE_SECONDS must "
         "be an integer of at least 0, got '-1'"),
        (Env.DRUID_TIMEOUT_SECONDS, "0", "environment variable DRUID_TIMEOUT_SECONDS must be a "
         "number of seconds above 0, got '0'"),
        (Env.ROLLUP_METRICS, "[]", "metrics: expected a JSON object of name -> definition"),
    ],
)  # fmt: skip
def test_a_bad_value_is_named(name: str, value: str, message: str):
    with pytest.raises(ConfigurationError) as raised:
        DeliverySettings.from_env({**REQUIRED, name: value})

    assert str(raised.value) == message


def test_the_consumer_needs_its_quarantine_bucket():
    with pytest.raises(ConfigurationError, match="QUARANTINE_BUCKET must be set"):
        DeliverySettings.from_env(REQUIRED).required_quarantine_bucket()
