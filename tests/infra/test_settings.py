"""Settings: parsing from cdk.json and the command line, validation messages, the docs table."""

from __future__ import annotations

from typing import Any

import pytest

from infra.retention import log_retention
from infra.settings import LOG_RETENTION_DAYS, Settings, settings_table
from riptide.config import ConfigurationError
from tests.infra.synthesis import CDK_JSON_CONTEXT, DRUID_URL, ROOT

VALID = {"druidUrl": DRUID_URL}


def settings(**overrides: Any) -> Settings:
    return Settings.from_context({**VALID, **overrides})


def test_defaults_are_valid_and_secure() -> None:
    defaults = settings()
    assert defaults.stream_mode == "provisioned"
    assert defaults.truncate_ip is True
    assert defaults.producer_timeout_seconds < 30
    assert defaults.tumbling_window_seconds == 60
    assert defaults.in_vpc is False


def test_command_line_strings_are_parsed() -> None:
    parsed = settings(
        shardCount="8",
        partitionBuckets="8",
        truncateIp="False",
        corsAllowOrigins="https://a.example.com, https://b.example.com",
        vpcSubnetIds="subnet-0aaa1111,subnet-0bbb2222",
        vpcId="vpc-0abc12345",
        vpcSecurityGroupId="sg-0123abcd",
    )
    assert parsed.shard_count == 8
    assert parsed.truncate_ip is False
    assert parsed.cors_allow_origins == ("https://a.example.com", "https://b.example.com")
    assert parsed.vpc_subnet_ids == ("subnet-0aaa1111", "subnet-0bbb2222")
    assert parsed.in_vpc


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"shardCount": "0"}, "shardCount must be at least 1, got 0"),
        ({"shardCount": "two"}, "shardCount must be a whole number, got 'two'"),
        ({"shardCount": True}, "shardCount must be a whole number, got True"),
        ({"producerTimeoutSeconds": "30"}, "producerTimeoutSeconds must be at most 29, got 30"),
        ({"streamMode": "serverless"}, "streamMode must be one of provisioned, on_demand"),
        ({"truncateIp": "yes"}, "truncateIp must be true or false, got 'yes'"),
        ({"druidUrl": None}, "druidUrl must be set"),
        ({"druidUrl": "druid:8888"}, "druidUrl must be an http:// or https:// URL"),
        (
            {"rollupDimensions": "{country"},
            "rollupDimensions must be an object in JSON, got invalid",
        ),
        ({"rollupMetrics": '["events"]'}, "rollupMetrics must be an object in JSON"),
        ({"logRetentionDays": "10"}, "logRetentionDays must be one of 1, 3, 5"),
        ({"corsAllowOrigins": "shop.example.com"}, "corsAllowOrigins must be * or an origin"),
        ({"tumblingWindowSeconds": "901"}, "tumblingWindowSeconds must be at most 900, got 901"),
        ({"maxRecordAgeSeconds": "59"}, "maxRecordAgeSeconds must be at least 60, got 59"),
        ({"alarmTopicArn": "riptide-alarms"}, "alarmTopicArn must be an SNS topic ARN"),
        ({"vpcSubnetIds": "subnet-0aaa1111,net-2"}, "vpcSubnetIds must be subnet ids"),
        (
            {"maxEventBytes": "65536", "maxBatchBytes": "32768"},
            "maxEventBytes (65536) must not exceed maxBatchBytes (32768)",
        ),
        (
            {"maxRecordAgeSeconds": "172800"},
            "maxRecordAgeSeconds (172800) must not exceed the stream retention",
        ),
        (
            {
                "outboxExpiryDays": "1",
                "streamRetentionHours": "48",
                "maxRecordAgeSeconds": "100000",
            },
            "outboxExpiryDays (1) must cover the stream retention (streamRetentionHours=48",
        ),
        (
            {"outboxExpiryDays": "6", "streamRetentionHours": "168"},
            "outboxExpiryDays (6) must cover the stream retention (streamRetentionHours=168",
        ),
        (
            {"shardCount": "100", "partitionStrategy": "user"},
            "partitionBuckets (64) must be at least shardCount (100)",
        ),
        ({"vpcSubnetIds": "subnet-0aaa1111"}, "vpcId, vpcSubnetIds and vpcSecurityGroupId must"),
        (
            {"trendsScheduleMinutes": "1", "trendsTimeoutSeconds": "61"},
            "trendsTimeoutSeconds (61) must not exceed the trends schedule "
            "(trendsScheduleMinutes=1), or runs overlap",
        ),
        (
            {"trendsQueryTimeoutSeconds": "50"},
            "trendsQueryTimeoutSeconds (50) must be below trendsTimeoutSeconds (50)",
        ),
        ({"trendsScheduleMinutes": "0"}, "trendsScheduleMinutes must be at least 1, got 0"),
    ],
)
def test_invalid_setting_is_named_in_the_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        settings(**overrides)
    assert message in str(raised.value)


def test_every_invalid_setting_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as raised:
        settings(shardCount="0", batchSize="20000", streamMode="x")
    lines = str(raised.value).splitlines()[1:]
    assert [line.split()[1] for line in lines] == ["streamMode", "shardCount", "batchSize"]


def test_a_longer_trends_schedule_allows_a_longer_run() -> None:
    slow = settings(trendsScheduleMinutes="5", trendsTimeoutSeconds="300")
    assert (slow.trends_schedule_minutes, slow.trends_timeout_seconds) == (5, 300)


def test_partition_buckets_per_shard_only_matter_when_ordering_by_user() -> None:
    assert settings(shardCount="100").partition_strategy == "spread"
    assert settings(streamMode="on_demand", shardCount="100", partitionStrategy="user")


def test_cdk_json_holds_exactly_the_model_defaults() -> None:
    documented = {key: value for key, value in CDK_JSON_CONTEXT.items() if not key.startswith("@")}
    expected = {
        spec.key: list(spec.default) if isinstance(spec.default, tuple) else spec.default
        for _, spec in Settings.specs()
        if not spec.required
    }
    assert documented == expected


def test_every_allowed_log_retention_maps_to_a_cloudwatch_retention() -> None:
    assert len({log_retention(days) for days in LOG_RETENTION_DAYS}) == len(LOG_RETENTION_DAYS)


def test_settings_table_lists_every_setting_once() -> None:
    rows = settings_table().splitlines()[2:]
    assert [row.split("|")[1].strip(" `") for row in rows] == [
        spec.key for _, spec in Settings.specs()
    ]


def test_readme_has_the_current_settings_table() -> None:
    readme = ROOT / "README.md"
    table = settings_table()
    assert readme.exists() and table in readme.read_text(), (
        "README.md lacks the current settings table; regenerate it with "
        "`.venv/bin/python -m infra.settings` and paste the output into README.md"
    )
