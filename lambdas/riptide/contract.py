"""What the stack, the functions and the local tooling promise each other, each name defined once.

Environment variable names, routes, handler paths and service names, the metrics namespace and
every metric name, the outbox's key prefixes and the Kinesis limits. Free of CDK and of the
Lambda runtime's dependencies, so `infra/`, the handlers and `tools/` all import it and cannot
drift apart.
"""

from __future__ import annotations

from typing import NamedTuple


class Env:
    """Environment variables the stack sets on the functions (and the local pipeline sets too).

    Plain strings, not an enum: they pass through CDK (jsii) and os.environ unchanged.
    """

    # Producer
    STREAM_NAME = "STREAM_NAME"
    WRITE_KEYS_SECRET_ARN = "WRITE_KEYS_SECRET_ARN"
    MAX_BATCH_BYTES = "MAX_BATCH_BYTES"
    MAX_BATCH_EVENTS = "MAX_BATCH_EVENTS"
    MAX_EVENT_BYTES = "MAX_EVENT_BYTES"
    TRUNCATE_IP = "TRUNCATE_IP"
    PARTITION_STRATEGY = "PARTITION_STRATEGY"
    PARTITION_BUCKETS = "PARTITION_BUCKETS"

    # Collector (the producer's variables, and these)
    COLLECTOR_LINGER_MS = "COLLECTOR_LINGER_MS"
    COLLECTOR_MAX_WAITING_BYTES = "COLLECTOR_MAX_WAITING_BYTES"
    COLLECTOR_PUBLISH_BUDGET_SECONDS = "COLLECTOR_PUBLISH_BUDGET_SECONDS"
    CORS_ALLOW_ORIGINS = "CORS_ALLOW_ORIGINS"
    COLLECTOR_PORT = "COLLECTOR_PORT"
    COLLECTOR_WORKERS = "COLLECTOR_WORKERS"
    FORWARDED_ALLOW_IPS = "FORWARDED_ALLOW_IPS"

    # Consumer and reconciler
    DRUID_URL = "DRUID_URL"
    DRUID_DATASOURCE = "DRUID_DATASOURCE"
    DRUID_SECRET_ARN = "DRUID_SECRET_ARN"
    QUARANTINE_BUCKET = "QUARANTINE_BUCKET"
    OUTBOX_BUCKET = "OUTBOX_BUCKET"
    ROLLUP_DIMENSIONS = "ROLLUP_DIMENSIONS"
    ROLLUP_METRICS = "ROLLUP_METRICS"
    LATE_TOLERANCE_SECONDS = "LATE_TOLERANCE_SECONDS"
    FUTURE_TOLERANCE_SECONDS = "FUTURE_TOLERANCE_SECONDS"
    DRUID_TIMEOUT_SECONDS = "DRUID_TIMEOUT_SECONDS"

    # Profile consumer and read API
    PROFILE_STORE_URL = "PROFILE_STORE_URL"
    PROFILE_STORE_CLUSTER = "PROFILE_STORE_CLUSTER"
    ANONYMOUS_PROFILE_TTL_DAYS = "ANONYMOUS_PROFILE_TTL_DAYS"
    READ_KEYS_SECRET_ARN = "READ_KEYS_SECRET_ARN"
    ADMIN_KEYS_SECRET_ARN = "ADMIN_KEYS_SECRET_ARN"

    # Decisions (decider, trends job, rollup consumer)
    DECISIONS_URL = "DECISIONS_URL"
    """Where rules and trends live: s3://<bucket>[/<prefix>] or file:///<directory>."""

    # Deduplication window (rollup and profile consumers)
    DEDUP_WINDOW_SECONDS = "DEDUP_WINDOW_SECONDS"
    DEDUP_RETRY_SECONDS = "DEDUP_RETRY_SECONDS"

    # Powertools (names defined by aws-lambda-powertools)
    POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"


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


COLLECTOR_SERVICE = "riptide-collector"
HEALTH_PATH = "/health"
"""What the load balancer polls on the collector."""

PRODUCER = LambdaEntry("producer.handler.handler", "riptide-producer")
CONSUMER = LambdaEntry("consumer.handler.handler", "riptide-consumer")
RECONCILER = LambdaEntry("consumer.reconciler.handler", "riptide-reconciler")
PROFILES = LambdaEntry("profiles.handler.handler", "riptide-profiles")
CONTEXT = LambdaEntry("context.handler.handler", "riptide-context")
TRENDS = LambdaEntry("trends.handler.handler", "riptide-trends")

