"""The one home of every default a function and the stack share.

The stack's settings (infra/settings.py) take their defaults from here, and a function whose
environment lacks a variable falls back to the same value, so a function never behaves
differently from how the stack would have configured it (e.g. it truncates IP addresses unless
told otherwise).
"""

MAX_BATCH_BYTES = 512_000
MAX_BATCH_EVENTS = 2_500
MAX_EVENT_BYTES = 32_768
"""Segment's documented limits: 500 KB and 2,500 events per batch, 32 KB per event."""
TRUNCATE_IP = True
"""Privacy first: the host part of client addresses is zeroed unless a deployment opts out."""
PARTITION_STRATEGY = "spread"
PARTITION_BUCKETS = 64

DRUID_DATASOURCE = "events_1m"
LATE_TOLERANCE_SECONDS = 7 * 24 * 3600
FUTURE_TOLERANCE_SECONDS = 300
DRUID_TIMEOUT_SECONDS = 10.0

ANONYMOUS_PROFILE_TTL_DAYS = 30
"""An anonymous profile without activity for this long expires; a user's profile stays."""
IDENTITY_CAP = 25
"""Most anonymousIds joined to one user; joining one more lets go of the oldest's link."""
PROFILE_STORE_CLUSTER = True
"""ElastiCache Serverless answers in cluster mode; a local single server does not."""
