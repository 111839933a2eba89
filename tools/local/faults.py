"""Fault injection for runs that prove nothing is lost or doubled when parts misbehave.

Faults the real parts cannot produce on demand:
- `KinesisThrottle`, a proxy in front of Kinesis for the producer only, that answers some
  PutRecords calls with ProvisionedThroughputExceededException and fails part of the records of
  others (forwarding the rest), exactly as a busy stream does. moto never throttles.
- A Druid outage, staged on the `DruidProxy`: connections refused for a while, then 503s.
- `CrashingConsumer`, around the consumer handler: some invokes fail before the handler runs,
  others after it ran (the work, a Druid push included, done but the answer lost, as when a
  function times out or runs out of memory), so the event source mapping retries and bisects.
`FaultInjection` turns them on and off at set times after traffic starts.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tools.local.druid_proxy import DruidProxy
from tools.local.proxy import Answer, Exchange, ForwardingProxy

PUT_RECORDS_TARGET = "Kinesis_20131202.PutRecords"
THROTTLED = "ProvisionedThroughputExceededException"
JSON_CONTENT = {"Content-Type": "application/x-amz-json-1.1"}


class KinesisThrottle(ForwardingProxy):
    """While on, throttles some PutRecords calls whole and fails some records of the others."""

    def __init__(
        self,
        upstream_url: str,
        *,
        call_share: float = 0.3,
        record_share: float = 0.4,
        seed: int = 0,
    ) -> None:
        super().__init__(upstream_url)
        self.call_share = call_share
        self.record_share = record_share
        self.calls_throttled = 0
        self.records_failed = 0
        self._rng = random.Random(seed)
        self._on = threading.Event()
        self._lock = threading.Lock()

    def turn_on(self) -> None:
        self._on.set()

    def turn_off(self) -> None:
        self._on.clear()

    def intercept(self, exchange: Exchange) -> Answer | None:
        if not self._on.is_set() or exchange.headers.get("X-Amz-Target") != PUT_RECORDS_TARGET:
            return None
        with self._lock:
            throttle_call = self._rng.random() < self.call_share
            request = json.loads(exchange.body)
            failing = {
                index
                for index in range(len(request["Records"]))
                if self._rng.random() < self.record_share
            }
        if throttle_call:
            with self._lock:
                self.calls_throttled += 1
            body = {"__type": THROTTLED, "message": "Rate exceeded for stream (injected fault)"}
            return 400, {**JSON_CONTENT, "x-amzn-ErrorType": THROTTLED}, json.dumps(body).encode()
        return self._partial_failure(exchange, request, failing) if failing else None

    def _partial_failure(self, exchange: Exchange, request: dict, failing: set[int]) -> Answer:
        """Forward only the records that succeed; report the others as throttled."""
        records = request["Records"]
        passing = [record for index, record in enumerate(records) if index not in failing]
        results: list[dict] = []
        if passing:
            status, headers, body = self.forward(
                exchange, json.dumps({**request, "Records": passing}).encode()
            )
            if status != 200:
                return status, headers, body
            results = json.loads(body)["Records"]
        stored = iter(results)
        merged = [
            {"ErrorCode": THROTTLED, "ErrorMessage": "Rate exceeded for shard (injected fault)"}
            if index in failing
            else next(stored)
            for index in range(len(request["Records"]))
        ]
        with self._lock:
            self.records_failed += len(failing)
        answer = {"FailedRecordCount": len(failing), "Records": merged}
        return 200, JSON_CONTENT, json.dumps(answer).encode()


class InjectedCrashError(Exception):
    """A consumer invoke failed on purpose."""


class CrashingConsumer:
    """While on, fails every other invoke: by turns after the handler ran, and before."""

    PATTERN = ("after", None, "before", None)

    def __init__(self) -> None:
        self.handler: Callable[..., Any] | None = None
        self.crashed_before = 0
        self.crashed_after = 0
        self._turns = itertools.cycle(self.PATTERN)
        self._on = threading.Event()
        self._lock = threading.Lock()

    def turn_on(self) -> None:
        self._on.set()

    def turn_off(self) -> None:
        self._on.clear()

    def around(self, handler: Callable[..., Any]) -> CrashingConsumer:
        """Wrap the real handler; returns self, to be invoked in its place."""
        self.handler = handler
        return self

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        assert self.handler is not None, "wrap the handler with around() first"
        with self._lock:
            crash = next(self._turns) if self._on.is_set() else None
            if crash == "before":
                self.crashed_before += 1
            elif crash == "after":
                self.crashed_after += 1
        if crash == "before":
            raise InjectedCrashError("injected: the function crashed before doing anything")
        result = self.handler(event, context)
        if crash == "after":
            raise InjectedCrashError("injected: the function did its work, then lost its answer")
        return result


@dataclass(frozen=True)
class FaultPlan:
    """When each fault starts and how long it lasts, in seconds after traffic starts."""

    kinesis_throttle: tuple[float, float]
    druid_refusing: tuple[float, float]
    druid_unavailable: tuple[float, float]
    consumer_crashes: tuple[float, float]

    @classmethod
    def for_run(cls, traffic_seconds: float, window_seconds: int) -> FaultPlan:
        """Kinesis throttled through the middle of the traffic; Druid down long enough to miss
        at least one window's delivery (refusing connections, then answering 503); the consumer
        crashing now and then over two windows' worth of invokes."""
        window = max(window_seconds, 10)
        refusing_from = traffic_seconds * 0.25
        return cls(
            kinesis_throttle=(traffic_seconds * 0.1, traffic_seconds * 0.5),
            druid_refusing=(refusing_from, window),
            druid_unavailable=(refusing_from + window, window / 2),
            consumer_crashes=(traffic_seconds * 0.1, window * 2),
        )

    def describe(self) -> list[str]:
        def span(name: str, timing: tuple[float, float]) -> str:
            return f"{name} from t+{timing[0]:.0f}s for {timing[1]:.0f}s"

        return [
            span("Kinesis throttling PutRecords", self.kinesis_throttle),
            span("Druid refusing connections", self.druid_refusing),
            span("Druid answering 503", self.druid_unavailable),
            span("Consumer crashing in every other invoke", self.consumer_crashes),
        ]


