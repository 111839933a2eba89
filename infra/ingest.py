"""The Segment-compatible ingest API: HTTP API, producer function and write-key secret."""

from __future__ import annotations

import json

import jsii
from aws_cdk import Duration, RemovalPolicy, SecretValue
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.aws_apigateway import AccessLogFormat
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.environment import producer_environment
from infra.functions import FunctionOptions, riptide_function
from infra.retention import log_retention
from infra.settings import Settings
from riptide.contract import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE_SECONDS,
    INGEST_PATHS,
    PRODUCER,
    SDK_SETTINGS_ROUTE,
)

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
}


class IngestApi(Construct):
    """The write-key secret and, with the Lambda ingress, POST /v1/{batch,track,...,b,t,...} and
    GET /v1/projects/{writeKey}/settings to the producer, which writes events to the stream;
    CORS answered by the HTTP API itself."""

    producer: lambda_.Function | None = None
    api: apigwv2.HttpApi | None = None
    stage: apigwv2.HttpStage | None = None

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        code: lambda_.Code,
        stream: kinesis.IStream,
    ) -> None:
        super().__init__(scope, construct_id)
        self.write_keys = secretsmanager.Secret(
            self,
            "WriteKeys",
            description='Riptide write keys: {"<write key>": "<site id>", ...}',
            secret_string_value=SecretValue.unsafe_plain_text("{}"),
            removal_policy=RemovalPolicy.RETAIN,
        )
        if settings.with_lambda_ingress:
            self._lambda_ingress(settings, code, stream)

    def _lambda_ingress(
        self, settings: Settings, code: lambda_.Code, stream: kinesis.IStream
    ) -> None:
        self.producer = riptide_function(
            self,
            "Producer",
            code=code,
            options=FunctionOptions(
                handler=PRODUCER.handler,
                service=PRODUCER.service,
                description="Accepts Segment-format events and writes them to Kinesis",
                memory_mb=settings.producer_memory_mb,
                timeout_seconds=settings.producer_timeout_seconds,
                environment=producer_environment(
                    settings,
                    stream_name=stream.stream_name,
                    write_keys_secret_arn=self.write_keys.secret_arn,
                ),
            ),
            log_retention_days=settings.log_retention_days,
        )
        self.producer.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kinesis:PutRecords"],
                resources=[stream.stream_arn],
            )
        )
        self.producer.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[self.write_keys.secret_arn],
            )
        )
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            description="Riptide event ingestion (Segment HTTP Tracking API)",
            create_default_stage=False,
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=list(settings.cors_allow_origins),
                allow_methods=[apigwv2.CorsHttpMethod(method) for method in CORS_ALLOW_METHODS],
                allow_headers=list(CORS_ALLOW_HEADERS),
                expose_headers=list(CORS_EXPOSE_HEADERS),
                max_age=Duration.seconds(CORS_MAX_AGE_SECONDS),
            ),
        )
        integration = HttpLambdaIntegration(
            "Producer",
            self.producer,
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
        )
        for path in INGEST_PATHS:
            self.api.add_routes(
                path=f"/v1/{path}", methods=[apigwv2.HttpMethod.POST], integration=integration
            )
        self.api.add_routes(
            path=SDK_SETTINGS_ROUTE, methods=[apigwv2.HttpMethod.GET], integration=integration
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention(settings.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=settings.api_throttle_rate_limit,
                burst_limit=settings.api_throttle_burst_limit,
            ),
            access_log_settings=_JsonAccessLogs(self.access_logs),
        )


@jsii.implements(apigwv2.IAccessLogSettings)
class _JsonAccessLogs:
    """Access logs as one JSON object per request, to a log group."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return apigwv2.LogGroupLogDestination(self._log_group)

    @property
    def format(self) -> AccessLogFormat:
        return AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))
