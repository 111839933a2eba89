"""Producer Lambda: the Segment HTTP Tracking API in front of a Kinesis stream.

POST /v1/batch and the single calls /v1/track, /v1/page, /v1/screen, /v1/identify, /v1/group and
/v1/alias, as Segment and RudderStack SDKs send them, and their short forms /v1/b, /v1/t, ...
that the browser and mobile SDKs use; GET /v1/projects/{writeKey}/settings answers what those
SDKs load from their CDN. CORS is the HTTP API's job (it drops CORS headers integrations set).
The work happens in riptide.ingest.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from riptide.ingest import IngestError, Ingestor, IngestRequest, ingestor_from_env
from riptide.ingest.answers import error_answer
from riptide.ingest.request import SHORT_PATHS, endpoint_for
from riptide.ingest.telemetry import NAMESPACE

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)
tracer = Tracer(auto_patch=False)
app = APIGatewayHttpResolver()
HTTPS = "https"


@cache
def ingestor() -> Ingestor:
    """Built on the first request, so settings and clients are not touched at import."""
    return ingestor_from_env(metrics, logger, tracer)


def take(endpoint: str) -> Response:
    request = IngestRequest.from_event(app.current_event, endpoint)
    remaining_seconds = app.lambda_context.get_remaining_time_in_millis() / 1000
    return ingestor().handle(request, remaining_seconds)


@app.post("/v1/<call>")
def call(call: str) -> Response:
    endpoint = endpoint_for(call)
    if endpoint is None:
        calls = ", ".join(f"/v1/{name}" for name in (*SHORT_PATHS.values(), *SHORT_PATHS))
        raise NotFoundError(f"no such call /v1/{call}; the calls are {calls}")
    return take(endpoint)


@app.get("/v1/projects/<write_key>/settings")
def sdk_settings(write_key: str) -> Response:
    """Host and scheme the request came in on (API Gateway sets X-Forwarded-Proto)."""
    event = app.current_event
    host = event.request_context.domain_name or event.headers.get("host", "")
    protocol = event.headers.get("x-forwarded-proto", HTTPS).split(",")[0].strip() or HTTPS
    return ingestor().settings(write_key, host, protocol)


@app.exception_handler(IngestError)
def ingest_error(error: IngestError) -> Response:
    return error_answer(error)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
