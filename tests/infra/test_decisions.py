"""The decision engine in the stack: the rules and trends bucket, the decide route, the trends job
on its schedule, who may read or write which documents, and the endpoints in the created VPC."""

from __future__ import annotations

from typing import Any

import pytest

from infra.environment import decider_environment, decisions_environment, decisions_url
from infra.settings import Settings
from riptide.contract import CONTEXT, DECIDE_ROUTE, PROFILE_ROUTES, PROFILES, TRENDS, Env
from riptide.decisions.documents import DirectoryDocuments, S3Documents, open_documents
from riptide.ingest import IngestSettings
from tests.infra.synthesis import (
    CONSUMER,
    CUSTOM_SETTINGS,
    DRUID_URL,
    PRODUCER,
    RECONCILER,
    Synthesis,
    synthesize,
)
from tests.infra.test_iam import LOGGING, TRACING

DECIDER = CONTEXT.handler
TRENDS_JOB = TRENDS.handler
DECIDE_ROUTE_KEY = " ".join(DECIDE_ROUTE)


@pytest.fixture(scope="module")
def collector_only(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesize(tmp_path_factory.mktemp("decisions-collector"), {"ingress": "collector"})


def _bucket_id(synthesis: Synthesis) -> str:
    return synthesis.ref_of("AWS::S3::Bucket", "DecisionsDocuments")


def _objects(synthesis: Synthesis, prefix: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [{"Fn::GetAtt": [_bucket_id(synthesis), "Arn"]}, f"/{prefix}*"]]}


def _bucket_arn(synthesis: Synthesis) -> dict[str, Any]:
    return {"Fn::GetAtt": [_bucket_id(synthesis), "Arn"]}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(synthesis: Synthesis, handler: str, bucket_id: str) -> dict[str, list[Any]]:
    """Each action the function may take on the decisions bucket, with its resources."""
    grants: dict[str, list[Any]] = {}
    for statement in synthesis.statements_of(handler):
        if bucket_id in str(statement["Resource"]):
            for action in _listed(statement["Action"]):
                grants.setdefault(action, []).extend(_listed(statement["Resource"]))
    return grants


def _variables(synthesis: Synthesis, handler: str) -> dict[str, Any]:
    return synthesis.function(handler)["Environment"]["Variables"]


def test_the_decide_route_goes_to_the_context_lambda_beside_the_profile_routes(
    default: Synthesis,
) -> None:
    routes = {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in default.resources("AWS::ApiGatewayV2::Route").values()
    }
    decide = routes[DECIDE_ROUTE_KEY]
    profile_route = routes[" ".join(PROFILE_ROUTES[0])]
    assert decide["Target"] == profile_route["Target"]
    integration_id = decide["Target"]["Fn::Join"][1][1]["Ref"]
    integration = default.raw["Resources"][integration_id]["Properties"]
    assert integration["IntegrationUri"] == {"Fn::GetAtt": [default.function_id(DECIDER), "Arn"]}
    assert integration["PayloadFormatVersion"] == "2.0"


