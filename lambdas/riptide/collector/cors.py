"""CORS for the collector, which a load balancer does not do (API Gateway does it for the Lambda).

Allowed origins come from CORS_ALLOW_ORIGINS (the stack's corsAllowOrigins, comma-separated;
`*` by default). An answer to an allowed origin names it (or `*`), so the browser lets the page
read it; analytics-next counts a CORS failure as a lost request and sends the events again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from riptide.contract import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE_SECONDS,
    Env,
)

ANY_ORIGIN = "*"

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class CorsPolicy:
    origins: frozenset[str] = frozenset({ANY_ORIGIN})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CorsPolicy:
        raw = (os.environ if environ is None else environ).get(Env.CORS_ALLOW_ORIGINS, "")
        origins = frozenset(origin.strip() for origin in raw.split(",") if origin.strip())
        return cls(origins or frozenset({ANY_ORIGIN}))

    def headers(self, origin: bytes | None) -> Headers:
        """What an answer to a request from `origin` carries."""
        expose = (b"access-control-expose-headers", ",".join(CORS_EXPOSE_HEADERS).encode())
        if ANY_ORIGIN in self.origins:
            return [(b"access-control-allow-origin", b"*"), expose]
        if origin is not None and origin.decode("latin-1") in self.origins:
            return [(b"access-control-allow-origin", origin), expose, (b"vary", b"Origin")]
        return [(b"vary", b"Origin")]

    def preflight(self, origin: bytes | None) -> Headers:
        """What the answer to an OPTIONS preflight carries."""
        return [
            *self.headers(origin),
            (b"access-control-allow-headers", ",".join(CORS_ALLOW_HEADERS).encode()),
            (b"access-control-allow-methods", ",".join(CORS_ALLOW_METHODS).encode()),
            (b"access-control-max-age", str(CORS_MAX_AGE_SECONDS).encode()),
        ]
