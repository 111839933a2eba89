"""A local EventBridge schedule: invokes a handler every few seconds with a Scheduled Event."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tools.lambda_kit.context import ACCOUNT_ID, FunctionSpec, LambdaContext

Handler = Callable[[dict[str, Any], LambdaContext], Any]


def scheduled_event(region: str, rule_name: str) -> dict[str, Any]:
    """The event an EventBridge schedule rule delivers to its Lambda target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


class Schedule:
    """Runs `handler` every `every_seconds` until stopped; failures are counted, not raised."""

    def __init__(self, handler: Handler, function: FunctionSpec, every_seconds: float) -> None:
        self.handler = handler
        self.function = function
        self.every_seconds = every_seconds
        self.invocations = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Schedule:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every_seconds):
            self.invocations += 1
            event = scheduled_event(self.function.region, f"{self.function.name}-schedule")
            try:
                self.handler(event, self.function.new_context())
            except Exception:  # a failed run is retried by the next tick, as with retry_attempts=0
                self.failures += 1
