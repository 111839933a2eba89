"""The group-commit collector: ECS Fargate (arm64) tasks behind an Application Load Balancer.

Its own VPC with public subnets in two zones and no NAT gateway: tasks get public addresses to
reach Kinesis and Secrets Manager, and their security group admits only the load balancer.
Autoscaling follows CPU and requests per task; a task stopped by a scale-in or a deploy gets
SIGTERM and has the publish budget and more to flush and answer what it accepted.

It does not serve decisions: a decision needs the shopper's profile, and the profile store
answers only inside its own VPC, which the tasks are not in. So the tasks get neither
DECISIONS_URL nor the store, and decide calls go to the HTTP API's context Lambda.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.aws_certificatemanager import Certificate
from aws_cdk.aws_ecr_assets import Platform
from constructs import Construct

from infra.environment import COLLECTOR_PORT, collector_environment
from infra.retention import log_retention
from infra.settings import Settings
from riptide.collector.settings import DEFAULT_PUBLISH_BUDGET_SECONDS
from riptide.contract import HEALTH_PATH

ROOT = Path(__file__).resolve().parents[1]
SECONDS_PER_MINUTE = 60
STOP_MARGIN_SECONDS = 20
"""Beyond the publish budget, for the server to stop taking requests and exit after a flush."""


class Collector(Construct):
    """The collector service and its load balancer; `url` is where SDKs send events."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        stream: kinesis.IStream,
        write_keys: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                )
            ],
        )
        self.vpc.add_flow_log("FlowLog")
        cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=settings.collector_cpu,
            memory_limit_mib=settings.collector_memory_mb,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.logs = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention(settings.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.task.add_container(
            "Collector",
            image=ecs.ContainerImage.from_asset(
                str(ROOT),
                platform=Platform.LINUX_ARM64,
                ignore_mode=IgnoreMode.DOCKER,
            ),
            environment=collector_environment(
                settings,
                stream_name=stream.stream_name,
                write_keys_secret_arn=write_keys.secret_arn,
            ),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="collector", log_group=self.logs),
            port_mappings=[ecs.PortMapping(container_port=COLLECTOR_PORT)],
            stop_timeout=Duration.seconds(DEFAULT_PUBLISH_BUDGET_SECONDS + STOP_MARGIN_SECONDS),
            readonly_root_filesystem=True,
        )
        self.task.add_to_task_role_policy(
            iam.PolicyStatement(actions=["kinesis:PutRecords"], resources=[stream.stream_arn])
        )
        self.task.add_to_task_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[write_keys.secret_arn]
            )
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task,
            desired_count=settings.collector_min_tasks,
            assign_public_ip=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            min_healthy_percent=100,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=self.vpc,
            internet_facing=True,
            drop_invalid_header_fields=True,
        )
        https = bool(settings.collector_certificate_arn)
        listener = self.load_balancer.add_listener(
            "Listener",
            port=443 if https else 80,
            protocol=elbv2.ApplicationProtocol.HTTPS if https else elbv2.ApplicationProtocol.HTTP,
            certificates=[
                Certificate.from_certificate_arn(
                    self, "Certificate", settings.collector_certificate_arn
                )
            ]
            if https
            else None,
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS if https else None,
        )
        self.target_group = listener.add_targets(
            "Tasks",
            port=COLLECTOR_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service],
            health_check=elbv2.HealthCheck(
                path=HEALTH_PATH,
                interval=Duration.seconds(10),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
            deregistration_delay=Duration.seconds(30),
        )
        scaling = self.service.auto_scale_task_count(
            min_capacity=settings.collector_min_tasks,
            max_capacity=settings.collector_max_tasks,
        )
        scaling.scale_on_cpu_utilization(
            "Cpu", target_utilization_percent=settings.collector_target_cpu_percent
        )
        scaling.scale_on_request_count(
            "Requests",
            requests_per_target=settings.collector_requests_per_task * SECONDS_PER_MINUTE,
            target_group=self.target_group,
        )
        scheme = "https" if https else "http"
        self.url = f"{scheme}://{self.load_balancer.load_balancer_dns_name}"
