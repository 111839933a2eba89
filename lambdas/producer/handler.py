"""Producer Lambda: the Segment HTTP Tracking API in front of a Kinesis stream.

POST /v1/batch and the single calls /v1/track, /v1/page, /v1/screen, /v1/identify, /v1/group and
/v1/alias, as Segment and RudderStack SDKs send them, and their short forms /v1/b, /v1/t, ...
that the browser and mobile SDKs use; GET /v1/projects/{writeKey}/settings answers what those
SDKs load from their CDN. CORS is the HTTP API's job (it answers preflights and drops CORS
headers an integration sets). This module is the Lambda edge only: it turns API Gateway's
payload 2.0 event into an IngestRequest and the core's Answer into a response; the work happens
in riptide.ingest.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from riptide.contract import METRICS_NAMESPACE
from riptide.ingest import IngestRequest, IngestService
from riptide.ingest.answers import Answer
from riptide.ingest.request import endpoint_for, unknown_call_message

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
tracer = Tracer(auto_patch=False)
app = APIGatewayHttpResolver()
HTTPS = "https"
SCHEMES = frozenset({"http", HTTPS})


@cache
def service() -> IngestService:
    """Built on the first request, so settings and clients are not touched at import."""
    return IngestService.from_env(metrics, logger, tracer)


def take(endpoint: str) -> Response:
    event = app.current_event
    headers = event.headers
    request = IngestRequest(
        endpoint=endpoint,
        body=event.body,
        is_base64_encoded=bool(event.is_base64_encoded),
        content_encoding=headers.get("content-encoding"),
        authorization=headers.get("authorization"),
        source_ip=event.request_context.http.source_ip or None,
    )
    remaining_seconds = app.lambda_context.get_remaining_time_in_millis() / 1000
    return lambda_response(service().handle(request, remaining_seconds))


def lambda_response(answer: Answer) -> Response:
    return Response(answer.status, answer.content_type, answer.body, answer.headers)


@app.post("/v1/<call>")
def tracking_call(call: str) -> Response:
    endpoint = endpoint_for(call)
    if endpoint is None:
        raise NotFoundError(unknown_call_message(call))
    return take(endpoint)


@app.get("/v1/projects/<write_key>/settings")
def sdk_settings(write_key: str) -> Response:
    """Events go to the host and scheme this request came in on (API Gateway sets
    X-Forwarded-Proto), so the settings of a custom domain point at that domain."""
    event = app.current_event
    host = event.request_context.domain_name or event.headers.get("host", "")
    protocol = event.headers.get("x-forwarded-proto", HTTPS).split(",")[0].strip().lower()
    scheme = protocol if protocol in SCHEMES else HTTPS
    return lambda_response(service().sdk_settings(write_key, host, scheme))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