def _order(action: tuple[float, int, object]) -> tuple[float, int]:
    """By time; at the same moment, a fault ends before the next one starts."""
    return action[0], action[1]


class FaultInjection:
    """Every fault of a run: the Kinesis throttle, the crashing consumer, the Druid outage, and
    the schedule that turns them on and off from the moment `start` is called."""

    def __init__(self, kinesis_url: str, druid: DruidProxy, seed: int) -> None:
        self.kinesis = KinesisThrottle(kinesis_url, seed=seed)
        self.consumer = CrashingConsumer()
        self.druid = druid
        self.plan: FaultPlan | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FaultInjection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self.kinesis.__exit__(*exc_info)

    def start(self, plan: FaultPlan) -> None:
        self.plan = plan
        steps = [
            (plan.kinesis_throttle, self.kinesis.turn_on, self.kinesis.turn_off),
            (plan.druid_refusing, self.druid.go_down, self.druid.recover),
            (plan.druid_unavailable, self.druid.answer_unavailable, self.druid.recover),
            (plan.consumer_crashes, self.consumer.turn_on, self.consumer.turn_off),
        ]
        ends = [(begin + length, 0, off) for (begin, length), _, off in steps]
        starts = [(begin, 1, on) for (begin, _), on, _ in steps]
        actions = [(at, action) for at, _, action in sorted(ends + starts, key=_order)]
        self._thread = threading.Thread(
            target=self._run, args=(time.monotonic(), actions), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """End every fault now (a run that stops early must not leave Druid 'down')."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.kinesis.turn_off()
        self.consumer.turn_off()
        self.druid.recover()

    @property
    def finished(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def counts(self) -> dict[str, int]:
        return {
            "PutRecords calls throttled": self.kinesis.calls_throttled,
            "PutRecords records failed": self.kinesis.records_failed,
            "Druid connections dropped": self.druid.connections_dropped,
            "Druid 503 answers": self.druid.unavailable_answers,
            "consumer crashes before work": self.consumer.crashed_before,
            "consumer crashes after work": self.consumer.crashed_after,
        }

    def _run(self, started: float, actions: list[tuple[float, Callable[[], None]]]) -> None:
        for at, action in actions:
            if self._stop.wait(max(0.0, started + at - time.monotonic())):
                return
            action()
