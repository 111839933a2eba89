"""Local AWS: a moto server, and the resources and environment the stack would create.

The handlers run in this process and find AWS through AWS_ENDPOINT_URL, as they would find the
real endpoints in Lambda; nothing in them knows it is local.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from moto.kinesis.models import Shard
from moto.server import ThreadedMotoServer

from riptide.contract import METRICS_NAMESPACE, Env

REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
STREAM_NAME = "riptide-events"
WRITE_KEYS_SECRET = "riptide/write-keys"
READ_KEYS_SECRET = "riptide/read-keys"
DRUID_SECRET = "riptide/druid-credentials"
QUARANTINE_BUCKET = "riptide-quarantine"
OUTBOX_BUCKET = "riptide-outbox"
DEAD_LETTER_QUEUE = "riptide-dead-letters"


_SHARD_LOCK = threading.Lock()


def _one_at_a_time[**P, R](method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        with _SHARD_LOCK:
            return method(*args, **kwargs)

    return locked


def make_moto_shards_thread_safe() -> None:
    """Serialize moto's shard writes and reads, as real Kinesis does for us.

    moto numbers a record max+1 without a lock ("not safe for concurrency", says its source), so
    two concurrent PutRecords into one shard can get the same sequence number and one record
    is silently replaced; a read during a write can also skip a record. The local API serves
    requests in parallel, so moto's Shard must take them one at a time.
    """
    if not hasattr(Shard.put_record, "__wrapped__"):
        Shard.put_record = _one_at_a_time(Shard.put_record)  # type: ignore[method-assign]
        Shard.get_records = _one_at_a_time(Shard.get_records)  # type: ignore[method-assign]


class MotoServer:
    """moto on 127.0.0.1 and a free port, for as long as the `with` block lasts."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def __enter__(self) -> MotoServer:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        make_moto_shards_thread_safe()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


@dataclass(frozen=True)
class LocalResources:
    """Names and addresses of what `provision` created."""

    stream_name: str
    stream_arn: str
    write_keys_secret_arn: str
    read_keys_secret_arn: str
    druid_secret_arn: str
    quarantine_bucket: str
    outbox_bucket: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str


def provision(
    moto: MotoServer,
    *,
    shards: int,
    write_keys: Mapping[str, str],
    druid_credentials: Mapping[str, str],
    read_keys: Mapping[str, str] | None = None,
) -> LocalResources:
    """Create the stream, secrets, buckets and dead-letter queue the stack declares; the key
    secrets map each key to its site, as the operator fills them."""
    kinesis = moto.client("kinesis")
    kinesis.create_stream(StreamName=STREAM_NAME, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM_NAME)
    description = kinesis.describe_stream(StreamName=STREAM_NAME)["StreamDescription"]

    secrets = moto.client("secretsmanager")
    write_keys_arn = secrets.create_secret(
        Name=WRITE_KEYS_SECRET, SecretString=json.dumps(dict(write_keys))
    )["ARN"]
    read_keys_arn = secrets.create_secret(
        Name=READ_KEYS_SECRET, SecretString=json.dumps(dict(read_keys or {}))
    )["ARN"]
    druid_arn = secrets.create_secret(
        Name=DRUID_SECRET, SecretString=json.dumps(dict(druid_credentials))
    )["ARN"]

    s3 = moto.client("s3")
    for bucket in (QUARANTINE_BUCKET, OUTBOX_BUCKET):
        s3.create_bucket(Bucket=bucket)

    sqs = moto.client("sqs")
    queue_url = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return LocalResources(
        stream_name=STREAM_NAME,
        stream_arn=description["StreamARN"],
        write_keys_secret_arn=write_keys_arn,
        read_keys_secret_arn=read_keys_arn,
        druid_secret_arn=druid_arn,
        quarantine_bucket=QUARANTINE_BUCKET,
        outbox_bucket=OUTBOX_BUCKET,
        dead_letter_queue_url=queue_url,
        dead_letter_queue_arn=queue_arn,
    )


def process_environment(
    moto: MotoServer, kinesis_endpoint_url: str | None = None
) -> dict[str, str]:
    """What every function's runtime sees: where AWS is, credentials, region, Powertools."""
    environment = {
        "AWS_ENDPOINT_URL": moto.endpoint_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **FAKE_CREDENTIALS,
        "POWERTOOLS_TRACE_DISABLED": "true",
        Env.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    }
    if kinesis_endpoint_url:
        environment["AWS_ENDPOINT_URL_KINESIS"] = kinesis_endpoint_url
    return environment
