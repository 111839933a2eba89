"""Least privilege: each role may do exactly what its function needs."""

from __future__ import annotations

import pytest

from riptide.contract import CONTEXT, TRENDS
from tests.infra.synthesis import CONSUMER, PRODUCER, RECONCILER, Synthesis

LOGGING = {"logs:CreateLogStream", "logs:PutLogEvents"}
TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
STREAM_READ = {
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:DescribeStreamConsumer",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:ListStreams",
    "kinesis:SubscribeToShard",
}
OUTBOX_WRITE_AHEAD = {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
OUTBOX_RETIRE = OUTBOX_WRITE_AHEAD | {"s3:DeleteObject"}


def test_producer_may_only_write_the_stream_and_read_write_keys(default: Synthesis) -> None:
    assert default.actions_of(PRODUCER) == LOGGING | TRACING | {
        "kinesis:PutRecords",
        "secretsmanager:GetSecretValue",
    }


def test_consumer_reads_the_stream_but_cannot_write_it(default: Synthesis) -> None:
    actions = default.actions_of(CONSUMER)
    assert not {action for action in actions if action.startswith("kinesis:Put")}
    assert actions == LOGGING | TRACING | STREAM_READ | OUTBOX_WRITE_AHEAD | {
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }


def test_reconciler_only_uses_the_outbox_and_druid_secret(default: Synthesis) -> None:
    assert default.actions_of(RECONCILER) == LOGGING | TRACING | OUTBOX_RETIRE | {
        "secretsmanager:GetSecretValue"
    }


def _resources_for(synthesis: Synthesis, handler: str, action: str) -> list[object]:
    return [
        statement["Resource"]
        for statement in synthesis.statements_of(handler)
        if action in statement["Action"]
    ]


def test_stream_permissions_are_scoped_to_the_stream(default: Synthesis) -> None:
    stream_arn = {"Fn::GetAtt": [default.ref_of("AWS::Kinesis::Stream"), "Arn"]}
    assert _resources_for(default, PRODUCER, "kinesis:PutRecords") == [stream_arn]
    assert _resources_for(default, CONSUMER, "kinesis:GetRecords") == [stream_arn]


def test_each_secret_is_readable_only_by_its_users(default: Synthesis) -> None:
    write_keys = _resources_for(default, PRODUCER, "secretsmanager:GetSecretValue")
    druid = _resources_for(default, CONSUMER, "secretsmanager:GetSecretValue")
    assert druid == _resources_for(default, RECONCILER, "secretsmanager:GetSecretValue")
    assert len(write_keys) == len(druid) == 1
    assert write_keys != druid


def test_quarantine_is_write_only_for_the_consumer(default: Synthesis) -> None:
    quarantine = default.function(CONSUMER)["Environment"]["Variables"]["QUARANTINE_BUCKET"]
    statements = [
        statement
        for statement in default.statements_of(CONSUMER)
        if quarantine["Ref"] in str(statement["Resource"])
    ]
    assert [statement["Action"] for statement in statements] == ["s3:PutObject"]


@pytest.mark.parametrize("handler", [PRODUCER, CONSUMER, RECONCILER, TRENDS.handler])
def test_roles_have_no_wildcard_actions_and_no_managed_policies(
    default: Synthesis, handler: str
) -> None:
    assert not [action for action in default.actions_of(handler) if "*" in action]
    _, role = default.role_of(handler)
    assert "ManagedPolicyArns" not in role


@pytest.mark.parametrize(
    "handler", [PRODUCER, CONSUMER, RECONCILER, CONTEXT.handler, TRENDS.handler]
)
def test_only_tracing_is_granted_on_every_resource(default: Synthesis, handler: str) -> None:
    unscoped = [
        statement["Action"]
        for statement in default.statements_of(handler)
        if statement["Resource"] == "*"
    ]
    assert [set(actions) for actions in unscoped] == [TRACING]


def test_in_a_vpc_only_druid_clients_get_network_interface_rights(custom: Synthesis) -> None:
    for handler in (CONSUMER, RECONCILER):
        _, role = custom.role_of(handler)
        (policy_arn,) = role["ManagedPolicyArns"]
        assert "service-role/AWSLambdaVPCAccessExecutionRole" in str(policy_arn)
    _, producer_role = custom.role_of(PRODUCER)
    assert "ManagedPolicyArns" not in producer_role
