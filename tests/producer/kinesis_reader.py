"""Read a whole stream back, every shard from the start, and de-aggregate it with aws-kinesis-agg
(an implementation independent of riptide.kpl), so tests see exactly what consumers will see."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_kinesis_agg.deaggregator import iter_deaggregate_records


def read_user_records(kinesis: Any, stream_name: str) -> list[bytes]:
    """Every user record in the stream, shard after shard."""
    return [data for shard in read_shards(kinesis, stream_name).values() for data in shard]


def read_shards(kinesis: Any, stream_name: str) -> dict[str, list[bytes]]:
    """The user records of each shard, in the order the shard holds them."""
    shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
    by_shard: dict[str, list[bytes]] = {}
    for shard in shards:
        out = by_shard[shard["ShardId"]] = []
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            for user_record in iter_deaggregate_records(page["Records"], data_format="Boto3"):
                record = user_record["kinesis"]
                # aws-kinesis-agg re-encodes de-aggregated data as base64; plain records pass as is.
                out.append(
                    base64.b64decode(record["data"]) if record.get("aggregated") else record["data"]
                )
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return by_shard


def read_events(kinesis: Any, stream_name: str) -> list[dict[str, Any]]:
    return [json.loads(data) for data in read_user_records(kinesis, stream_name)]
