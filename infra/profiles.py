"""The profiles side: the Valkey store (ElastiCache Serverless), the profile consumer on the
stream, the read API's function and routes, the read and admin key secrets.

The store lives in a VPC: the operator's (vpcId, vpcSubnetIds, vpcSecurityGroupId) when set,
else one the stack creates with isolated subnets in two zones, flow logs and the one interface
endpoint the functions need (Secrets Manager, for the read API's keys). ElastiCache Serverless
answers only over TLS and in cluster mode: the functions get a rediss:// URL and
PROFILE_STORE_CLUSTER=true.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Fn, RemovalPolicy, SecretValue
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.environment import profiles_environment, store_environment
from infra.functions import FunctionOptions, VpcPlacement, riptide_function
from infra.retention import log_retention
from infra.settings import Settings
from infra.stream_consumer import bounded_stream_source, dead_letter_queue
from riptide.contract import CONTEXT, PROFILE_ROUTES, PROFILES

STORE_PORT = 6379
READER_PORT = 6380
"""ElastiCache Serverless serves writes on 6379 and reads from replicas on 6380."""


@dataclass(frozen=True)
class NetworkPlacement:
    """Where the profile functions run, and the subnets the store takes addresses in."""

    functions: VpcPlacement
    subnet_ids: list[str]


class ProfilePipeline(Construct):
    """Keeps a profile per shopper fresh from the stream and serves it over the HTTP API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        code: lambda_.Code,
        stream: kinesis.IStream,
        api: apigwv2.HttpApi | None,
        placement: VpcPlacement | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.created_vpc = placement is None
        self.network = (
            NetworkPlacement(placement, list(settings.vpc_subnet_ids))
            if placement
            else self._own_network(settings)
        )
        functions_placement = self.network.functions
        self.cache_security_group = ec2.SecurityGroup(
            self,
            "StoreAccess",
            vpc=functions_placement.vpc,
            description="Riptide profile store: reachable from the profile functions only",
            allow_all_outbound=False,
        )
        for port in (STORE_PORT, READER_PORT):
            self.cache_security_group.add_ingress_rule(
                functions_placement.security_group, ec2.Port.tcp(port), "Riptide profile functions"
            )
        self.store = elasticache.CfnServerlessCache(
            self,
            "Store",
            engine="valkey",
            serverless_cache_name=f"{settings.stack_name.lower()}-profiles",
            description="Riptide profiles and identity links",
            major_engine_version="8",
            security_group_ids=[self.cache_security_group.security_group_id],
            subnet_ids=self.network.subnet_ids,
        )
        store_url = Fn.join(
            "", ["rediss://", self.store.attr_endpoint_address, ":", self.store.attr_endpoint_port]
        )
        self.dead_letters = dead_letter_queue(self, "DeadLetters")
        self.store_environment = store_environment(
            settings, store_url=store_url, store_cluster=True
        )
        """What a function needs to reach the store and its deduplication window."""
        environment = profiles_environment(settings, store_url=store_url, store_cluster=True)
        self.consumer = riptide_function(
            self,
            "Consumer",
            code=code,
            options=FunctionOptions(
                handler=PROFILES.handler,
                service=PROFILES.service,
                description="Updates each shopper's profile from the stream, exactly once",
                memory_mb=settings.profile_memory_mb,
                timeout_seconds=settings.profile_timeout_seconds,
                environment=environment,
            ),
            log_retention_days=settings.log_retention_days,
            placement=functions_placement,
        )
        self.consumer.add_event_source(self._stream_source(settings, stream))
        self.reader: lambda_.Function | None = None
        self.reader_integration: HttpLambdaIntegration | None = None
        self.read_keys: secretsmanager.Secret | None = None
        self.admin_keys: secretsmanager.Secret | None = None
        if api is not None:  # the read API rides on the ingest HTTP API (absent: collector only)
            self._read_api(settings, code, api, store_url, functions_placement)

    def _read_api(
        self,
        settings: Settings,
        code: lambda_.Code,
        api: apigwv2.HttpApi,
        store_url: str,
        placement: VpcPlacement,
    ) -> None:
        self.read_keys = read_keys = self._key_secret("ReadKeys", "read")
        self.admin_keys = admin_keys = self._key_secret("AdminKeys", "admin")
        self.reader = reader = riptide_function(
            self,
            "Reader",
            code=code,
            options=FunctionOptions(
                handler=CONTEXT.handler,
                service=CONTEXT.service,
                description="Serves shoppers' profiles and decisions to read keys, deletes "
                "profiles for admin keys",
                memory_mb=settings.context_memory_mb,
                timeout_seconds=10,
                environment=profiles_environment(
                    settings,
                    store_url=store_url,
                    store_cluster=True,
                    read_keys_secret_arn=read_keys.secret_arn,
                    admin_keys_secret_arn=admin_keys.secret_arn,
                ),
            ),
            log_retention_days=settings.log_retention_days,
            placement=placement,
        )
        reader.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[read_keys.secret_arn, admin_keys.secret_arn],
            )
        )
        self.reader_integration = integration = HttpLambdaIntegration(
            "Profiles",
            reader,
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
        )
        for method, path in PROFILE_ROUTES:
            api.add_routes(path=path, methods=[apigwv2.HttpMethod(method)], integration=integration)

    def _own_network(self, settings: Settings) -> NetworkPlacement:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Profiles", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=log_retention(settings.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
        )
        functions_group = ec2.SecurityGroup(
            self,
            "FunctionAccess",
            vpc=vpc,
            description="Riptide profile functions: reach the store and Secrets Manager",
        )
        isolated = ec2.SubnetType.PRIVATE_ISOLATED
        subnets = ec2.SubnetSelection(subnet_type=isolated)
        vpc.add_interface_endpoint(
            "SecretsManager",
            service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
            subnets=subnets,
        )
        placement = VpcPlacement(vpc=vpc, subnets=subnets, security_group=functions_group)
        return NetworkPlacement(placement, vpc.select_subnets(subnet_type=isolated).subnet_ids)

    def _key_secret(self, construct_id: str, kind: str) -> secretsmanager.Secret:
        return secretsmanager.Secret(
            self,
            construct_id,
            description=f'Riptide {kind} keys of the profile API: {{"<{kind} key>": "<site id>"}}',
            secret_string_value=SecretValue.unsafe_plain_text("{}"),
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _stream_source(
        self, settings: Settings, stream: kinesis.IStream
    ) -> sources.KinesisEventSource:
        """A short batching window for freshness, no tumbling window, bounded retries and age,
        bisection and partial-batch failures, and an on-failure queue of its own."""
        return bounded_stream_source(
            stream,
            settings,
            dead_letters=self.dead_letters,
            batch_size=settings.profile_batch_size,
            batching_window_seconds=settings.profile_batching_window_seconds,
        )
