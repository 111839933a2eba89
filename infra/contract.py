"""What the stack promises the code it runs and the clients it serves: routes, handlers and the
service names metrics carry. Free of CDK imports, so the local pipeline runs the same handlers
under the same names on the same routes.
"""

from typing import NamedTuple

SEGMENT_PATHS = ("batch", "track", "page", "screen", "identify", "group", "alias")
"""The Tracking API paths the ingest API routes to the producer (POST /v1/<path>)."""


class LambdaEntry(NamedTuple):
    handler: str
    service: str


PRODUCER = LambdaEntry("producer.handler.handler", "riptide-producer")
CONSUMER = LambdaEntry("consumer.handler.handler", "riptide-consumer")
RECONCILER = LambdaEntry("consumer.reconciler.handler", "riptide-reconciler")
