"""API Gateway HTTP API's CORS handling, for the local stand-in of the ingest API.

With a CORS configuration, API Gateway answers every preflight (OPTIONS with
Access-Control-Request-Method) itself, on any path, without calling the integration; on every
other request from an allowed origin it adds the configured headers to the answer, whatever its
status, and ignores CORS headers the integration set. Browsers need those headers on error
answers too: analytics-next treats an answer it may not read as a network failure and sends the
event again. AWS documents this for the integration's answers; the stand-in also puts them on
its own (no route, body too large, function failed), where API Gateway's behaviour is not
documented.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from riptide.contract import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE_SECONDS,
)

Answer = tuple[int, dict[str, str], bytes]

_CORS_PREFIX = "access-control-"


@dataclass(frozen=True)
class CorsPolicy:
    """What the HTTP API's CorsConfiguration holds (the stack fills it the same way)."""

    allow_origins: Sequence[str]
    allow_methods: Sequence[str]
    allow_headers: Sequence[str]
    expose_headers: Sequence[str]
    max_age_seconds: int

    @classmethod
    def for_origins(cls, allow_origins: Sequence[str]) -> CorsPolicy:
        """The policy the stack configures, with the corsAllowOrigins setting."""
        return cls(
            allow_origins=tuple(allow_origins),
            allow_methods=CORS_ALLOW_METHODS,
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            max_age_seconds=CORS_MAX_AGE_SECONDS,
        )

    def allowed_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for `origin`, or None when it is not allowed."""
        if origin is None:
            return None
        if "*" in self.allow_origins:
            return "*"
        return origin if origin in self.allow_origins else None

    @staticmethod
    def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
        return method == "OPTIONS" and "access-control-request-method" in headers

    def preflight(self, headers: Mapping[str, str]) -> Answer:
        """API Gateway's own 204 to a preflight; without CORS headers when the origin, method
        or headers asked for are not allowed, so the browser refuses the request."""
        origin = self.allowed_origin(headers.get("origin"))
        method = headers.get("access-control-request-method", "").upper()
        asked = _names(headers.get("access-control-request-headers", ""))
        allowed = {name.lower() for name in self.allow_headers}
        if origin is None or method not in self.allow_methods or not asked <= allowed:
            return 204, {}, b""
        return (
            204,
            {
                "access-control-allow-origin": origin,
                "access-control-allow-methods": ",".join(self.allow_methods),
                "access-control-allow-headers": ",".join(self.allow_headers).lower(),
                "access-control-max-age": str(self.max_age_seconds),
                "vary": "origin",
            },
            b"",
        )

    def decorate(self, request_headers: Mapping[str, str], answer: Answer) -> Answer:
        """The answer to a CORS request as API Gateway sends it: the integration's CORS headers
        dropped, the configured ones added when the origin is allowed."""
        status, headers, body = answer
        kept = {name: value for name, value in headers.items() if not name.startswith(_CORS_PREFIX)}
        origin = self.allowed_origin(request_headers.get("origin"))
        if origin is not None:
            kept["access-control-allow-origin"] = origin
            kept["access-control-expose-headers"] = ",".join(self.expose_headers).lower()
            kept["vary"] = "origin"
        return status, kept, body


def _names(header_list: str) -> set[str]:
    return {name.strip().lower() for name in header_list.split(",") if name.strip()}
