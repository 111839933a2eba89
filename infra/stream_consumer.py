"""What every function reading the stream gets: a bounded event source and its failure queue.

Secure defaults in one place: reading from TRIM_HORIZON, bisection, partial-batch failures,
bounded retries and record age, and an encrypted, TLS-only on-failure queue, so one poison batch
can never stall a shard and nothing given up on is lost without a trace.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.settings import Settings

DLQ_RETENTION = Duration.days(14)


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """An encrypted, TLS-only queue for the descriptions of batches given up on."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DLQ_RETENTION,
    )


def bounded_stream_source(
    stream: kinesis.IStream,
    settings: Settings,
    *,
    dead_letters: sqs.IQueue,
    batch_size: int,
    batching_window_seconds: int,
    tumbling_window_seconds: int = 0,
) -> sources.KinesisEventSource:
    """An event source with the shared bounds; the parallelization factor stays 1."""
    return sources.KinesisEventSource(
        stream,
        starting_position=lambda_.StartingPosition.TRIM_HORIZON,
        batch_size=batch_size,
        max_batching_window=Duration.seconds(batching_window_seconds),
        bisect_batch_on_error=True,
        retry_attempts=settings.retry_attempts,
        max_record_age=Duration.seconds(settings.max_record_age_seconds),
        report_batch_item_failures=True,
        tumbling_window=(
            Duration.seconds(tumbling_window_seconds) if tumbling_window_seconds else None
        ),
        on_failure=sources.SqsDlq(dead_letters),
    )
