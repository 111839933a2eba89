"""Several execution environments of one function, each a process of its own.

Lambda runs as many environments of a function as requests arrive at once, each taking one
invocation at a time. The producer's local HTTP API runs its one environment in the run's own
process; the context API's decide calls each wait for Kinesis, so one environment cannot keep
up with the shoppers, and a Powertools router keeps the request it answers in class-level state,
so environments cannot share a process. Each process imports the handler once, as a cold start
does, with the run's environment variables, and writes its output to the function's log file.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
from concurrent import futures
from pathlib import Path
from typing import Any

from riptide.contract import Env, LambdaEntry
from tools.lambda_kit.context import FunctionSpec, LambdaContext
from tools.local.lambda_log import WholeLineWriter

_handler: Any = None
"""The handler of the environment this process is (set when the process starts)."""


class FunctionPool:
    """Calls `entry`'s handler in one of `environments` processes; safe to call from threads."""

    def __init__(
        self, entry: LambdaEntry, function: FunctionSpec, environments: int, log_path: Path
    ) -> None:
        self.function = function
        self.environments = environments
        self._executor = futures.ProcessPoolExecutor(
            environments,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_environment,
            initargs=(entry, str(log_path)),
        )

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> Any:
        """Invoke with `event`; the environment makes its own context with the same budget."""
        return self._executor.submit(_invoke, event, self.function).result()

    def __enter__(self) -> FunctionPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _start_environment(entry: LambdaEntry, log_path: str) -> None:
    global _handler
    log = WholeLineWriter(Path(log_path).open("ab"))  # noqa: SIM115 (open while the process lives)
    sys.stdout = sys.stderr = log
    os.environ[Env.POWERTOOLS_SERVICE_NAME] = entry.service
    module_name, attribute = entry.handler.rsplit(".", 1)
    _handler = getattr(importlib.import_module(module_name), attribute)


def _invoke(event: dict[str, Any], function: FunctionSpec) -> Any:
    return _handler(event, function.new_context())
