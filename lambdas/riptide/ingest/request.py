"""The parts of an API Gateway HTTP API (payload format 2.0) request that the producer reads."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

BATCH = "batch"


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """One Tracking API call: `endpoint` is "batch" or the single call's type ("track", ...)."""

    endpoint: str
    body: str | None
    is_base64_encoded: bool = False
    content_encoding: str | None = None
    authorization: str | None = None
    source_ip: str | None = None

    @classmethod
    def from_event(cls, event: APIGatewayProxyEventV2, endpoint: str) -> IngestRequest:
        headers = event.headers
        return cls(
            endpoint=endpoint,
            body=event.body,
            is_base64_encoded=bool(event.is_base64_encoded),
            content_encoding=headers.get("content-encoding"),
            authorization=headers.get("authorization"),
            source_ip=event.request_context.http.source_ip or None,
        )

    @property
    def is_batch(self) -> bool:
        return self.endpoint == BATCH
