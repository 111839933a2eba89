"""The KPL aggregated record format: pack events into Kinesis records, and read them back.

Aggregating many small events into each Kinesis record cuts PUT payload units (and shards) by
one to two orders of magnitude. The output is what the Kinesis Producer Library writes, so the
KCL, aws-kinesis-agg and the Lambda-side de-aggregators read it too.
"""

from riptide.kpl.aggregator import DEFAULT_MAX_RECORD_BYTES, MAX_KINESIS_RECORD_BYTES, Aggregator
from riptide.kpl.batching import MAX_BYTES_PER_PUT, MAX_RECORDS_PER_PUT, put_records_batches
from riptide.kpl.deaggregator import deaggregate, deaggregate_user_records
from riptide.kpl.exceptions import CorruptRecordError, KplError, RecordTooLargeError
from riptide.kpl.keys import OrderedKeys, SpreadKeys, effective_hash_key
from riptide.kpl.records import KinesisRecord, UserRecord
from riptide.kpl.wire import MAGIC

__all__ = [
    "DEFAULT_MAX_RECORD_BYTES",
    "MAGIC",
    "MAX_BYTES_PER_PUT",
    "MAX_KINESIS_RECORD_BYTES",
    "MAX_RECORDS_PER_PUT",
    "Aggregator",
    "CorruptRecordError",
    "KinesisRecord",
    "KplError",
    "OrderedKeys",
    "RecordTooLargeError",
    "SpreadKeys",
    "UserRecord",
    "deaggregate",
    "deaggregate_user_records",
    "effective_hash_key",
    "put_records_batches",
]
