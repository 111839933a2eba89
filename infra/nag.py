"""cdk-nag AwsSolutions checks, and each finding Riptide accepts with its reason.

Every acknowledgment sits on the narrowest construct it concerns, so a new resource with the
same weakness is still reported.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.collector import Collector
from infra.functions import VPC_ACCESS_POLICY
from infra.stack import RiptideStack
from riptide.decisions.documents import RULES_PREFIX, TRENDS_PREFIX

XRAY_REASON = (
    "X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions; "
    "CDK adds them for active tracing."
)
RUNTIME_REASON = (
    "Python 3.12 is pinned on purpose: the bundled wheels (msgspec, datasketches, numpy) are "
    "built for CPython 3.12 and the test suite runs on 3.12."
)
SECRET_ROTATION_REASON = (
    "The value is issued outside AWS (write keys handed to sites, Druid's own credentials); "
    "operators rotate it there and update the secret."
)
API_AUTHORIZATION_REASON = (
    "Clients speak the Segment HTTP Tracking API, which authenticates with a write key in "
    "Basic auth; the producer checks it against the write-keys secret before accepting events."
)
DEAD_LETTER_QUEUE_REASON = (
    "This queue is itself the dead-letter destination of the Kinesis event source mapping."
)
VPC_ACCESS_REASON = (
    "Lambda needs ENI permissions to run in the operator's subnets; the AWS-managed "
    "AWSLambdaVPCAccessExecutionRole is the documented, maintained set."
)

PUBLIC_LOAD_BALANCER_REASON = (
    "The collector's load balancer takes events from browsers and apps anywhere, like the "
    "HTTP API; tasks admit traffic from the load balancer only."
)
ACCESS_LOGS_REASON = (
    "Load balancer access logs need a bucket policy for the region's ELB account, which an "
    "environment-agnostic stack cannot name; requests, answer codes, latency and unhealthy "
    "targets are CloudWatch metrics with alarms, and the collector logs every rejected request."
)
TASK_ENVIRONMENT_REASON = (
    "The variables hold names and limits, no secret: the write keys are read from Secrets "
    "Manager at run time, as the producer Lambda does."
)
ECR_TOKEN_REASON = (
    "ecr:GetAuthorizationToken has no resource-level permissions; CDK scopes the image pull "
    "itself to the asset repository."
)


def check_with_nag(app: App, stack: RiptideStack) -> None:
    """Runs AwsSolutions on the app at synth; unacknowledged findings make synth fail."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    acknowledge_findings(stack)


def acknowledge_findings(stack: RiptideStack) -> None:
    """Acknowledges the findings Riptide accepts, each on the construct it concerns."""
    ingest, rollup = stack.ingest, stack.rollup
    functions = [rollup.consumer, rollup.reconciler]
    if ingest.producer is not None:
        functions.append(ingest.producer)
    for function in functions:
        _acknowledge(function, "AwsSolutions-L1", RUNTIME_REASON)
        _acknowledge(function.role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
    for secret in (ingest.write_keys, rollup.druid_credentials):
        _acknowledge(secret, "AwsSolutions-SMG4", SECRET_ROTATION_REASON)
    if ingest.api is not None:
        _acknowledge(ingest.api, "AwsSolutions-APIG4", API_AUTHORIZATION_REASON)
    if stack.collector is not None:
        _acknowledge_collector(stack.collector)
    _acknowledge(rollup.dead_letters, "AwsSolutions-SQS3", DEAD_LETTER_QUEUE_REASON)
    for function in (rollup.consumer, rollup.reconciler):
        _acknowledge(
            function.role,
            _objects_finding(rollup.outbox),
            "Outbox objects are keyed by Druid task id, unknown in advance; the function owns "
            "the whole bucket.",
        )
    _acknowledge(
        rollup.consumer.role,
        _objects_finding(rollup.quarantine),
        "Quarantined records are keyed by shard, sequence number and time, unknown in advance; "
        "the consumer may only put objects.",
    )
    _acknowledge_profiles(stack)
    _acknowledge_decisions(stack)
    if stack.rollup.placement:
        for function in (rollup.consumer, rollup.reconciler):
            _acknowledge(
                function.role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{VPC_ACCESS_POLICY}]",
                VPC_ACCESS_REASON,
            )


def _acknowledge_profiles(stack: RiptideStack) -> None:
    profiles = stack.profiles
    for function in (profiles.consumer, *([profiles.reader] if profiles.reader else [])):
        _acknowledge(function, "AwsSolutions-L1", RUNTIME_REASON)
        _acknowledge(function.role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        _acknowledge(
            function.role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{VPC_ACCESS_POLICY}]",
            VPC_ACCESS_REASON,
        )
    for secret in (profiles.read_keys, profiles.admin_keys):
        if secret is not None:
            _acknowledge(secret, "AwsSolutions-SMG4", SECRET_ROTATION_REASON)
    _acknowledge(profiles.dead_letters, "AwsSolutions-SQS3", DEAD_LETTER_QUEUE_REASON)
    if profiles.created_vpc:
        _acknowledge(
            profiles.node.find_child("Vpc").node.find_child("SecretsManager"),
            "AwsSolutions-EC23",
            "The Secrets Manager endpoint admits HTTPS from the VPC's own address range (CDK's "
            "default for interface endpoints); the VPC has isolated subnets only.",
        )


def _acknowledge_decisions(stack: RiptideStack) -> None:
    decisions = stack.decisions
    trends = decisions.trends
    _acknowledge(trends, "AwsSolutions-L1", RUNTIME_REASON)
    _acknowledge(trends.role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
    if decisions.placement:
        _acknowledge(
            trends.role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{VPC_ACCESS_POLICY}]",
            VPC_ACCESS_REASON,
        )
    _acknowledge(
        trends.role,
        _objects_finding(decisions.bucket, TRENDS_PREFIX),
        "Trends documents are keyed by site, and sites come and go with the traffic; the job "
        "may only put objects under trends/.",
    )
    readers = [(stack.rollup.consumer, RULES_PREFIX)]
    if decisions.context is not None:
        readers += [
            (decisions.context.function, prefix) for prefix in (RULES_PREFIX, TRENDS_PREFIX)
        ]
    for function, prefix in readers:
        _acknowledge(
            function.role,
            _objects_finding(decisions.bucket, prefix),
            f"Documents under {prefix} are keyed by site, and sites are added without a deploy; "
            f"the function may only get them.",
        )


def _acknowledge_collector(collector: Collector) -> None:
    load_balancer = collector.load_balancer
    _acknowledge(load_balancer, "AwsSolutions-ELB2", ACCESS_LOGS_REASON)
    for group in load_balancer.connections.security_groups:
        _acknowledge(group, "AwsSolutions-EC23", PUBLIC_LOAD_BALANCER_REASON)
    _acknowledge(collector.task, "AwsSolutions-ECS2", TASK_ENVIRONMENT_REASON)
    _acknowledge(collector.task.execution_role, "AwsSolutions-IAM5[Resource::*]", ECR_TOKEN_REASON)


def _objects_finding(bucket: s3.Bucket, prefix: str = "") -> str:
    """The IAM5 finding id for a grant on every object of `bucket` (under `prefix`)."""
    stack = Stack.of(bucket)
    resource = cast(CfnResource, bucket.node.default_child)
    logical_id = stack.resolve(stack.get_logical_id(resource))
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{prefix}*]"


def _acknowledge(scope: IConstruct | None, finding: str, reason: str) -> None:
    if scope is None:
        raise ValueError(f"nothing to acknowledge {finding} on")
    Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))