def test_the_decisions_bucket_is_private_versioned_tls_only_and_keeps_rules_versions(
    default: Synthesis,
) -> None:
    bucket = default.raw["Resources"][_bucket_id(default)]
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
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
    assert properties["LoggingConfiguration"]["LogFilePrefix"] == "Documents/"
    assert bucket["DeletionPolicy"] == "Retain"
    assert default.raw["Outputs"]["DecisionsBucketName"]["Value"] == {"Ref": _bucket_id(default)}
    kept = {
        rule["Prefix"]: rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        for rule in properties["LifecycleConfiguration"]["Rules"]
    }
    assert kept == {
        "rules/": default.settings.rules_versions_kept_days,
        "trends/": default.settings.trends_versions_kept_days,
    }
    assert not [
        rule for rule in properties["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in rule
    ], "current rules and trends never expire"
    (policy,) = [
        policy["Properties"]["PolicyDocument"]
        for policy in default.resources("AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": _bucket_id(default)}
    ]
    assert any(
        statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in policy["Statement"]
    )


def test_every_reader_and_writer_of_the_documents_is_told_the_bucket(default: Synthesis) -> None:
    url = {"Fn::Join": ["", ["s3://", {"Ref": _bucket_id(default)}]]}
    for handler in (DECIDER, TRENDS_JOB, CONSUMER):
        assert _variables(default, handler)[Env.DECISIONS_URL] == url
    for handler in (RECONCILER, PROFILES.handler, PRODUCER):
        assert Env.DECISIONS_URL not in _variables(default, handler)


def test_the_context_lambda_writes_decisions_as_the_producer_writes_events(
    default: Synthesis,
) -> None:
    """The producer's stream variables, without the write keys: a read key gives the site."""
    decider, producer = _variables(default, DECIDER), _variables(default, PRODUCER)
    stream_names = set(producer) - {Env.POWERTOOLS_SERVICE_NAME, Env.WRITE_KEYS_SECRET_ARN}
    assert {name: decider[name] for name in stream_names} == {
        name: producer[name] for name in stream_names
    }
    assert set(decider) == stream_names | {
        Env.DECISIONS_URL,
        Env.PROFILE_STORE_URL,
        Env.PROFILE_STORE_CLUSTER,
        Env.DEDUP_WINDOW_SECONDS,
        Env.DEDUP_RETRY_SECONDS,
        Env.ANONYMOUS_PROFILE_TTL_DAYS,
        Env.READ_KEYS_SECRET_ARN,
        Env.ADMIN_KEYS_SECRET_ARN,
        Env.POWERTOOLS_SERVICE_NAME,
        Env.POWERTOOLS_METRICS_NAMESPACE,
    }


def test_the_trends_job_gets_druid_with_a_bounded_query_time_and_the_documents(
    default: Synthesis,
) -> None:
    variables = _variables(default, TRENDS_JOB)
    settings = default.settings
    assert set(variables) == {
        Env.DECISIONS_URL,
        Env.DRUID_URL,
        Env.DRUID_DATASOURCE,
        Env.DRUID_SECRET_ARN,
        Env.DRUID_TIMEOUT_SECONDS,
        Env.POWERTOOLS_SERVICE_NAME,
        Env.POWERTOOLS_METRICS_NAMESPACE,
    }
    assert variables[Env.DRUID_URL] == DRUID_URL
    assert variables[Env.DRUID_DATASOURCE] == settings.druid_datasource
    assert variables[Env.DRUID_SECRET_ARN] == _variables(default, CONSUMER)[Env.DRUID_SECRET_ARN]
    assert variables[Env.DRUID_TIMEOUT_SECONDS] == str(settings.trends_query_timeout_seconds)
    assert variables[Env.POWERTOOLS_SERVICE_NAME] == TRENDS.service
    function = default.function(TRENDS_JOB)
    assert function["Timeout"] == settings.trends_timeout_seconds
    assert function["MemorySize"] == settings.trends_memory_mb
    assert function["Architectures"] == ["arm64"]
    assert "VpcConfig" not in function


def test_the_trends_job_runs_on_its_schedule_without_retries(
    default: Synthesis, custom: Synthesis
) -> None:
    for synthesis, expression in ((default, "rate(1 minute)"), (custom, "rate(5 minutes)")):
        function_arn = {"Fn::GetAtt": [synthesis.function_id(TRENDS_JOB), "Arn"]}
        (rule,) = [
            rule["Properties"]
            for rule in synthesis.resources("AWS::Events::Rule").values()
            if rule["Properties"]["Targets"][0]["Arn"] == function_arn
        ]
        assert rule["ScheduleExpression"] == expression
        assert rule["State"] == "ENABLED"
        (target,) = rule["Targets"]
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}


def test_the_trends_job_may_only_write_and_list_trends_and_read_the_druid_secret(
    default: Synthesis,
) -> None:
    assert default.actions_of(TRENDS_JOB) == LOGGING | TRACING | {
        "s3:PutObject",
        "s3:ListBucket",
        "secretsmanager:GetSecretValue",
    }
    assert _grants(default, TRENDS_JOB, _bucket_id(default)) == {
        "s3:PutObject": [_objects(default, "trends/")],
        "s3:ListBucket": [_bucket_arn(default)],
    }
    (listing,) = [
        statement
        for statement in default.statements_of(TRENDS_JOB)
        if statement["Action"] == "s3:ListBucket"
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["trends/*"]}}
    druid_secret = _variables(default, CONSUMER)[Env.DRUID_SECRET_ARN]
    (secret_read,) = [
        statement["Resource"]
        for statement in default.statements_of(TRENDS_JOB)
        if statement["Action"] == "secretsmanager:GetSecretValue"
    ]
    assert secret_read == druid_secret


def test_the_context_lambda_reads_rules_and_trends_and_only_puts_records(
    default: Synthesis,
) -> None:
    assert _grants(default, DECIDER, _bucket_id(default)) == {
        "s3:GetObject": [_objects(default, "rules/"), _objects(default, "trends/")],
        "s3:ListBucket": [_bucket_arn(default)],
    }
    stream_arn = {"Fn::GetAtt": [default.ref_of("AWS::Kinesis::Stream"), "Arn"]}
    (put,) = [
        statement
        for statement in default.statements_of(DECIDER)
        if "kinesis" in str(statement["Action"])
    ]
    assert (put["Action"], put["Resource"]) == ("kinesis:PutRecords", stream_arn)
    write_keys = _variables(default, PRODUCER)[Env.WRITE_KEYS_SECRET_ARN]
    granted = [
        resource
        for statement in default.statements_of(DECIDER)
        for resource in _listed(statement["Resource"])
    ]
    assert write_keys not in granted, "a read key gives the site: the write keys are never read"


