"""One way to build Riptide's Lambda functions: arm64, Python 3.12, traced, own log group.

Each function gets its own role that may write only to its own log group (no managed
AWSLambdaBasicExecutionRole, whose log permissions span every log group).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.retention import log_retention
from riptide.contract import METRICS_NAMESPACE, Env

VPC_ACCESS_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"


@dataclass(frozen=True)
class VpcPlacement:
    """Where functions that must reach Druid inside a VPC run."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup


@dataclass(frozen=True)
class FunctionOptions:
    """What differs between Riptide's functions."""

    handler: str
    service: str
    description: str
    memory_mb: int
    timeout_seconds: int
    environment: dict[str, str]


def riptide_function(
    scope: Construct,
    construct_id: str,
    *,
    code: lambda_.Code,
    options: FunctionOptions,
    log_retention_days: int,
    placement: VpcPlacement | None = None,
) -> lambda_.Function:
    """A function with Powertools configured, X-Ray on, and least-privilege logging."""
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=log_retention(log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Runs the Riptide {options.service} function",
    )
    log_group.grant_write(role)
    if placement:
        role.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name(VPC_ACCESS_POLICY))
    return lambda_.Function(
        scope,
        construct_id,
        code=code,
        handler=options.handler,
        description=options.description,
        runtime=lambda_.Runtime.PYTHON_3_12,
        architecture=lambda_.Architecture.ARM_64,
        memory_size=options.memory_mb,
        timeout=Duration.seconds(options.timeout_seconds),
        tracing=lambda_.Tracing.ACTIVE,
        role=role,
        log_group=log_group,
        environment={
            **options.environment,
            Env.POWERTOOLS_SERVICE_NAME: options.service,
            Env.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        },
        vpc=placement.vpc if placement else None,
        vpc_subnets=placement.subnets if placement else None,
        security_groups=[placement.security_group] if placement else None,
    )
