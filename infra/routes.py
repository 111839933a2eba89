"""The Tracking API paths the ingest API routes to the producer (POST /v1/<path>).

Free of CDK imports, so the local pipeline serves exactly the stack's routes.
"""

SEGMENT_PATHS = ("batch", "track", "page", "screen", "identify", "group", "alias")
