"""The environment variables each Lambda function gets, from the settings and resource names.

Free of CDK imports, so the local pipeline gives the handlers exactly what the stack gives them.
"""

from __future__ import annotations

from infra.settings import Settings
from riptide.contract import COLLECTOR_SERVICE, METRICS_NAMESPACE, Env

COLLECTOR_PORT = 8080
CPU_UNITS_PER_VCPU = 1024


def producer_environment(
    settings: Settings, *, stream_name: str, write_keys_secret_arn: str
) -> dict[str, str]:
    return {
        **stream_writer_environment(settings, stream_name=stream_name),
        Env.WRITE_KEYS_SECRET_ARN: write_keys_secret_arn,
    }


def stream_writer_environment(settings: Settings, *, stream_name: str) -> dict[str, str]:
    """How the producer checks, enriches and aggregates events into the stream; shared by every
    function that writes events, so they all land alike."""
    return {
        Env.STREAM_NAME: stream_name,
        Env.MAX_BATCH_BYTES: str(settings.max_batch_bytes),
        Env.MAX_BATCH_EVENTS: str(settings.max_batch_events),
        Env.MAX_EVENT_BYTES: str(settings.max_event_bytes),
        Env.TRUNCATE_IP: "true" if settings.truncate_ip else "false",
        Env.PARTITION_STRATEGY: settings.partition_strategy,
        Env.PARTITION_BUCKETS: str(settings.partition_buckets),
    }


def collector_environment(
    settings: Settings, *, stream_name: str, write_keys_secret_arn: str
) -> dict[str, str]:
    """The producer's variables, and one worker process per vCPU of the task."""
    return {
        **producer_environment(
            settings, stream_name=stream_name, write_keys_secret_arn=write_keys_secret_arn
        ),
        Env.COLLECTOR_LINGER_MS: str(settings.collector_linger_ms),
        Env.CORS_ALLOW_ORIGINS: ",".join(settings.cors_allow_origins),
        Env.COLLECTOR_PORT: str(COLLECTOR_PORT),
        Env.COLLECTOR_WORKERS: str(max(1, settings.collector_cpu // CPU_UNITS_PER_VCPU)),
        Env.FORWARDED_ALLOW_IPS: "*",  # only the load balancer can reach a task
        Env.POWERTOOLS_SERVICE_NAME: COLLECTOR_SERVICE,
        Env.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    }


def rollup_environment(
    settings: Settings, *, druid_secret_arn: str, quarantine_bucket: str, outbox_bucket: str
) -> dict[str, str]:
    """What the consumer and the reconciler share."""
    return {
        Env.DRUID_URL: settings.druid_url,
        Env.DRUID_DATASOURCE: settings.druid_datasource,
        Env.DRUID_SECRET_ARN: druid_secret_arn,
        Env.QUARANTINE_BUCKET: quarantine_bucket,
        Env.OUTBOX_BUCKET: outbox_bucket,
        Env.ROLLUP_DIMENSIONS: settings.rollup_dimensions,
        Env.ROLLUP_METRICS: settings.rollup_metrics,
        Env.LATE_TOLERANCE_SECONDS: str(settings.late_tolerance_seconds),
        Env.FUTURE_TOLERANCE_SECONDS: str(settings.future_tolerance_seconds),
    }


def store_environment(settings: Settings, *, store_url: str, store_cluster: bool) -> dict[str, str]:
    """What every function that reaches the store shares: the store and the deduplication window,
    whose claims outlive the window by the longest a record is retried (its maximum age)."""
    return {
        Env.PROFILE_STORE_URL: store_url,
        Env.PROFILE_STORE_CLUSTER: "true" if store_cluster else "false",
        Env.DEDUP_WINDOW_SECONDS: str(settings.dedup_window_seconds),
        Env.DEDUP_RETRY_SECONDS: str(settings.max_record_age_seconds),
    }


def profiles_environment(
    settings: Settings,
    *,
    store_url: str,
    store_cluster: bool,
    read_keys_secret_arn: str | None = None,
    admin_keys_secret_arn: str | None = None,
) -> dict[str, str]:
    """What the profile consumer and the read API share (the key secrets: the read API only)."""
    environment = {
        **store_environment(settings, store_url=store_url, store_cluster=store_cluster),
        Env.ANONYMOUS_PROFILE_TTL_DAYS: str(settings.anonymous_profile_ttl_days),
    }
    if read_keys_secret_arn:
        environment[Env.READ_KEYS_SECRET_ARN] = read_keys_secret_arn
    if admin_keys_secret_arn:
        environment[Env.ADMIN_KEYS_SECRET_ARN] = admin_keys_secret_arn
    return environment


def decisions_url(bucket_name: str) -> str:
    """DECISIONS_URL of the stack's decisions bucket: rules/ and trends/ at its root."""
    return f"s3://{bucket_name}"


def decisions_environment(decisions_url: str) -> dict[str, str]:
    """What every reader or writer of rules and trends gets (an s3:// or file:// URL)."""
    return {Env.DECISIONS_URL: decisions_url}


def decider_environment(
    settings: Settings, *, decisions_url: str, stream_name: str
) -> dict[str, str]:
    """What the decide route adds to the read API's variables: the rules and trends, and the
    producer's stream variables, so Decision Made events are encoded, aggregated and published
    exactly as the producer writes events. No write keys: a read key gives the site."""
    return {
        **decisions_environment(decisions_url),
        **stream_writer_environment(settings, stream_name=stream_name),
    }


def trends_environment(
    settings: Settings, *, decisions_url: str, druid_secret_arn: str
) -> dict[str, str]:
    """The trends job: Druid to query (each query bounded) and where the documents go."""
    return {
        **decisions_environment(decisions_url),
        Env.DRUID_URL: settings.druid_url,
        Env.DRUID_DATASOURCE: settings.druid_datasource,
        Env.DRUID_SECRET_ARN: druid_secret_arn,
        Env.DRUID_TIMEOUT_SECONDS: str(settings.trends_query_timeout_seconds),
    }
