"""API Gateway HTTP API events (payload format 2.0), as a Lambda proxy integration receives them."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tools.lambda_kit.context import ACCOUNT_ID

TEXT_CONTENT_TYPES = ("application/json", "text/", "application/xml", "application/javascript")


def payload_v2_event(
    *,
    method: str,
    raw_path: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    domain_name: str,
    received_at: datetime | None = None,
    route_key: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event API Gateway's HTTP API sends a Lambda proxy integration (payload format 2.0):
    headers lowercased (repeats joined by commas), binary or compressed bodies base64-encoded,
    requestContext filled in; `received_at` (now unless given) stamps the request. `route_key`
    names the matched route ("GET /v1/projects/{writeKey}/settings"; default method and path),
    whose `path_parameters` fill pathParameters."""
    path, _, query = raw_path.partition("?")
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    encoded = _needs_base64(merged, body)
    now = received_at or datetime.now(UTC)
    route_key = route_key or f"{method} {path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if body:
        event["body"] = base64.b64encode(body).decode() if encoded else body.decode()
    if query:
        event["queryStringParameters"] = dict(
            part.split("=", 1) if "=" in part else (part, "") for part in query.split("&")
        )
    if "cookie" in merged:
        event["cookies"] = [cookie.strip() for cookie in merged["cookie"].split(";")]
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


def _needs_base64(headers: dict[str, str], body: bytes) -> bool:
    """API Gateway passes text bodies as they are and base64-encodes everything else."""
    if headers.get("content-encoding"):
        return True
    content_type = headers.get("content-type", "application/json").lower()
    if not content_type.startswith(TEXT_CONTENT_TYPES):
        return True
    try:
        body.decode()
    except UnicodeDecodeError:
        return True
    return False
