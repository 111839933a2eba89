"""Context API Lambda: shoppers' profiles and decisions for a site's read key, deletion for its
admin key.

GET /v1/profiles/{id} (a userId or anonymousId), GET /v1/profiles?ids=a,b,... (up to 50),
DELETE /v1/profiles/{id} and POST /v1/decide. This module is the Lambda edge only;
riptide.profiles.reads and riptide.decisions answer.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from riptide.contract import DECIDE_ROUTE, METRICS_NAMESPACE
from riptide.decisions.composition import compose_decide_service
from riptide.decisions.decider import DecideCall
from riptide.decisions.service import DecideService
from riptide.ingest.answers import Answer
from riptide.profiles.composition import compose_profile_reads
from riptide.profiles.reads import ProfileReads

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
tracer = Tracer(auto_patch=False)
app = APIGatewayHttpResolver()


@cache
def reads() -> ProfileReads:
    """Built on the first request, so settings and clients are not touched at import."""
    return compose_profile_reads()


@cache
def decide_service() -> DecideService:
    """Its settings are read and its clients made on the first decide request."""
    return compose_decide_service(metrics, logger)


def _authorization() -> str | None:
    return app.current_event.headers.get("authorization")


def lambda_response(answer: Answer) -> Response:
    return Response(answer.status, answer.content_type, answer.body, answer.headers)


@app.get("/v1/profiles")
def read_many() -> Response:
    ids = app.current_event.get_query_string_value("ids")
    return lambda_response(reads().get_many(_authorization(), ids))


@app.get("/v1/profiles/<identity>")
def read_one(identity: str) -> Response:
    return lambda_response(reads().get(_authorization(), unquote(identity)))


@app.delete("/v1/profiles/<identity>")
def delete_one(identity: str) -> Response:
    return lambda_response(reads().delete(_authorization(), unquote(identity)))


@app.route(DECIDE_ROUTE[1], DECIDE_ROUTE[0])
def decide() -> Response:
    event = app.current_event
    call = DecideCall(
        authorization=_authorization(),
        body=event.body,
        is_base64_encoded=bool(event.is_base64_encoded),
        content_encoding=event.headers.get("content-encoding"),
    )
    remaining_seconds = app.lambda_context.get_remaining_time_in_millis() / 1000
    return lambda_response(decide_service().handle(call, remaining_seconds))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
