"""The collector ingress: Fargate arm64 behind a load balancer, scaled, least privilege, alarmed."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from infra.environment import collector_environment
from infra.settings import Settings
from riptide.collector.settings import CollectorSettings
from riptide.contract import HEALTH_PATH, Env
from riptide.ingest import IngestSettings
from tests.infra.synthesis import (
    CUSTOM_SETTINGS,
    DRUID_URL,
    PRODUCER,
    Synthesis,
    synthesize,
)

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc"


@pytest.fixture(scope="module")
def collector_only(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesize(
        tmp_path_factory.mktemp("collector"),
        {"ingress": "collector", "collectorMinTasks": "3", "collectorMaxTasks": "30"},
    )


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesize(
        tmp_path_factory.mktemp("both"), {"ingress": "both", "collectorCertificateArn": CERTIFICATE}
    )


def test_the_default_ingress_is_the_lambda_alone(default: Synthesis) -> None:
    assert default.resources("AWS::ECS::Service") == {}
    assert default.resources("AWS::ElasticLoadBalancingV2::LoadBalancer") == {}
    assert "CollectorUrl" not in default.raw["Outputs"]


def test_collector_ingress_has_no_http_api_or_producer_and_keeps_the_write_keys_secret(
    collector_only: Synthesis,
) -> None:
    assert collector_only.resources("AWS::ApiGatewayV2::Api") == {}
    handlers = {
        r["Properties"].get("Handler")
        for r in collector_only.resources("AWS::Lambda::Function").values()
    }
    assert PRODUCER not in handlers
    assert len(collector_only.resources("AWS::SecretsManager::Secret")) == 2
    assert "CollectorUrl" in collector_only.raw["Outputs"]
    assert "ApiUrl" not in collector_only.raw["Outputs"]
    assert collector_only.violations == []


def test_tasks_are_arm64_fargate_with_the_producers_settings(collector_only: Synthesis) -> None:
    (task,) = collector_only.resources("AWS::ECS::TaskDefinition").values()
    properties = task["Properties"]
    assert properties["RuntimePlatform"] == {
        "CpuArchitecture": "ARM64",
        "OperatingSystemFamily": "LINUX",
    }
    assert properties["RequiresCompatibilities"] == ["FARGATE"]
    (container,) = properties["ContainerDefinitions"]
    names = {variable["Name"] for variable in container["Environment"]}
    assert {Env.STREAM_NAME, Env.WRITE_KEYS_SECRET_ARN, Env.COLLECTOR_LINGER_MS} <= names
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    collector_only.template.has_resource_properties(
        "AWS::ECS::Service", {"LaunchType": "FARGATE", "DesiredCount": 3}
    )


def test_the_task_role_may_only_put_records_and_read_the_write_keys(
    collector_only: Synthesis,
) -> None:
    (task,) = collector_only.resources("AWS::ECS::TaskDefinition").values()
    role_id = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in collector_only.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = sorted(statement["Action"] for statement in statements)
    assert actions == ["kinesis:PutRecords", "secretsmanager:GetSecretValue"]
    assert all("*" not in str(statement["Resource"]) for statement in statements)


def test_the_load_balancer_checks_health_and_speaks_https_with_a_certificate(
    collector_only: Synthesis, both: Synthesis
) -> None:
    collector_only.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"HealthCheckPath": HEALTH_PATH, "Port": 8080, "TargetType": "ip"},
    )
    collector_only.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener", {"Port": 80, "Protocol": "HTTP"}
    )
    both.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 443, "Protocol": "HTTPS", "Certificates": [{"CertificateArn": CERTIFICATE}]},
    )
    assert both.resources("AWS::ApiGatewayV2::Api") != {}
    assert {"ApiUrl", "CollectorUrl"} <= set(both.raw["Outputs"])
    assert both.violations == []


def test_autoscaling_follows_cpu_and_requests_within_the_task_bounds(
    collector_only: Synthesis,
) -> None:
    collector_only.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 3, "MaxCapacity": 30}
    )
    metrics = {
        policy["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]
        for policy in collector_only.resources(
            "AWS::ApplicationAutoScaling::ScalingPolicy"
        ).values()
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


def test_alarms_watch_errors_answer_time_and_unhealthy_tasks(collector_only: Synthesis) -> None:
    descriptions = {
        alarm["Properties"]["AlarmDescription"]
        for alarm in collector_only.resources("AWS::CloudWatch::Alarm").values()
    }
    assert {
        "Over collector5xxAlarmPercent of the collector's answers are server errors",
        "The collector's p99 answer time is over collectorResponseTimeAlarmMs",
        "A collector task fails the load balancer's health check",
    } <= descriptions
    collector_only.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"Metrics": Match.array_with([Match.object_like({"Expression": Match.any_value()})])},
    )


def test_the_image_is_built_from_the_repositorys_dockerfile() -> None:
    root = Path(__file__).resolve().parents[2]
    dockerfile = (root / "Dockerfile").read_text()
    assert 'CMD ["python", "-m", "riptide.collector"]' in dockerfile
    assert "!lambdas" in (root / ".dockerignore").read_text()


def test_the_collector_reads_the_settings_the_stack_gives_it() -> None:
    settings = Settings.from_context(
        {**CUSTOM_SETTINGS, "druidUrl": DRUID_URL, "collectorLingerMs": "40"}
    )
    environment = collector_environment(settings, stream_name="s", write_keys_secret_arn="k")

    ingest = IngestSettings.from_env(environment)
    collector = CollectorSettings.from_env(environment)

    assert set(environment) <= {value for name, value in vars(Env).items() if name.isupper()}
    assert (ingest.stream_name, ingest.truncate_ip) == ("s", settings.truncate_ip)
    assert collector.linger_seconds == 0.04
