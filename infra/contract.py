"""What the stack promises the code it runs and the clients it serves: routes, handlers and the
service names metrics carry. Free of CDK imports, so the local pipeline runs the same handlers
under the same names on the same routes.
"""

from typing import NamedTuple

SEGMENT_PATHS = ("batch", "track", "page", "screen", "identify", "group", "alias")
"""The Tracking API paths the ingest API routes to the producer (POST /v1/<path>)."""

SDK_PATHS = ("b", "t", "p", "i", "g", "a", "s")
"""The short forms client SDKs post to, also POST /v1/<path>: batches at /v1/b (analytics-next's
batching mode, analytics-swift, analytics-kotlin) and one event at /v1/<first letter of its
type> (analytics-next's standard mode)."""

INGEST_PATHS = SEGMENT_PATHS + SDK_PATHS

SDK_SETTINGS_ROUTE = "/v1/projects/{writeKey}/settings"
"""GET: the settings analytics-next and the mobile SDKs load from their CDN, pointing at us."""

CORS_ALLOW_METHODS = ("GET", "POST")
CORS_ALLOW_HEADERS = ("Content-Type", "Authorization", "Content-Encoding", "X-Retry-Count")
"""analytics-next sends Basic auth with the write key and X-Retry-Count on retries."""
CORS_EXPOSE_HEADERS = ("Retry-After", "X-RateLimit-Reset")
"""Read by the SDKs on a 429; a page's script sees only response headers exposed to it."""
CORS_MAX_AGE_SECONDS = 3600


class LambdaEntry(NamedTuple):
    handler: str
    service: str


PRODUCER = LambdaEntry("producer.handler.handler", "riptide-producer")
CONSUMER = LambdaEntry("consumer.handler.handler", "riptide-consumer")
RECONCILER = LambdaEntry("consumer.reconciler.handler", "riptide-reconciler")
