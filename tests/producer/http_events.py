"""Real-shaped API Gateway HTTP API (payload format 2.0) events for the producer, and a Lambda
context, built the way API Gateway builds them for a POST to the Tracking API."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from typing import Any

SOURCE_IP = "203.0.113.77"
WRITE_KEY = "wk_test_7c1e"
SITE = "site-test"


def basic_auth(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def http_event(
    path: str,
    body: Any = None,
    *,
    write_key: str | None = WRITE_KEY,
    gzipped: bool = False,
    raw_body: bytes | None = None,
    headers: dict[str, str] | None = None,
    source_ip: str = SOURCE_IP,
    method: str = "POST",
) -> dict[str, Any]:
    """A payload 2.0 event. `body` is JSON-encoded unless `raw_body` gives the exact bytes.

    Like API Gateway, a gzipped or non-UTF-8 body arrives base64 with isBase64Encoded true.
    """
    data = raw_body if raw_body is not None else json.dumps(body).encode()
    all_headers = {"content-type": "application/json", "user-agent": "test-client/1.0"}
    if write_key is not None:
        all_headers["authorization"] = basic_auth(write_key)
    if gzipped:
        data = gzip.compress(data)
        all_headers["content-encoding"] = "gzip"
    all_headers.update({name.lower(): value for name, value in (headers or {}).items()})
    return payload_v2(method, path, all_headers, data, source_ip)


def payload_v2(
    method: str, path: str, headers: dict[str, str], data: bytes, source_ip: str = SOURCE_IP
) -> dict[str, Any]:
    """The event API Gateway hands the Lambda for one HTTP request."""
    try:
        binary = "content-encoding" in headers
        body, encoded = (data.decode(), False) if not binary else (None, True)
    except UnicodeDecodeError:
        body, encoded = None, True
    if encoded:
        body = base64.b64encode(data).decode()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {**headers, "content-length": str(len(data)), "host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "27/Nov/2026:16:35:46 +0000",
            "timeEpoch": 1_795_797_346_000,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


@dataclass
class LambdaContext:
    """The context object Lambda passes, with a fixed time left."""

    remaining_millis: int = 10_000
    function_name: str = "riptide-producer"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:riptide-producer"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "5b0a1c3e-8f9d-4e2a-9c71-0d6e4f8a2b13"
    log_group_name: str = "/aws/lambda/riptide-producer"
    log_stream_name: str = "2026/11/27/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def track(index: int = 0, **fields: Any) -> dict[str, Any]:
    """A valid track event as an SDK sends it."""
    event = {
        "type": "track",
        "event": "Product Viewed",
        "userId": f"user-{index}",
        "messageId": f"msg-{index:05d}",
        "properties": {"product_id": f"p-{index}", "price": 19.99},
        "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
        "originalTimestamp": "2026-11-27T16:30:00.000Z",
    }
    event.update(fields)
    return event
