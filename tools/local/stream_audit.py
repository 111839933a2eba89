"""An independent count of what the stream holds: events, and events that appear twice.

Every record the event source mapping reads is also de-aggregated here with the AWS reference
library (aws-kinesis-agg), not the pipeline's own de-aggregator, and each event's messageId is
counted. Set between what clients saw accepted and what Druid sums, it tells a loss or a double
count before the stream apart from one after it.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from aws_kinesis_agg.deaggregator import iter_deaggregate_records


class StreamAudit:
    def __init__(self) -> None:
        self.events = 0
        self.unreadable = 0
        self._message_ids: set[str] = set()
        self.repeated_message_ids = 0
        self._lock = threading.Lock()

    def holds(self, message_ids: list[str]) -> bool:
        """Whether every one of `message_ids` has been read from the stream."""
        with self._lock:
            return self._message_ids.issuperset(message_ids)

    def held(self, message_ids: list[str]) -> int:
        """How many of `message_ids` have been read from the stream."""
        with self._lock:
            return sum(message_id in self._message_ids for message_id in message_ids)

    def add(self, records: list[dict[str, Any]]) -> None:
        """Count the events in records as boto3's GetRecords returns them."""
        message_ids = []
        for user_record in iter_deaggregate_records(records, data_format="Boto3"):
            kinesis = user_record["kinesis"]
            data = kinesis["data"]
            if kinesis.get("aggregated"):  # the library base64-encodes the user records it unpacks
                data = base64.b64decode(data)
            try:
                event = json.loads(data)
                message_ids.append(str(event["messageId"]))
            except (ValueError, KeyError, TypeError):
                message_ids.append("")
        with self._lock:
            for message_id in message_ids:
                self.events += 1
                if not message_id:
                    self.unreadable += 1
                elif message_id in self._message_ids:
                    self.repeated_message_ids += 1
                else:
                    self._message_ids.add(message_id)
