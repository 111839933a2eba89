"""The Kinesis data stream between the producer and the consumer."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kinesis as kinesis
from constructs import Construct

from infra.settings import Settings


def event_stream(scope: Construct, construct_id: str, settings: Settings) -> kinesis.Stream:
    """An encrypted stream, provisioned with shardCount shards or on-demand."""
    provisioned = settings.stream_mode == "provisioned"
    return kinesis.Stream(
        scope,
        construct_id,
        stream_mode=kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND,
        shard_count=settings.shard_count if provisioned else None,
        retention_period=Duration.hours(settings.stream_retention_hours),
        encryption=kinesis.StreamEncryption.MANAGED,
        removal_policy=RemovalPolicy.DESTROY,
    )
