"""The consumer's event source, its dead-letter queue, the buckets and the reconciler."""

from __future__ import annotations

from typing import Any

import pytest

from riptide.contract import OUTBOX_DONE_PREFIX, PROFILES
from tests.infra.synthesis import CONSUMER, DRUID_URL, RECONCILER, Synthesis


def _event_source(synthesis: Synthesis) -> dict[str, Any]:
    return synthesis.event_source_of(CONSUMER)


def test_event_source_is_bounded_and_reports_partial_failures(default: Synthesis) -> None:
    mapping = _event_source(default)
    settings = default.settings
    assert mapping["EventSourceArn"] == {
        "Fn::GetAtt": [default.ref_of("AWS::Kinesis::Stream"), "Arn"]
    }
    assert mapping["FunctionName"] == {"Ref": default.function_id(CONSUMER)}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["MaximumRetryAttempts"] == settings.retry_attempts
    assert mapping["MaximumRecordAgeInSeconds"] == settings.max_record_age_seconds
    assert mapping["TumblingWindowInSeconds"] == 60
    assert mapping["BatchSize"] == settings.batch_size
    assert mapping["MaximumBatchingWindowInSeconds"] == settings.max_batching_window_seconds
    assert mapping.get("ParallelizationFactor", 1) == 1, "the outbox needs one batch per shard"
    assert mapping["DestinationConfig"] == {
        "OnFailure": {
            "Destination": {"Fn::GetAtt": [default.ref_of("AWS::SQS::Queue", "Rollup"), "Arn"]}
        }
    }


def test_event_source_settings_come_from_the_command_line(custom: Synthesis) -> None:
    mapping = _event_source(custom)
    assert "TumblingWindowInSeconds" not in mapping
    assert mapping["BatchSize"] == 250
    assert mapping["MaximumBatchingWindowInSeconds"] == 2
    assert mapping["MaximumRetryAttempts"] == 3
    assert mapping["MaximumRecordAgeInSeconds"] == 3600


def test_dead_letter_queue_is_encrypted_and_tls_only(default: Synthesis) -> None:
    queue_id = default.ref_of("AWS::SQS::Queue", "Rollup")
    queue = default.raw["Resources"][queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 86400
    policy = default.resources("AWS::SQS::QueuePolicy")[
        default.ref_of("AWS::SQS::QueuePolicy", "Rollup")
    ]
    assert policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    assert _denies_plain_http(policy["Properties"]["PolicyDocument"])


def _denies_plain_http(document: dict[str, Any]) -> bool:
    return any(
        statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and statement["Principal"] == {"AWS": "*"}
        for statement in document["Statement"]
    )


def _bucket(synthesis: Synthesis, environment_variable: str) -> tuple[str, dict[str, Any]]:
    bucket_ref = synthesis.function(CONSUMER)["Environment"]["Variables"][environment_variable]
    bucket_id = bucket_ref["Ref"]
    return bucket_id, synthesis.raw["Resources"][bucket_id]


@pytest.mark.parametrize(
    ("environment_variable", "expiry_setting", "expiring_prefix"),
    [
        ("QUARANTINE_BUCKET", "quarantine_expiry_days", None),
        ("OUTBOX_BUCKET", "outbox_expiry_days", OUTBOX_DONE_PREFIX),
    ],
)
def test_buckets_are_private_encrypted_and_expiring(
    default: Synthesis, environment_variable: str, expiry_setting: str, expiring_prefix: str | None
) -> None:
    """Quarantined records expire; in the outbox only delivered markers do, never pending tasks."""
    bucket_id, bucket = _bucket(default, environment_variable)
    properties = bucket["Properties"]
    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == getattr(default.settings, expiry_setting)
    assert rule.get("Prefix") == expiring_prefix
    assert "LoggingConfiguration" in properties
    assert bucket["DeletionPolicy"] == "Retain"
    (policy,) = [
        policy
        for policy in default.resources("AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert _denies_plain_http(policy["Properties"]["PolicyDocument"])


def test_consumer_and_reconciler_share_the_rollup_environment(default: Synthesis) -> None:
    """The consumer also reads the rules (its experiments); the reconciler has no use for them."""
    consumer = default.function(CONSUMER)["Environment"]["Variables"]
    reconciler = default.function(RECONCILER)["Environment"]["Variables"]
    own = ("POWERTOOLS_SERVICE_NAME", "DECISIONS_URL")
    shared = {name: value for name, value in consumer.items() if name not in own}
    assert shared == {name: value for name, value in reconciler.items() if name not in own}
    assert "DECISIONS_URL" in consumer and "DECISIONS_URL" not in reconciler
    settings = default.settings
    assert consumer["DRUID_URL"] == DRUID_URL
    assert consumer["DRUID_DATASOURCE"] == settings.druid_datasource
    assert consumer["ROLLUP_DIMENSIONS"] == ""
    assert consumer["ROLLUP_METRICS"] == ""
    assert consumer["LATE_TOLERANCE_SECONDS"] == str(settings.late_tolerance_seconds)
    assert consumer["FUTURE_TOLERANCE_SECONDS"] == str(settings.future_tolerance_seconds)
    assert consumer["POWERTOOLS_METRICS_NAMESPACE"] == "Riptide"
    assert consumer["POWERTOOLS_SERVICE_NAME"] == "riptide-consumer"
    assert reconciler["POWERTOOLS_SERVICE_NAME"] == "riptide-reconciler"
    secret = default.raw["Resources"][consumer["DRUID_SECRET_ARN"]["Ref"]]
    assert secret["Properties"]["SecretString"] == "{}"


@pytest.mark.parametrize("handler", [CONSUMER, RECONCILER])
def test_rollup_functions_are_arm64_python312_traced(default: Synthesis, handler: str) -> None:
    function = default.function(handler)
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["arm64"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert "VpcConfig" not in function


def test_reconciler_runs_on_a_schedule(default: Synthesis) -> None:
    reconciler_arn = {"Fn::GetAtt": [default.function_id(RECONCILER), "Arn"]}
    (rule,) = [
        rule
        for rule in default.resources("AWS::Events::Rule").values()
        if rule["Properties"]["Targets"][0]["Arn"] == reconciler_arn
    ]
    assert rule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == reconciler_arn


@pytest.mark.parametrize("handler", [CONSUMER, RECONCILER])
def test_vpc_placement_puts_druid_clients_in_the_given_subnets(
    custom: Synthesis, handler: str
) -> None:
    assert custom.function(handler)["VpcConfig"] == {
        "SubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
        "SecurityGroupIds": ["sg-0123abcd"],
    }


def test_in_the_operators_vpc_the_rollup_consumer_asks_the_profiles_deduplication_window(
    custom: Synthesis,
) -> None:
    consumer = custom.function(CONSUMER)["Environment"]["Variables"]
    profiles = custom.function(PROFILES.handler)["Environment"]["Variables"]
    shared = ("PROFILE_STORE_URL", "PROFILE_STORE_CLUSTER", "DEDUP_WINDOW_SECONDS")
    assert {name: consumer[name] for name in shared} == {name: profiles[name] for name in shared}
    assert consumer["DEDUP_RETRY_SECONDS"] == str(custom.settings.max_record_age_seconds)


def test_outside_a_vpc_the_rollup_consumer_has_no_store_and_counts_every_copy(
    default: Synthesis,
) -> None:
    consumer = default.function(CONSUMER)["Environment"]["Variables"]
    assert "PROFILE_STORE_URL" not in consumer
    assert "VpcConfig" not in default.function(CONSUMER)
