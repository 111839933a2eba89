"""The context object Lambda passes to a handler, for handlers called in this process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"


def stopped_clock() -> float:
    """A clock that never moves: a context read with it always has the same time left."""
    return 0.0


@dataclass(frozen=True)
class FunctionSpec:
    """What the stack configures for one function, as far as a handler can observe it."""

    name: str
    region: str = REGION
    timeout_seconds: int = 60
    memory_mb: int = 1024

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"

    def new_context(self) -> LambdaContext:
        """The context of one invocation, its time budget starting now."""
        return LambdaContext(self, time.monotonic() + self.timeout_seconds)

    def frozen_context(self, remaining_millis: int | None = None) -> LambdaContext:
        """A context whose time left never changes (the timeout unless given), so that what a
        handler does with its budget does not depend on how fast the machine is."""
        millis = self.timeout_seconds * 1000 if remaining_millis is None else remaining_millis
        return LambdaContext(self, millis / 1000, clock=stopped_clock)


@dataclass
class LambdaContext:
    """Fields and the one method Powertools and handlers read from the real context."""

    function: FunctionSpec
    deadline: float
    clock: Callable[[], float] = time.monotonic
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: object = None
    client_context: object = None

    @property
    def function_name(self) -> str:
        return self.function.name

    @property
    def invoked_function_arn(self) -> str:
        return self.function.arn

    @property
    def memory_limit_in_mb(self) -> int:
        return self.function.memory_mb

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function.name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.clock()) * 1000))