def test_the_rollup_consumer_reads_rules_only_and_the_reconciler_nothing(
    default: Synthesis,
) -> None:
    assert _grants(default, CONSUMER, _bucket_id(default)) == {
        "s3:GetObject": [_objects(default, "rules/")],
        "s3:ListBucket": [_bucket_arn(default)],
    }
    assert _grants(default, RECONCILER, _bucket_id(default)) == {}
    assert _grants(default, PROFILES.handler, _bucket_id(default)) == {}


def test_the_created_vpc_reaches_s3_for_the_documents_and_kinesis_from_the_functions_only(
    default: Synthesis,
) -> None:
    endpoints = {
        str(endpoint["Properties"]["ServiceName"]): endpoint["Properties"]
        for endpoint in default.resources("AWS::EC2::VPCEndpoint").values()
    }
    (s3,) = [endpoint for name, endpoint in endpoints.items() if ".s3" in name]
    assert s3["VpcEndpointType"] == "Gateway"
    assert len(s3["RouteTableIds"]) == 2
    (statement,) = s3["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["s3:GetObject", "s3:ListBucket"]
    assert statement["Resource"] == [
        _bucket_arn(default),
        _objects(default, "rules/"),
        _objects(default, "trends/"),
    ]
    (kinesis,) = [endpoint for name, endpoint in endpoints.items() if "kinesis-streams" in name]
    assert kinesis["VpcEndpointType"] == "Interface"
    assert kinesis["PrivateDnsEnabled"] is True
    (group_id,) = [group["Fn::GetAtt"][0] for group in kinesis["SecurityGroupIds"]]
    ingress = default.raw["Resources"][group_id]["Properties"].get("SecurityGroupIngress", [])
    ingress += [
        rule["Properties"]
        for rule in default.resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    functions_group = default.function(DECIDER)["VpcConfig"]["SecurityGroupIds"]
    assert [
        (rule["FromPort"], rule["ToPort"], rule["SourceSecurityGroupId"]) for rule in ingress
    ] == [(443, 443, functions_group[0])]


def test_in_the_operators_vpc_the_stack_adds_no_endpoints_and_the_trends_job_joins_druid(
    custom: Synthesis,
) -> None:
    assert custom.resources("AWS::EC2::VPCEndpoint") == {}
    assert custom.function(TRENDS_JOB)["VpcConfig"] == {
        "SubnetIds": list(custom.settings.vpc_subnet_ids),
        "SecurityGroupIds": [custom.settings.vpc_security_group_id],
    }


def test_with_the_collector_alone_there_is_no_decide_route_but_trends_and_rules_remain(
    collector_only: Synthesis,
) -> None:
    assert collector_only.resources("AWS::ApiGatewayV2::Route") == {}
    assert collector_only.resources("AWS::EC2::VPCEndpoint").keys() == {
        collector_only.ref_of("AWS::EC2::VPCEndpoint", "ProfilesVpcSecretsManager")
    }
    assert Env.DECISIONS_URL in _variables(collector_only, CONSUMER)
    assert collector_only.function(TRENDS_JOB)
    (task,) = collector_only.resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert Env.DECISIONS_URL not in {variable["Name"] for variable in container["Environment"]}
    assert collector_only.violations == []


def test_the_decision_writer_reads_the_producers_settings_from_the_deciders_environment() -> None:
    settings = Settings.from_context(
        {**CUSTOM_SETTINGS, "druidUrl": DRUID_URL, "partitionStrategy": "user"}
    )
    environment = decider_environment(settings, decisions_url="s3://b", stream_name="s")

    # The write keys are named only so the producer's reader accepts the rest; the stack sets none.
    read = IngestSettings.from_env({**environment, Env.WRITE_KEYS_SECRET_ARN: "unused"})

    assert Env.WRITE_KEYS_SECRET_ARN not in environment
    assert (
        read.stream_name,
        read.partition_strategy,
        read.partition_buckets,
        read.truncate_ip,
    ) == (
        "s",
        "user",
        settings.partition_buckets,
        settings.truncate_ip,
    )


def test_decisions_urls_open_the_documents_where_the_stack_and_the_local_pipeline_put_them(
    tmp_path: Any,
) -> None:
    class FakeS3Client:
        """Stands in for boto3's S3 client: open_documents only keeps it."""

    stack_url = decisions_environment(decisions_url("riptide-decisions"))[Env.DECISIONS_URL]
    local_url = decisions_environment(tmp_path.as_uri())[Env.DECISIONS_URL]

    stack_documents = open_documents(stack_url, FakeS3Client)
    local_documents = open_documents(local_url, FakeS3Client)

    assert isinstance(stack_documents, S3Documents)
    assert (stack_documents._bucket, stack_documents._prefix) == ("riptide-decisions", "")
    assert isinstance(local_documents, DirectoryDocuments)


def test_the_dashboard_graphs_the_trends_job_with_the_other_functions(default: Synthesis) -> None:
    (dashboard,) = default.resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    trends_name = {"Ref": default.function_id(TRENDS_JOB)}
    graphed = [index for index, part in enumerate(parts) if part == trends_name]
    assert len(graphed) == 3, "duration, errors and throttles"
