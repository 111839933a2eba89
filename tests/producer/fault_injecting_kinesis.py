"""A wrapper around a real (moto) Kinesis client that makes PutRecords fail on demand.

moto never fails part of a PutRecords call and never throttles, so the faults are injected here:
each planned fault applies to one call, in order; calls without a plan go to the real client
untouched. Failed records are not written, as in Kinesis. Every call's entries are recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

Entry = dict[str, Any]


@dataclass(frozen=True)
class FailRecords:
    """Fail the entries at `positions` (None: all of them) with `code`; write the others."""

    code: str = "ProvisionedThroughputExceededException"
    positions: Callable[[int], bool] | None = None


@dataclass(frozen=True)
class FailCall:
    """Fail the whole call: a ClientError with `code` and `status`, or a dropped connection."""

    code: str = "ProvisionedThroughputExceededException"
    status: int = 400
    connection: bool = False


@dataclass(frozen=True)
class LoseAnswer:
    """Write every entry, then time out reading the answer, as when a response is lost."""


Fault = FailRecords | FailCall | LoseAnswer


@dataclass
class FaultInjectingKinesis:
    client: Any
    plan: list[Fault] = field(default_factory=list)
    repeat_last: bool = False
    calls: list[list[Entry]] = field(default_factory=list)

    def put_records(self, *, StreamName: str, Records: list[Entry]) -> dict[str, Any]:
        self.calls.append(Records)
        fault = self._next_fault()
        if fault is None:
            return self.client.put_records(StreamName=StreamName, Records=Records)
        if isinstance(fault, LoseAnswer):
            self.client.put_records(StreamName=StreamName, Records=Records)
            raise ReadTimeoutError(endpoint_url="https://kinesis.eu-west-1.amazonaws.com")
        if isinstance(fault, FailCall):
            if fault.connection:
                raise EndpointConnectionError(
                    endpoint_url="https://kinesis.eu-west-1.amazonaws.com"
                )
            raise ClientError(
                {
                    "Error": {"Code": fault.code, "Message": "injected"},
                    "ResponseMetadata": {"HTTPStatusCode": fault.status},
                },
                "PutRecords",
            )
        failing = [fault.positions is None or fault.positions(i) for i in range(len(Records))]
        keep = [entry for entry, fails in zip(Records, failing, strict=True) if not fails]
        written = iter(
            self.client.put_records(StreamName=StreamName, Records=keep)["Records"] if keep else []
        )
        results = [
            {"ErrorCode": fault.code, "ErrorMessage": "injected"} if fails else next(written)
            for fails in failing
        ]
        return {"FailedRecordCount": sum(failing), "Records": results}

    def _next_fault(self) -> Fault | None:
        if not self.plan:
            return None
        if self.repeat_last and len(self.plan) == 1:
            return self.plan[0]
        return self.plan.pop(0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)
