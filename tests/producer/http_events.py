"""Requests to the Tracking API as the producer receives them (API Gateway payload 2.0 events,
built by tools/lambda_kit), and the producer function the contexts belong to."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from typing import Any

from tools.lambda_kit.context import FunctionSpec
from tools.lambda_kit.http_api import payload_v2_event

SOURCE_IP = "203.0.113.77"
WRITE_KEY = "wk_test_7c1e"
SITE = "site-test"
DOMAIN = "api.example.com"
REQUEST_TIME = datetime(2026, 11, 27, 16, 35, 46, tzinfo=UTC)
PRODUCER = FunctionSpec("riptide-producer", timeout_seconds=10, memory_mb=512)


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
    return api_request(method, path, all_headers, data, source_ip)


def api_request(
    method: str, path: str, headers: dict[str, str], data: bytes, source_ip: str = SOURCE_IP
) -> dict[str, Any]:
    """The event API Gateway hands the producer for one HTTP request to api.example.com."""
    return payload_v2_event(
        method=method,
        raw_path=path,
        headers={
            **{name.lower(): value for name, value in headers.items()},
            "content-length": str(len(data)),
            "host": DOMAIN,
        }.items(),
        body=data,
        source_ip=source_ip,
        domain_name=DOMAIN,
        received_at=REQUEST_TIME,
    )


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
