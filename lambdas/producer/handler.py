"""Producer Lambda: the Segment HTTP Tracking API in front of a Kinesis stream.

POST /v1/batch and the single calls /v1/track, /v1/page, /v1/screen, /v1/identify, /v1/group and
/v1/alias, as Segment and RudderStack SDKs send them. The work happens in riptide.ingest.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from riptide.ingest import BATCH, IngestError, Ingestor, IngestRequest, ingestor_from_env
from riptide.ingest.answers import error_answer
from riptide.ingest.telemetry import NAMESPACE
from riptide.ingest.validation import EVENT_TYPES

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)
tracer = Tracer(auto_patch=False)
app = APIGatewayHttpResolver(
    cors=CORSConfig(
        allow_origin="*",
        allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
        max_age=3600,
    )
)


@cache
def ingestor() -> Ingestor:
    """Built on the first request, so settings and clients are not touched at import."""
    return ingestor_from_env(metrics, logger, tracer)


def take(endpoint: str) -> Response:
    request = IngestRequest.from_event(app.current_event, endpoint)
    remaining_seconds = app.lambda_context.get_remaining_time_in_millis() / 1000
    return ingestor().handle(request, remaining_seconds)


@app.post("/v1/batch")
def batch() -> Response:
    return take(BATCH)


@app.post("/v1/<call>")
def single_call(call: str) -> Response:
    if call not in EVENT_TYPES:
        calls = ", ".join(f"/v1/{name}" for name in (BATCH, *EVENT_TYPES))
        raise NotFoundError(f"no such call /v1/{call}; the calls are {calls}")
    return take(call)


@app.exception_handler(IngestError)
def ingest_error(error: IngestError) -> Response:
    return error_answer(error)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
