"""The ingest API and the producer function."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from riptide.contract import DECIDE_ROUTE, INGEST_PATHS, PROFILE_ROUTES, SDK_PATHS, SEGMENT_PATHS
from tests.infra.synthesis import PRODUCER, Synthesis

CONTEXT_ROUTE_KEYS = {f"{method} {path}" for method, path in (*PROFILE_ROUTES, DECIDE_ROUTE)}


def test_each_segment_endpoint_is_a_post_route_to_the_producer(default: Synthesis) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in default.resources("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] not in CONTEXT_ROUTE_KEYS
    }
    assert set(routes) == {f"POST /v1/{path}" for path in INGEST_PATHS} | {
        "GET /v1/projects/{writeKey}/settings"
    }
    assert {f"POST /v1/{path}" for path in (*SEGMENT_PATHS, *SDK_PATHS)} <= set(routes)
    assert "POST /v1/t" in routes and "POST /v1/b" in routes
    integrations = default.resources("AWS::ApiGatewayV2::Integration")
    (integration_id,) = {route["Target"]["Fn::Join"][1][1]["Ref"] for route in routes.values()}
    for route in routes.values():
        assert route["Target"]["Fn::Join"][1][1] == {"Ref": integration_id}
    integration = integrations[integration_id]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert integration["IntegrationUri"] == {"Fn::GetAtt": [default.function_id(PRODUCER), "Arn"]}


def test_cors_lets_browsers_post_segment_requests(default: Synthesis, custom: Synthesis) -> None:
    default.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "ProtocolType": "HTTP",
            "CorsConfiguration": {
                "AllowMethods": ["GET", "POST"],
                "AllowHeaders": [
                    "Content-Type",
                    "Authorization",
                    "Content-Encoding",
                    "X-Retry-Count",
                ],
                "ExposeHeaders": ["Retry-After", "X-RateLimit-Reset"],
                "AllowOrigins": ["*"],
                "MaxAge": 3600,
            },
        },
    )
    custom.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "CorsConfiguration": Match.object_like(
                {"AllowOrigins": ["https://shop.example.com", "https://www.example.com"]}
            )
        },
    )


def test_default_stage_is_throttled_and_logs_json(default: Synthesis) -> None:
    (stage,) = default.resources("AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == "$default"
    assert properties["AutoDeploy"] is True
    assert properties["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": default.settings.api_throttle_rate_limit,
        "ThrottlingBurstLimit": default.settings.api_throttle_burst_limit,
    }
    log_format = json.loads(properties["AccessLogSettings"]["Format"])
    assert log_format["status"] == "$context.status"
    assert log_format["requestId"] == "$context.requestId"
    log_group_id = properties["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    log_group = default.raw["Resources"][log_group_id]["Properties"]
    assert log_group["RetentionInDays"] == default.settings.log_retention_days


def test_producer_function(default: Synthesis) -> None:
    producer = default.function(PRODUCER)
    settings = default.settings
    assert producer["Runtime"] == "python3.12"
    assert producer["Architectures"] == ["arm64"]
    assert producer["TracingConfig"] == {"Mode": "Active"}
    assert producer["Timeout"] == settings.producer_timeout_seconds < 30
    assert producer["MemorySize"] == settings.producer_memory_mb
    assert "VpcConfig" not in producer
    variables = producer["Environment"]["Variables"]
    assert variables["STREAM_NAME"] == {"Ref": default.ref_of("AWS::Kinesis::Stream")}
    assert variables["WRITE_KEYS_SECRET_ARN"] == {"Ref": _write_keys_secret(default)}
    assert {name: variables[name] for name in _PLAIN_PRODUCER_VARIABLES} == {
        "MAX_BATCH_BYTES": str(settings.max_batch_bytes),
        "MAX_BATCH_EVENTS": str(settings.max_batch_events),
        "MAX_EVENT_BYTES": str(settings.max_event_bytes),
        "TRUNCATE_IP": "true",
        "PARTITION_STRATEGY": "spread",
        "PARTITION_BUCKETS": str(settings.partition_buckets),
        "POWERTOOLS_SERVICE_NAME": "riptide-producer",
        "POWERTOOLS_METRICS_NAMESPACE": "Riptide",
    }


def test_truncate_ip_setting_reaches_the_producer(custom: Synthesis) -> None:
    assert custom.function(PRODUCER)["Environment"]["Variables"]["TRUNCATE_IP"] == "false"


def test_write_keys_secret_starts_as_an_empty_map(default: Synthesis) -> None:
    secret = default.raw["Resources"][_write_keys_secret(default)]
    assert secret["Properties"]["SecretString"] == "{}"
    assert secret["DeletionPolicy"] == "Retain"


_PLAIN_PRODUCER_VARIABLES = (
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_EVENT_BYTES",
    "TRUNCATE_IP",
    "PARTITION_STRATEGY",
    "PARTITION_BUCKETS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
)


def _write_keys_secret(synthesis: Synthesis) -> str:
    (secret_id,) = [
        logical_id
        for logical_id, secret in synthesis.resources("AWS::SecretsManager::Secret").items()
        if "write keys" in secret["Properties"]["Description"]
    ]
    return secret_id
