"""The rollup side: consumer and reconciler functions, their buckets, DLQ and Druid secret."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, SecretValue
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.buckets import private_bucket
from infra.environment import rollup_environment
from infra.functions import FunctionOptions, VpcPlacement, riptide_function
from infra.settings import Settings
from infra.stream_consumer import bounded_stream_source, dead_letter_queue
from riptide.contract import CONSUMER, OUTBOX_DONE_PREFIX, RECONCILER


class RollupPipeline(Construct):
    """Reads the stream, rolls events up per minute and pushes them to Druid exactly once."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        code: lambda_.Code,
        stream: kinesis.IStream,
        placement: VpcPlacement | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.placement = placement
        self.access_logs = private_bucket(
            self, "AccessLogs", expiry_days=settings.access_log_expiry_days, access_logs=None
        )
        self.quarantine = private_bucket(
            self,
            "Quarantine",
            expiry_days=settings.quarantine_expiry_days,
            access_logs=self.access_logs,
        )
        self.outbox = private_bucket(
            self,
            "Outbox",
            expiry_days=settings.outbox_expiry_days,
            access_logs=self.access_logs,
            expiring_prefix=OUTBOX_DONE_PREFIX,
        )
        self.druid_credentials = secretsmanager.Secret(
            self,
            "DruidCredentials",
            description='Druid basic auth for Riptide: {"username": ..., "password": ...}',
            secret_string_value=SecretValue.unsafe_plain_text("{}"),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.dead_letters = dead_letter_queue(self, "DeadLetters")
        environment = self._environment(settings)
        self.consumer = riptide_function(
            self,
            "Consumer",
            code=code,
            options=FunctionOptions(
                handler=CONSUMER.handler,
                service=CONSUMER.service,
                description="Rolls up stream events per minute and pushes them to Druid",
                memory_mb=settings.consumer_memory_mb,
                timeout_seconds=settings.consumer_timeout_seconds,
                environment=environment,
            ),
            log_retention_days=settings.log_retention_days,
            placement=placement,
        )
        self.consumer.add_event_source(self._stream_source(settings, stream))
        self._allow_druid_secret_read(self.consumer)
        self._allow_outbox_use(self.consumer, delete=False)
        self.consumer.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.quarantine.arn_for_objects("*")]
            )
        )
        self.reconciler = riptide_function(
            self,
            "Reconciler",
            code=code,
            options=FunctionOptions(
                handler=RECONCILER.handler,
                service=RECONCILER.service,
                description="Re-drives Druid tasks that failed and clears delivered ones",
                memory_mb=settings.reconciler_memory_mb,
                timeout_seconds=settings.reconciler_timeout_seconds,
                environment=environment,
            ),
            log_retention_days=settings.log_retention_days,
            placement=placement,
        )
        self._allow_druid_secret_read(self.reconciler)
        self._allow_outbox_use(self.reconciler, delete=True)
        self.schedule = events.Rule(
            self,
            "ReconcilerSchedule",
            description="Runs the Riptide reconciler",
            schedule=events.Schedule.rate(Duration.minutes(settings.reconciler_schedule_minutes)),
            targets=[targets.LambdaFunction(self.reconciler, retry_attempts=0)],
        )

    def _environment(self, settings: Settings) -> dict[str, str]:
        return rollup_environment(
            settings,
            druid_secret_arn=self.druid_credentials.secret_arn,
            quarantine_bucket=self.quarantine.bucket_name,
            outbox_bucket=self.outbox.bucket_name,
        )

    def _stream_source(
        self, settings: Settings, stream: kinesis.IStream
    ) -> sources.KinesisEventSource:
        """Bounded retries, bisection and a DLQ, so one poison batch cannot stall a shard.

        The parallelization factor stays 1: the outbox records what each shard delivered as
        ranges of sequence numbers, which concurrent batches of one shard would interleave.
        """
        return bounded_stream_source(
            stream,
            settings,
            dead_letters=self.dead_letters,
            batch_size=settings.batch_size,
            batching_window_seconds=settings.max_batching_window_seconds,
            tumbling_window_seconds=settings.tumbling_window_seconds,
        )

    def _allow_druid_secret_read(self, function: lambda_.Function) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[self.druid_credentials.secret_arn],
            )
        )

    def _allow_outbox_use(self, function: lambda_.Function, *, delete: bool) -> None:
        """Only the reconciler deletes: it retires entries once Druid reports SUCCESS."""
        object_actions = ["s3:GetObject", "s3:PutObject"]
        if delete:
            object_actions.append("s3:DeleteObject")
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=object_actions,
                resources=[self.outbox.arn_for_objects("*")],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.outbox.bucket_arn])
        )