PROFILE_ROUTES = (
    ("GET", "/v1/profiles"),
    ("GET", "/v1/profiles/{id}"),
    ("DELETE", "/v1/profiles/{id}"),
)
"""The read API's routes on the HTTP API: bulk read (?ids=a,b,...), read one, delete one."""

DECIDE_ROUTE = ("POST", "/v1/decide")
"""Decisions for a shopper's placements, on the context API and on the collector."""
DECISION_EVENT = "Decision Made"
"""The track event each decision is written to the stream as: the exposure log."""

METRICS_NAMESPACE = "Riptide"
"""The CloudWatch namespace of every custom metric (Powertools reads it from the environment)."""


class MetricName:
    """Every custom metric the functions emit; alarms and the dashboard read them by these names."""

    # Producer
    EVENTS_ACCEPTED = "EventsAccepted"
    EVENTS_REJECTED = "EventsRejected"
    REQUESTS_REJECTED = "RequestsRejected"
    KINESIS_RECORDS = "KinesisRecords"
    PUT_PAYLOAD_UNITS = "PutPayloadUnits"
    PUT_RETRIES = "PutRetries"
    BYTES = "Bytes"
    EVENTS_POSSIBLY_DUPLICATED = "EventsPossiblyDuplicated"

    # Consumer
    EVENTS_IN = "EventsIn"
    BATCHES_DEFERRED = "BatchesDeferred"
    ROLLUP_ROWS = "RollupRows"
    EVENTS_LATE = "EventsLate"
    EVENTS_CLAMPED = "EventsClamped"
    EVENTS_QUARANTINED = "EventsQuarantined"
    DRUID_LATENCY = "DruidLatency"
    DRUID_TASKS_PUSHED = "DruidTasksPushed"
    DRUID_DUPLICATES_SEEN = "DruidDuplicatesSeen"
    DUPLICATES_DROPPED = "DuplicatesDropped"
    """Copies of a message the deduplication window dropped, by site."""

    # Profile consumer
    PROFILE_EVENTS_APPLIED = "ProfileEventsApplied"
    PROFILE_EVENTS_REPLAYED = "ProfileEventsReplayed"
    PROFILE_EVENTS_UNUSABLE = "ProfileEventsUnusable"
    PROFILE_DUPLICATES_DROPPED = "ProfileDuplicatesDropped"
    PROFILE_STORE_COMMANDS = "ProfileStoreCommands"
    PROFILE_STORE_FAILURES = "ProfileStoreFailures"
    PROFILE_FRESHNESS = "ProfileFreshness"

    # Reconciler
    OUTBOX_PENDING = "OutboxPending"
    TASKS_REDRIVEN = "TasksRedriven"
    TASKS_RESUBMITTED = "TasksResubmitted"
    TASKS_PUBLISHED_DESPITE_FAILURE = "TasksPublishedDespiteFailure"
    TASKS_PUBLICATION_UNKNOWN = "TasksPublicationUnknown"
    OUTBOX_OLDEST_AGE_SECONDS = "OutboxOldestAgeSeconds"

    # Trends job
    TRENDS_SITES_REFRESHED = "TrendsSitesRefreshed"
    TRENDS_FAILURES = "TrendsFailures"
    """Failed trends queries and trends document writes; the documents concerned kept their
    last trends."""


OUTBOX_PENDING_PREFIX = "pending/"
"""Outbox entries whose Druid task is not yet confirmed; they never expire."""
OUTBOX_DONE_PREFIX = "done/"
"""Markers of delivered tasks, kept so late redeliveries stay covered; the bucket expires them."""

PUT_PAYLOAD_UNIT_BYTES = 25_000
"""Kinesis bills each record in PUT payload units of 25 KB (taken at the lower reading)."""
MAX_RECORD_BYTES = 1_048_576
"""Kinesis' limit on one record's data plus partition key."""
MAX_RECORDS_PER_PUT = 500
MAX_BYTES_PER_PUT = 5 * 1_048_576
"""PutRecords accepts at most 500 records and 5 MiB (data plus partition keys) per call."""
