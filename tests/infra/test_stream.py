"""The Kinesis stream: encrypted with the AWS-managed key, provisioned or on-demand."""

from __future__ import annotations

from tests.infra.synthesis import Synthesis

AWS_MANAGED_KINESIS_KEY = {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}


def test_stream_is_encrypted_and_provisioned_by_default(default: Synthesis) -> None:
    (stream,) = default.resources("AWS::Kinesis::Stream").values()
    properties = stream["Properties"]
    assert properties["StreamEncryption"] == AWS_MANAGED_KINESIS_KEY
    assert properties["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert properties["ShardCount"] == default.settings.shard_count
    assert properties["RetentionPeriodHours"] == default.settings.stream_retention_hours


def test_on_demand_stream_has_no_shard_count(custom: Synthesis) -> None:
    (stream,) = custom.resources("AWS::Kinesis::Stream").values()
    properties = stream["Properties"]
    assert properties["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert "ShardCount" not in properties
    assert properties["StreamEncryption"] == AWS_MANAGED_KINESIS_KEY
