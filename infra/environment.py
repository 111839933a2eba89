"""The environment variables each Lambda function gets, from the settings and resource names.

Free of CDK imports, so the local pipeline gives the handlers exactly what the stack gives them.
"""

from __future__ import annotations

from infra.lambda_env import env
from infra.settings import Settings


def producer_environment(
    settings: Settings, *, stream_name: str, write_keys_secret_arn: str
) -> dict[str, str]:
    return {
        env.STREAM_NAME: stream_name,
        env.WRITE_KEYS_SECRET_ARN: write_keys_secret_arn,
        env.MAX_BATCH_BYTES: str(settings.max_batch_bytes),
        env.MAX_BATCH_EVENTS: str(settings.max_batch_events),
        env.MAX_EVENT_BYTES: str(settings.max_event_bytes),
        env.TRUNCATE_IP: "true" if settings.truncate_ip else "false",
        env.PARTITION_STRATEGY: settings.partition_strategy,
        env.PARTITION_BUCKETS: str(settings.partition_buckets),
    }


def rollup_environment(
    settings: Settings, *, druid_secret_arn: str, quarantine_bucket: str, outbox_bucket: str
) -> dict[str, str]:
    """What the consumer and the reconciler share."""
    return {
        env.DRUID_URL: settings.druid_url,
        env.DRUID_DATASOURCE: settings.druid_datasource,
        env.DRUID_SECRET_ARN: druid_secret_arn,
        env.QUARANTINE_BUCKET: quarantine_bucket,
        env.OUTBOX_BUCKET: outbox_bucket,
        env.ROLLUP_DIMENSIONS: settings.rollup_dimensions,
        env.ROLLUP_METRICS: settings.rollup_metrics,
        env.LATE_TOLERANCE_SECONDS: str(settings.late_tolerance_seconds),
        env.FUTURE_TOLERANCE_SECONDS: str(settings.future_tolerance_seconds),
    }
