"""The decision engine's infrastructure: the rules and trends bucket, the trends job on its
schedule, the decide route on the context Lambda, and who may read or write which documents.

One versioned bucket holds `rules/<site>.json` (written by operators) and `trends/<site>.json`
(written by the trends job each run); DECISIONS_URL names it. Grants follow the documents: the
context Lambda reads both, the trends job writes (and lists) trends only, the rollup consumer
reads rules only (it recomputes experiment arms). Readers also get s3:ListBucket on the bucket:
without it S3 answers a missing document with 403 instead of 404, which a reader cannot tell
from an outage.

The context Lambda runs beside the profile store. In the VPC the stack creates (isolated
subnets, no NAT) it reaches S3 through a gateway endpoint whose policy admits only reads of
this bucket, and Kinesis (the Decision Made events) through an interface endpoint that admits
only the profile functions' security group. In the operator's VPC, routes are the operator's.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.buckets import versioned_bucket
from infra.environment import (
    decider_environment,
    decisions_environment,
    decisions_url,
    trends_environment,
)
from infra.functions import FunctionOptions, VpcPlacement, riptide_function
from infra.settings import Settings
from riptide.contract import DECIDE_ROUTE, TRENDS
from riptide.decisions.documents import RULES_PREFIX, TRENDS_PREFIX

DOCUMENT_READ = ("s3:GetObject",)
DOCUMENT_WRITE = ("s3:PutObject",)


@dataclass(frozen=True)
class ContextApi:
    """The context Lambda and where its routes are served."""

    api: apigwv2.HttpApi
    function: lambda_.Function
    integration: apigwv2.HttpRouteIntegration


class DecisionEngine(Construct):
    """Rules and trends, the trends job, and the decide route on the context API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        code: lambda_.Code,
        stream: kinesis.IStream,
        access_logs: s3.IBucket,
        druid_credentials: secretsmanager.ISecret,
        rollup_consumer: lambda_.Function,
        placement: VpcPlacement | None,
        context: ContextApi | None,
        store_network: VpcPlacement | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = versioned_bucket(
            self,
            "Documents",
            access_logs=access_logs,
            versions_kept_days={
                RULES_PREFIX: settings.rules_versions_kept_days,
                TRENDS_PREFIX: settings.trends_versions_kept_days,
            },
        )
        self.url = decisions_url(self.bucket.bucket_name)
        self.placement = placement
        self.trends = riptide_function(
            self,
            "Trends",
            code=code,
            options=FunctionOptions(
                handler=TRENDS.handler,
                service=TRENDS.service,
                description="Writes each site's trending and top products from Druid",
                memory_mb=settings.trends_memory_mb,
                timeout_seconds=settings.trends_timeout_seconds,
                environment=trends_environment(
                    settings,
                    decisions_url=self.url,
                    druid_secret_arn=druid_credentials.secret_arn,
                ),
            ),
            log_retention_days=settings.log_retention_days,
            placement=placement,
        )
        self.trends.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[druid_credentials.secret_arn],
            )
        )
        self._allow(self.trends, DOCUMENT_WRITE, TRENDS_PREFIX)
        # It lists the trends it wrote before, so a site gone quiet gets an empty document.
        self.trends.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{TRENDS_PREFIX}*"]}},
            )
        )
        self.schedule = events.Rule(
            self,
            "TrendsSchedule",
            description="Runs the Riptide trends job",
            schedule=events.Schedule.rate(Duration.minutes(settings.trends_schedule_minutes)),
            # A missed run is made good by the next one; a retry could overlap it.
            targets=[targets.LambdaFunction(self.trends, retry_attempts=0)],
        )
        for name, value in decisions_environment(self.url).items():
            rollup_consumer.add_environment(name, value)
        self._allow_reads(rollup_consumer, RULES_PREFIX)
        self.context = context
        if context is not None:
            self._decide(settings, context, stream)
            if store_network is not None:
                self._endpoints(store_network)

    def _decide(
        self,
        settings: Settings,
        context: ContextApi,
        stream: kinesis.IStream,
    ) -> None:
        """The route, the documents, and the stream the Decision Made events are written to."""
        environment = decider_environment(
            settings, decisions_url=self.url, stream_name=stream.stream_name
        )
        for name, value in environment.items():
            context.function.add_environment(name, value)
        self._allow_reads(context.function, RULES_PREFIX, TRENDS_PREFIX)
        context.function.add_to_role_policy(
            iam.PolicyStatement(actions=["kinesis:PutRecords"], resources=[stream.stream_arn])
        )
        method, path = DECIDE_ROUTE
        context.api.add_routes(
            path=path, methods=[apigwv2.HttpMethod(method)], integration=context.integration
        )

    def _endpoints(self, network: VpcPlacement) -> None:
        """S3 (free, gateway) and Kinesis (interface, priced per zone-hour) for the isolated
        subnets the context Lambda runs in."""
        self.s3_endpoint = ec2.GatewayVpcEndpoint(
            self,
            "S3Endpoint",
            vpc=network.vpc,
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[network.subnets],
        )
        self.s3_endpoint.add_to_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=[*DOCUMENT_READ, "s3:ListBucket"],
                resources=[
                    self.bucket.bucket_arn,
                    self.bucket.arn_for_objects(f"{RULES_PREFIX}*"),
                    self.bucket.arn_for_objects(f"{TRENDS_PREFIX}*"),
                ],
            )
        )
        self.kinesis_endpoint = ec2.InterfaceVpcEndpoint(
            self,
            "KinesisEndpoint",
            vpc=network.vpc,
            service=ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
            subnets=network.subnets,
            open=False,
        )
        self.kinesis_endpoint.connections.allow_default_port_from(
            network.security_group, "Riptide context function writes Decision Made events"
        )

    def _allow_reads(self, function: lambda_.Function, *prefixes: str) -> None:
        self._allow(function, DOCUMENT_READ, *prefixes)
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )

    def _allow(self, function: lambda_.Function, actions: tuple[str, ...], *prefixes: str) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(actions),
                resources=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
            )
        )
