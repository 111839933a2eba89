"""Deployment settings: one typed, validated model read from CDK context.

Each setting is declared once, with its context key, default, allowed values and a one-line
description, so that synth-time validation and the README settings table come from the same
place. Values arrive as JSON types from cdk.json and as strings from `cdk -c key=value`. Defaults
the functions share (limits, IP truncation, tolerances) come from riptide.defaults, so a function
that lacks a variable behaves as the stack would have configured it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

from riptide import defaults
from riptide.config import ConfigurationError

REQUIRED = object()
"""Marks a setting that has no default and must be given."""

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
"""The retention periods CloudWatch Logs accepts."""

API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 30
LAMBDA_MAX_TIMEOUT_SECONDS = 900

Check = Callable[[Any], str | None]
"""Returns why a parsed value is invalid (completing "<key> must ..."), or None when valid."""


@dataclass(frozen=True)
class SettingSpec:
    """How one setting is named, parsed, checked and documented."""

    key: str
    default: Any
    description: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[Any, ...] = ()
    check: Check | None = None
    allowed_text: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def allowed(self) -> str:
        """Human-readable allowed values, for the settings table."""
        if self.allowed_text:
            return self.allowed_text
        if self.choices:
            return ", ".join(f"`{_render(choice)}`" for choice in self.choices)
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"at least {self.minimum}"
        return ""


def setting(
    key: str,
    default: Any,
    description: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    choices: tuple[Any, ...] = (),
    check: Check | None = None,
    allowed: str = "",
) -> Any:
    """Declares a Settings field together with its spec."""
    spec = SettingSpec(key, default, description, minimum, maximum, choices, check, allowed)
    return field(metadata={"spec": spec})


def _matches(pattern: str, what: str) -> Check:
    compiled = re.compile(pattern)
    return lambda value: None if compiled.fullmatch(value) else f"be {what}, got {value!r}"


def _optional(check: Check) -> Check:
    return lambda value: None if value in ("", ()) else check(value)


def _each(check: Check) -> Check:
    def check_all(values: tuple[str, ...]) -> str | None:
        problems = [problem for value in values if (problem := check(value))]
        return problems[0] if problems else None

    return check_all


def _json_of(kind: type, what: str) -> Check:
    def check(value: str) -> str | None:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as error:
            return f"be {what} in JSON, got invalid JSON ({error.msg} at {error.pos})"
        return None if isinstance(parsed, kind) else f"be {what} in JSON, got {value!r}"

    return check


_http_url = _matches(r"https?://[^\s/]+(/\S*)?", "an http:// or https:// URL")
_origin = _matches(r"\*|https?://[^\s/]+", "* or an origin like https://shop.example.com")


@dataclass(frozen=True)
class Settings:
    """Every deployment knob of the Riptide stack, validated."""

    stack_name: str = setting(
        "stackName", "Riptide", "CloudFormation stack name.",
        check=_matches(r"[A-Za-z][A-Za-z0-9-]{0,127}", "a CloudFormation stack name"),
    )  # fmt: skip

    # Ingest API
    cors_allow_origins: tuple[str, ...] = setting(
        "corsAllowOrigins", ("*",),
        "Origins browsers may send events from (comma-separated on the command line).",
        check=_each(_origin), allowed="`*` or origins",
    )  # fmt: skip
    api_throttle_rate_limit: int = setting(
        "apiThrottleRateLimit", 5000, "Steady requests per second the API stage accepts.",
        minimum=1, maximum=1_000_000,
    )  # fmt: skip
    api_throttle_burst_limit: int = setting(
        "apiThrottleBurstLimit", 5000, "Requests the API stage absorbs in a burst above the rate.",
        minimum=1, maximum=1_000_000,
    )  # fmt: skip
    ingress: str = setting(
        "ingress", "lambda",
        "`lambda`: API Gateway + producer Lambda; `collector`: the group-commit collector on "
        "ECS Fargate behind a load balancer; `both`: each with its own URL.",
        choices=("lambda", "collector", "both"),
    )  # fmt: skip
    collector_certificate_arn: str = setting(
        "collectorCertificateArn", "",
        "ACM certificate of the collector's HTTPS listener; empty: plain HTTP (tests only).",
        check=_optional(_matches(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+",
                                 "an ACM certificate ARN")),
        allowed="ACM certificate ARN or empty",
    )  # fmt: skip
    collector_cpu: int = setting(
        "collectorCpu", 1024, "CPU units of a collector task (1024 = 1 vCPU; one worker each).",
        choices=(256, 512, 1024, 2048, 4096),
    )  # fmt: skip
    collector_memory_mb: int = setting(
        "collectorMemoryMb", 2048, "Memory of a collector task (MB), valid for its CPU on Fargate.",
        minimum=512, maximum=30720,
    )  # fmt: skip
    collector_min_tasks: int = setting(
        "collectorMinTasks", 2, "Fewest collector tasks (spread over two zones).",
        minimum=1, maximum=1000,
    )  # fmt: skip
    collector_max_tasks: int = setting(
        "collectorMaxTasks", 20, "Most collector tasks autoscaling may run.",
        minimum=1, maximum=1000,
    )  # fmt: skip
    collector_target_cpu_percent: int = setting(
        "collectorTargetCpuPercent", 60, "Average CPU autoscaling keeps the collector tasks at.",
        minimum=10, maximum=90,
    )  # fmt: skip
    collector_requests_per_task: int = setting(
        "collectorRequestsPerTask", 1500,
        "Requests per second per task autoscaling aims at (measure with `riptide load`).",
        minimum=1, maximum=100_000,
    )  # fmt: skip
    collector_linger_ms: int = setting(
        "collectorLingerMs", 15,
        "Most ms an event waits for others to share its Kinesis record (and its answer waits).",
        minimum=0, maximum=1000,
    )  # fmt: skip
    log_retention_days: int = setting(
        "logRetentionDays", 30, "Days to keep API access logs and Lambda logs.",
        choices=LOG_RETENTION_DAYS, allowed="a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, ...)",
    )  # fmt: skip

    # Producer
    producer_memory_mb: int = setting(
        "producerMemoryMb", 1024, "Producer Lambda memory (MB); CPU scales with it.",
        minimum=128, maximum=10240,
    )  # fmt: skip
    producer_timeout_seconds: int = setting(
        "producerTimeoutSeconds", 10,
        "Producer Lambda timeout; below API Gateway's 30 s integration timeout.",
        minimum=1, maximum=API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1,
    )  # fmt: skip
    max_batch_bytes: int = setting(
        "maxBatchBytes", defaults.MAX_BATCH_BYTES,
        "Largest request body accepted (bytes, after decompression).",
        minimum=1024, maximum=16 * 1024 * 1024,
    )  # fmt: skip
    max_batch_events: int = setting(
        "maxBatchEvents", defaults.MAX_BATCH_EVENTS, "Most events accepted in one request.",
        minimum=1, maximum=100_000,
    )  # fmt: skip
    max_event_bytes: int = setting(
        "maxEventBytes", defaults.MAX_EVENT_BYTES, "Largest single event accepted (bytes).",
        minimum=256, maximum=1_000_000,
    )  # fmt: skip
    truncate_ip: bool = setting(
        "truncateIp", defaults.TRUNCATE_IP,
        "Zero the host part of client IPs before events are stored.",
    )  # fmt: skip
    partition_strategy: str = setting(
        "partitionStrategy", defaults.PARTITION_STRATEGY,
        "`spread`: records spread evenly over the shards; `user`: one user's events stay in order.",
        choices=("spread", "user"),
    )  # fmt: skip
    partition_buckets: int = setting(
        "partitionBuckets", defaults.PARTITION_BUCKETS,
        "With partitionStrategy=user: buckets users hash into, one shard each; records fill per "
        "bucket, so keep it near shardCount.",
        minimum=1, maximum=65_536,
    )  # fmt: skip

    # Stream
    stream_mode: str = setting(
        "streamMode", "provisioned",
        "Kinesis capacity mode: `provisioned` (cheaper at steady volume) or `on_demand`.",
        choices=("provisioned", "on_demand"),
    )  # fmt: skip
    shard_count: int = setting(
        "shardCount", 2, "Provisioned shards; each takes 1 MB/s or 1,000 records/s in.",
        minimum=1, maximum=10_000,
    )  # fmt: skip
    stream_retention_hours: int = setting(
        "streamRetentionHours", 24, "Hours records stay replayable in the stream.",
        minimum=24, maximum=8760,
    )  # fmt: skip

    # Rollup consumer
    druid_url: str = setting(
        "druidUrl", REQUIRED, "Base URL of the Druid router or Overlord, e.g. https://druid:8888.",
        check=_http_url, allowed="http(s) URL",
    )  # fmt: skip
    druid_datasource: str = setting(
        "druidDatasource", defaults.DRUID_DATASOURCE,
        "Druid datasource the rollups are appended to.",
        check=_matches(r"[A-Za-z0-9_.\-]{1,255}", "letters, digits, '_', '.' or '-'"),
    )  # fmt: skip
    rollup_dimensions: str = setting(
        "rollupDimensions", "",
        'Rollup dimensions as a JSON object {"<name>": "<event field path>"}; empty: built-in.',
        check=_optional(_json_of(dict, "an object")), allowed="JSON object or empty",
    )  # fmt: skip
    rollup_metrics: str = setting(
        "rollupMetrics", "",
        'Rollup metrics as a JSON object {"<name>": {"type": ..., "field": ...}}; empty: built-in.',
        check=_optional(_json_of(dict, "an object")), allowed="JSON object or empty",
    )  # fmt: skip
    late_tolerance_seconds: int = setting(
        "lateToleranceSeconds", defaults.LATE_TOLERANCE_SECONDS,
        "How old an event's timestamp may be and still be rolled up.",
        minimum=0, maximum=7 * 86400,
    )  # fmt: skip
    future_tolerance_seconds: int = setting(
        "futureToleranceSeconds", defaults.FUTURE_TOLERANCE_SECONDS,
        "How far in the future an event's timestamp may be.", minimum=0, maximum=86400,
    )  # fmt: skip
    consumer_memory_mb: int = setting(
        "consumerMemoryMb", 1024, "Consumer Lambda memory (MB).", minimum=128, maximum=10240,
    )  # fmt: skip
    consumer_timeout_seconds: int = setting(
        "consumerTimeoutSeconds", 120, "Consumer Lambda timeout (seconds).",
        minimum=1, maximum=LAMBDA_MAX_TIMEOUT_SECONDS,
    )  # fmt: skip
    batch_size: int = setting(
        "batchSize", 1000, "Most Kinesis records per consumer invocation.",
        minimum=1, maximum=10_000,
    )  # fmt: skip
    max_batching_window_seconds: int = setting(
        "maxBatchingWindowSeconds", 5, "Seconds Lambda may wait to fill a batch.",
        minimum=0, maximum=300,
    )  # fmt: skip
    retry_attempts: int = setting(
        "retryAttempts", 10, "Retries of a failing batch before it goes to the dead-letter queue.",
        minimum=0, maximum=10_000,
    )  # fmt: skip
    max_record_age_seconds: int = setting(
        "maxRecordAgeSeconds", 21_600,
        "Records older than this go to the dead-letter queue unprocessed.",
        minimum=60, maximum=604_800,
    )  # fmt: skip
    tumbling_window_seconds: int = setting(
        "tumblingWindowSeconds", 60,
        "Tumbling window over which the consumer aggregates; 0 turns windows off.",
        minimum=0, maximum=900,
    )  # fmt: skip
    quarantine_expiry_days: int = setting(
        "quarantineExpiryDays", 30, "Days quarantined records are kept.", minimum=1, maximum=3650,
    )  # fmt: skip
    outbox_expiry_days: int = setting(
        "outboxExpiryDays", 14,
        "Days a delivered task's done marker is kept (at least the stream retention); "
        "pending ones stay.",
        minimum=1, maximum=3650,
    )  # fmt: skip
    access_log_expiry_days: int = setting(
        "accessLogExpiryDays", 90, "Days S3 server access logs of the buckets are kept.",
        minimum=1, maximum=3650,
    )  # fmt: skip

    # Reconciler
    reconciler_schedule_minutes: int = setting(
        "reconcilerScheduleMinutes", 5, "Minutes between reconciler runs (re-drives failed tasks).",
        minimum=1, maximum=1440,
    )  # fmt: skip
    reconciler_memory_mb: int = setting(
        "reconcilerMemoryMb", 512, "Reconciler Lambda memory (MB).", minimum=128, maximum=10240,
    )  # fmt: skip
    reconciler_timeout_seconds: int = setting(
        "reconcilerTimeoutSeconds", 120, "Reconciler Lambda timeout (seconds).",
        minimum=1, maximum=LAMBDA_MAX_TIMEOUT_SECONDS,
    )  # fmt: skip

    # Profiles (profile consumer, store and read API)
    profile_memory_mb: int = setting(
        "profileMemoryMb", 1024, "Profile consumer Lambda memory (MB).", minimum=128, maximum=10240,
    )  # fmt: skip
    profile_timeout_seconds: int = setting(
        "profileTimeoutSeconds", 60, "Profile consumer Lambda timeout (seconds).",
        minimum=1, maximum=LAMBDA_MAX_TIMEOUT_SECONDS,
    )  # fmt: skip
    profile_batch_size: int = setting(
        "profileBatchSize", 500, "Most Kinesis records per profile consumer invocation.",
        minimum=1, maximum=10_000,
    )  # fmt: skip
    profile_batching_window_seconds: int = setting(
        "profileBatchingWindowSeconds", 1,
        "Seconds Lambda may wait to fill a profile batch (freshness against cost).",
        minimum=0, maximum=300,
    )  # fmt: skip
    anonymous_profile_ttl_days: int = setting(
        "anonymousProfileTtlDays", defaults.ANONYMOUS_PROFILE_TTL_DAYS,
        "Days without activity after which an anonymous profile expires.",
        minimum=1, maximum=3650,
    )  # fmt: skip
    dedup_window_seconds: int = setting(
        "dedupWindowSeconds", defaults.DEDUP_WINDOW_SECONDS,
        "Seconds after a message's first copy in which a copy of it is dropped as a duplicate "
        "(store memory grows with it: see the cost model).",
        minimum=60, maximum=604_800,
    )  # fmt: skip
    context_memory_mb: int = setting(
        "contextMemoryMb", 512, "Context Lambda memory (MB): profile reads and decisions.",
        minimum=128, maximum=10240,
    )  # fmt: skip

    # Decisions (rules and trends, the decide route, the trends job)
    rules_versions_kept_days: int = setting(
        "rulesVersionsKeptDays", 365,
        "Days a replaced or deleted rules file stays restorable in the decisions bucket.",
        minimum=1, maximum=3650,
    )  # fmt: skip
    trends_versions_kept_days: int = setting(
        "trendsVersionsKeptDays", 1,
        "Days a replaced trends document is kept (one is written per site each run).",
        minimum=1, maximum=3650,
    )  # fmt: skip
    trends_schedule_minutes: int = setting(
        "trendsScheduleMinutes", 1, "Minutes between trends job runs (each queries Druid).",
        minimum=1, maximum=60,
    )  # fmt: skip
    trends_memory_mb: int = setting(
        "trendsMemoryMb", 512, "Trends job Lambda memory (MB).", minimum=128, maximum=10240,
    )  # fmt: skip
    trends_timeout_seconds: int = setting(
        "trendsTimeoutSeconds", 50,
        "Trends job Lambda timeout (seconds); within trendsScheduleMinutes, so runs never overlap.",
        minimum=1, maximum=LAMBDA_MAX_TIMEOUT_SECONDS,
    )  # fmt: skip
    trends_query_timeout_seconds: int = setting(
        "trendsQueryTimeoutSeconds", int(defaults.DRUID_TIMEOUT_SECONDS),
        "Most seconds the trends job waits for one Druid query; below trendsTimeoutSeconds.",
        minimum=1, maximum=LAMBDA_MAX_TIMEOUT_SECONDS,
    )  # fmt: skip

    # Network placement of the consumer and reconciler
    vpc_id: str = setting(
        "vpcId", "", "VPC the consumer and reconciler run in (with Druid); empty: no VPC.",
        check=_optional(_matches(r"vpc-[0-9a-f]{8,17}", "a VPC id like vpc-0abc1234")),
        allowed="vpc-... or empty",
    )  # fmt: skip
    vpc_subnet_ids: tuple[str, ...] = setting(
        "vpcSubnetIds", (), "Private subnets (comma-separated) for the consumer and reconciler.",
        check=_each(_matches(r"subnet-[0-9a-f]{8,17}", "subnet ids like subnet-0abc1234")),
        allowed="subnet-... list or empty",
    )  # fmt: skip
    vpc_security_group_id: str = setting(
        "vpcSecurityGroupId", "", "Security group of the consumer and reconciler (reaches Druid).",
        check=_optional(_matches(r"sg-[0-9a-f]{8,17}", "a security group id like sg-0abc1234")),
        allowed="sg-... or empty",
    )  # fmt: skip

    # Monitoring
    alarm_topic_arn: str = setting(
        "alarmTopicArn", "", "SNS topic that alarms notify; empty: alarms notify nobody.",
        check=_optional(_matches(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}",
                                 "an SNS topic ARN")),
        allowed="SNS topic ARN or empty",
    )  # fmt: skip
    iterator_age_alarm_seconds: int = setting(
        "iteratorAgeAlarmSeconds", 300, "Alarm when the oldest unread record is older than this.",
        minimum=1, maximum=604_800,
    )  # fmt: skip
    outbox_age_alarm_seconds: int = setting(
        "outboxAgeAlarmSeconds", 3600,
        "Alarm when a Druid task has waited this long without reaching SUCCESS.",
        minimum=60, maximum=1_209_600,
    )  # fmt: skip
    api_5xx_alarm_threshold: int = setting(
        "api5xxAlarmThreshold", 10, "Alarm at this many API 5xx responses in 5 minutes.",
        minimum=1,
    )  # fmt: skip
    collector_5xx_alarm_percent: int = setting(
        "collector5xxAlarmPercent", 1,
        "Alarm when this percentage of the collector's answers in 5 minutes are 5xx.",
        minimum=1, maximum=100,
    )  # fmt: skip
    collector_response_time_alarm_ms: int = setting(
        "collectorResponseTimeAlarmMs", 500,
        "Alarm when the collector's p99 answer time over 5 minutes is above this.",
        minimum=10, maximum=60_000,
    )  # fmt: skip
    function_error_alarm_threshold: int = setting(
        "functionErrorAlarmThreshold", 1, "Alarm at this many errors of a Lambda in 5 minutes.",
        minimum=1,
    )  # fmt: skip
    function_throttle_alarm_threshold: int = setting(
        "functionThrottleAlarmThreshold", 1,
        "Alarm at this many throttles of a Lambda in 5 minutes.", minimum=1,
    )  # fmt: skip
    trends_failures_alarm_threshold: int = setting(
        "trendsFailuresAlarmThreshold", 3,
        "Alarm at this many failed trends queries or document writes in 5 minutes (the "
        "documents concerned keep their last trends meanwhile).", minimum=1,
    )  # fmt: skip
    throughput_exceeded_alarm_threshold: int = setting(
        "throughputExceededAlarmThreshold", 100,
        "Alarm at this many stream writes rejected for throughput in 5 minutes.", minimum=1,
    )  # fmt: skip

    @classmethod
    def specs(cls) -> list[tuple[str, SettingSpec]]:
        """(attribute name, spec) of every setting, in declaration order."""
        return [(f.name, f.metadata["spec"]) for f in fields(cls)]

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | Callable[[str], Any]) -> Settings:
        """Parses and validates every setting; raises ConfigurationError listing all problems.

        `context` is a mapping or a lookup such as `app.node.try_get_context`.
        """
        lookup = context.get if isinstance(context, Mapping) else context
        types = get_type_hints(cls)
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, spec in cls.specs():
            raw = lookup(spec.key)
            if raw is None and spec.required:
                problems.append(f"{spec.key} must be set (-c {spec.key}=...)")
                continue
            try:
                value = _parse(types[name], spec.default if raw is None else raw)
            except ValueError as error:
                problems.append(f"{spec.key} must be {error}")
                continue
            if problem := _check(spec, value):
                problems.append(f"{spec.key} must {problem}")
            values[name] = value
        if problems:
            raise ConfigurationError(_listing(problems))
        settings = cls(**values)
        if problems := settings.relation_problems():
            raise ConfigurationError(_listing(problems))
        return settings

    def relation_problems(self) -> list[str]:
        """Problems that involve more than one setting."""
        problems = []
        if self.max_event_bytes > self.max_batch_bytes:
            problems.append(
                f"maxEventBytes ({self.max_event_bytes}) must not exceed maxBatchBytes "
                f"({self.max_batch_bytes})"
            )
        if self.max_record_age_seconds > self.stream_retention_hours * 3600:
            problems.append(
                f"maxRecordAgeSeconds ({self.max_record_age_seconds}) must not exceed the stream "
                f"retention (streamRetentionHours={self.stream_retention_hours})"
            )
        if self.outbox_expiry_days * 86400 < self.stream_retention_hours * 3600:
            problems.append(
                f"outboxExpiryDays ({self.outbox_expiry_days}) must cover the stream retention "
                f"(streamRetentionHours={self.stream_retention_hours}), and so "
                f"maxRecordAgeSeconds: a record redelivered or replayed after its delivery's "
                f"done marker expired would be counted twice"
            )
        if (
            self.stream_mode == "provisioned"
            and self.partition_strategy == "user"
            and self.partition_buckets < self.shard_count
        ):
            problems.append(
                f"partitionBuckets ({self.partition_buckets}) must be at least shardCount "
                f"({self.shard_count}) with partitionStrategy=user, or some shards get no records"
            )
        if self.collector_min_tasks > self.collector_max_tasks:
            problems.append(
                f"collectorMinTasks ({self.collector_min_tasks}) must not exceed "
                f"collectorMaxTasks ({self.collector_max_tasks})"
            )
        if self.trends_timeout_seconds > self.trends_schedule_minutes * 60:
            problems.append(
                f"trendsTimeoutSeconds ({self.trends_timeout_seconds}) must not exceed the "
                f"trends schedule (trendsScheduleMinutes={self.trends_schedule_minutes}), or "
                f"runs overlap"
            )
        if self.trends_query_timeout_seconds >= self.trends_timeout_seconds:
            problems.append(
                f"trendsQueryTimeoutSeconds ({self.trends_query_timeout_seconds}) must be below "
                f"trendsTimeoutSeconds ({self.trends_timeout_seconds})"
            )
        vpc_parts = (self.vpc_id, self.vpc_subnet_ids, self.vpc_security_group_id)
        if any(vpc_parts) and not all(vpc_parts):
            problems.append(
                "vpcId, vpcSubnetIds and vpcSecurityGroupId must be set together (or none of them)"
            )
        return problems

    @property
    def in_vpc(self) -> bool:
        return bool(self.vpc_id)

    @property
    def with_lambda_ingress(self) -> bool:
        return self.ingress in ("lambda", "both")

    @property
    def with_collector(self) -> bool:
        return self.ingress in ("collector", "both")


def _parse(kind: Any, raw: Any) -> Any:
    """Converts a cdk.json value or a command-line string to `kind`."""
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise ValueError(f"true or false, got {raw!r}")
    if kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
            return int(raw)
        raise ValueError(f"a whole number, got {raw!r}")
    if kind is str:
        if isinstance(raw, str):
            return raw.strip()
        raise ValueError(f"a string, got {raw!r}")
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
        return tuple(item.strip() for item in raw)
    raise ValueError(f"a list of strings, got {raw!r}")


def _check(spec: SettingSpec, value: Any) -> str | None:
    if spec.minimum is not None and value < spec.minimum:
        return f"be at least {spec.minimum}, got {value}"
    if spec.maximum is not None and value > spec.maximum:
        return f"be at most {spec.maximum}, got {value}"
    if spec.choices and value not in spec.choices:
        return f"be one of {', '.join(map(_render, spec.choices))}, got {_render(value)}"
    return spec.check(value) if spec.check else None


def _listing(problems: list[str]) -> str:
    return "Invalid Riptide settings:\n" + "\n".join(f"  - {problem}" for problem in problems)


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


_TYPE_NAMES = {int: "integer", bool: "boolean", str: "string", tuple[str, ...]: "list"}


def settings_table() -> str:
    """The README's settings table, in Markdown, generated from the Settings model."""
    types = get_type_hints(Settings)
    rows = [
        "| Setting | Type | Default | Allowed | Description |",
        "|---|---|---|---|---|",
    ]
    for name, spec in Settings.specs():
        if spec.required:
            default = "(required)"
        elif spec.default in ("", ()):
            default = "(empty)"
        else:
            default = f"`{_render(spec.default)}`"
        rows.append(
            f"| `{spec.key}` | {_TYPE_NAMES[types[name]]} | {default} | {spec.allowed()} "
            f"| {spec.description} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(settings_table())
