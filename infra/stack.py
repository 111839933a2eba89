"""The Riptide stack: ingest API -> Kinesis -> rollup to Druid, with monitoring."""

from __future__ import annotations

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from infra.bundling import lambda_code
from infra.collector import Collector
from infra.decisions import ContextApi, DecisionEngine
from infra.functions import VpcPlacement
from infra.ingest import IngestApi
from infra.monitoring import Monitoring
from infra.profiles import ProfilePipeline
from infra.rollup import RollupPipeline
from infra.settings import Settings
from infra.stream import event_stream


class RiptideStack(Stack):
    """Everything one Riptide deployment needs, configured by Settings."""

    def __init__(self, scope: Construct, settings: Settings) -> None:
        super().__init__(
            scope,
            settings.stack_name,
            description="Riptide: behavioural events from HTTP to Kinesis to rollups in Druid",
        )
        code = lambda_code()
        self.stream = event_stream(self, "Events", settings)
        self.ingest = IngestApi(self, "Ingest", settings=settings, code=code, stream=self.stream)
        self.collector = (
            Collector(
                self,
                "Collector",
                settings=settings,
                stream=self.stream,
                write_keys=self.ingest.write_keys,
            )
            if settings.with_collector
            else None
        )
        placement = self._vpc_placement(settings)
        self.rollup = RollupPipeline(
            self,
            "Rollup",
            settings=settings,
            code=code,
            stream=self.stream,
            placement=placement,
        )
        self.profiles = ProfilePipeline(
            self,
            "Profiles",
            settings=settings,
            code=code,
            stream=self.stream,
            api=self.ingest.api,
            placement=placement,
        )
        if placement is not None:
            # In the operator's VPC the rollup consumer shares the store's network and security
            # group, so both consumers ask one deduplication window. With the VPC the stack
            # creates for the store, the consumer stays outside it (it reaches Druid there), and
            # rollups count every copy.
            for name, value in self.profiles.store_environment.items():
                self.rollup.consumer.add_environment(name, value)
        self.decisions = DecisionEngine(
            self,
            "Decisions",
            settings=settings,
            code=code,
            stream=self.stream,
            access_logs=self.rollup.access_logs,
            druid_credentials=self.rollup.druid_credentials,
            rollup_consumer=self.rollup.consumer,
            placement=placement,
            context=self._context_api(),
            store_network=self.profiles.network.functions if self.profiles.created_vpc else None,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            settings=settings,
            api=self.ingest.api,
            collector=self.collector,
            stream=self.stream,
            functions={
                **({"Producer": self.ingest.producer} if self.ingest.producer else {}),
                "Consumer": self.rollup.consumer,
                "Reconciler": self.rollup.reconciler,
                "Profiles": self.profiles.consumer,
                **({"ProfileReads": self.profiles.reader} if self.profiles.reader else {}),
                "Trends": self.decisions.trends,
            },
            dead_letters=self.rollup.dead_letters,
        )
        self._outputs()

    def _context_api(self) -> ContextApi | None:
        """The context Lambda on the HTTP API (none with the collector ingress alone)."""
        api, reader = self.ingest.api, self.profiles.reader
        integration = self.profiles.reader_integration
        if api is None or reader is None or integration is None:
            return None
        return ContextApi(api=api, function=reader, integration=integration)

    def _vpc_placement(self, settings: Settings) -> VpcPlacement | None:
        """The given subnets and security group, imported without AWS lookups (synth offline)."""
        if not settings.in_vpc:
            return None
        subnets = [
            ec2.Subnet.from_subnet_id(self, f"Subnet{index}", subnet_id)
            for index, subnet_id in enumerate(settings.vpc_subnet_ids)
        ]
        return VpcPlacement(
            vpc=ec2.Vpc.from_vpc_attributes(
                self, "DruidVpc", vpc_id=settings.vpc_id, availability_zones=Fn.get_azs()
            ),
            subnets=ec2.SubnetSelection(subnets=subnets),
            security_group=ec2.SecurityGroup.from_security_group_id(
                self, "DruidAccess", settings.vpc_security_group_id, mutable=False
            ),
        )

    def _outputs(self) -> None:
        outputs = {
            "WriteKeysSecretArn": (
                self.ingest.write_keys.secret_arn,
                'Fill with {"<write key>": "<site id>", ...}',
            ),
            "DruidSecretArn": (
                self.rollup.druid_credentials.secret_arn,
                'Fill with {"username": ..., "password": ...} (leave {} if Druid has no auth)',
            ),
            "StreamName": (self.stream.stream_name, "Kinesis stream of accepted events"),
            "QuarantineBucketName": (self.rollup.quarantine.bucket_name, "Rejected records"),
            "OutboxBucketName": (self.rollup.outbox.bucket_name, "Druid tasks not yet confirmed"),
            "DeadLetterQueueUrl": (self.rollup.dead_letters.queue_url, "Batches given up on"),
            "DashboardName": (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard"),
            "DecisionsBucketName": (
                self.decisions.bucket.bucket_name,
                "Rules (rules/<site>.json, versioned) and trends (trends/<site>.json)",
            ),
            "ProfileStoreEndpoint": (
                self.profiles.store.attr_endpoint_address,
                "ElastiCache Serverless (Valkey) endpoint of the profiles, TLS on 6379",
            ),
        }
        if self.ingest.stage is not None:
            outputs["ApiUrl"] = (
                self.ingest.stage.url,
                "Base URL for Segment clients (POST /v1/batch)",
            )
        if self.collector is not None:
            outputs["CollectorUrl"] = (
                self.collector.url,
                "Base URL of the group-commit collector (same API)",
            )
        if self.profiles.read_keys and self.profiles.admin_keys:
            outputs["ReadKeysSecretArn"] = (
                self.profiles.read_keys.secret_arn,
                'Fill with {"<read key>": "<site id>", ...} for GET /v1/profiles',
            )
            outputs["AdminKeysSecretArn"] = (
                self.profiles.admin_keys.secret_arn,
                'Fill with {"<admin key>": "<site id>", ...} for DELETE /v1/profiles/{id}',
            )
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
