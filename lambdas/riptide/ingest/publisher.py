"""Put Kinesis records with PutRecords, retrying only what failed, within a time budget.

PutRecords can fail part of a call (per-record ErrorCode) or all of it (throttling, a 5xx, a
dropped connection). Only the failed records are sent again, after a full-jitter exponential
backoff, and no attempt starts once the budget is spent: then PublishTimeoutError says how many
events are already in Kinesis, because the client's retry will send those again.

A call whose answer is lost after it was sent (a read timeout, a connection closed mid-answer)
may have written its records. They are sent again, since durability comes first, and counted as
possibly duplicated: Kinesis may then hold them twice.

boto3 and botocore are imported on first use, not at import: they are the largest part of a
cold start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from riptide.contract import PUT_PAYLOAD_UNIT_BYTES
from riptide.ingest.exceptions import PublishRefusedError, PublishTimeoutError
from riptide.kpl import KinesisRecord, put_records_batches
from riptide.retry import Backoff, Deadline, wait_before_retry

CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 2.0
"""A PutRecords call ends within about this long, so one started in budget ends soon after."""

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "KMSThrottlingException",
        "LimitExceededException",
    }
)
_CONNECTION_FAILURE = "ConnectionFailure"
"""No connection was made: the call sent nothing."""
_ANSWER_LOST = "AnswerLost"
"""The call was sent and its answer lost: its records may be in Kinesis."""


@dataclass
class PublishReport:
    """What one publish did, filled in as it goes, so it is complete even when it fails."""

    records_written: int = 0
    events_written: int = 0
    bytes_written: int = 0
    payload_units: int = 0
    retries: int = 0
    events_sent_again_after_lost_answer: int = 0
    """Events written after an earlier call that sent them lost its answer: maybe in twice."""
    events_in_doubt: int = 0
    """Events whose call lost its answer and that no later call has written yet."""

    @property
    def events_possibly_written(self) -> int:
        """Events Kinesis holds or may hold: a retry of the whole request duplicates these."""
        return self.events_written + self.events_in_doubt

    def answer_lost(self, record: KinesisRecord, in_doubt: set[int]) -> None:
        """`record`'s call lost its answer; `in_doubt` holds the ids of such records."""
        if id(record) not in in_doubt:
            in_doubt.add(id(record))
            self.events_in_doubt += record.user_record_count

    def written(self, record: KinesisRecord, in_doubt: set[int]) -> None:
        size = record.billed_bytes
        self.records_written += 1
        self.events_written += record.user_record_count
        self.bytes_written += size
        self.payload_units += math.ceil(size / PUT_PAYLOAD_UNIT_BYTES)
        if id(record) in in_doubt:
            in_doubt.discard(id(record))
            self.events_in_doubt -= record.user_record_count
            self.events_sent_again_after_lost_answer += record.user_record_count


def kinesis_client() -> Any:
    """A Kinesis client that does not retry on its own: the retry policy lives in one place."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": 1},
    )
    return boto3.client("kinesis", config=config)


class KinesisPublisher:
    def __init__(
        self,
        stream_name: str,
        client_factory: Callable[[], Any] = kinesis_client,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._stream_name = stream_name
        self._client_factory = client_factory
        self._client: Any = None
        self._backoff = backoff or Backoff(base_seconds=0.05, cap_seconds=1.0)
        self._sleep = sleep

    def publish(
        self, records: Sequence[KinesisRecord], deadline: Deadline, report: PublishReport
    ) -> None:
        """Write every record, or raise PublishTimeoutError / PublishRefusedError."""
        failures = self.write(records, deadline, report)
        if failures:
            codes = {code for _, code in failures}
            raise PublishTimeoutError(
                f"Kinesis did not take {len(failures)} of the records in time "
                f"({', '.join(sorted(codes))}); retry the request",
                throttled=codes <= THROTTLING_CODES,
                events_written=report.events_possibly_written,
            )

    def write(
        self, records: Sequence[KinesisRecord], deadline: Deadline, report: PublishReport
    ) -> list[tuple[KinesisRecord, str]]:
        """Write what Kinesis takes before the deadline; the records it did not take, each with
        its last error code. Raises PublishRefusedError when retrying cannot help."""
        if self._client is None:
            self._client = self._client_factory()
        pending = list(records)
        in_doubt: set[int] = set()
        attempt = 0
        while True:
            failures: list[tuple[KinesisRecord, str]] = []
            for batch in put_records_batches(pending):
                failures += self._put(batch, report, in_doubt)
            if not failures or not wait_before_retry(self._backoff, attempt, deadline, self._sleep):
                return failures
            attempt += 1
            report.retries += 1
            pending = [record for record, _ in failures]

    def _put(
        self, batch: list[KinesisRecord], report: PublishReport, in_doubt: set[int]
    ) -> list[tuple[KinesisRecord, str]]:
        """One PutRecords call; the records it did not write, each with its error code."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ProxyConnectionError,
        )

        try:
            response = self._client.put_records(
                StreamName=self._stream_name, Records=[record.put_entry() for record in batch]
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code not in THROTTLING_CODES and status < 500:
                raise PublishRefusedError(
                    f"Kinesis refused the records ({code})",
                    events_written=report.events_possibly_written,
                ) from error
            return [(record, code) for record in batch]
        except (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError):
            return [(record, _CONNECTION_FAILURE) for record in batch]
        except BotoCoreError:
            for record in batch:
                report.answer_lost(record, in_doubt)
            return [(record, _ANSWER_LOST) for record in batch]
        failures = []
        for record, result in zip(batch, response["Records"], strict=True):
            code = result.get("ErrorCode")
            if code:
                failures.append((record, code))
            else:
                report.written(record, in_doubt)
        return failures
