"""Several execution environments of one function, each a process of its own.

Lambda runs as many environments of a function as requests arrive at once, each taking one
invocation at a time. The producer's local HTTP API runs its one environment in the run's own
process; the context API's decide calls each wait for Kinesis, so one environment cannot keep
up with the shoppers, and a Powertools router keeps the request it answers in class-level state,
so environments cannot share a process. Each process imports the handler once when the pool
starts (its init phase, which Lambda does not count against the timeout either), with the run's
environment variables, and writes its output to the function's log file.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import queue
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from riptide.contract import Env, LambdaEntry
from tools.lambda_kit.context import FunctionSpec, LambdaContext
from tools.local.lambda_log import WholeLineWriter

READY = "ready"


class FunctionError(RuntimeError):
    """The handler raised; the message holds its traceback, as Lambda's log would."""


class FunctionPool:
    """Calls `entry`'s handler in one of `environments` processes; safe to call from threads."""

    def __init__(
        self, entry: LambdaEntry, function: FunctionSpec, environments: int, log_path: Path
    ) -> None:
        self.entry = entry
        self.function = function
        self.environments = environments
        self._log_path = log_path
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self._idle: queue.Queue[Connection] = queue.Queue()

    def __enter__(self) -> FunctionPool:
        spawn = multiprocessing.get_context("spawn")
        connections = []
        for _ in range(self.environments):
            ours, theirs = spawn.Pipe()
            process = spawn.Process(
                target=_serve, args=(self.entry, str(self._log_path), theirs), daemon=True
            )
            process.start()
            self._processes.append(process)
            connections.append(ours)
        for connection in connections:  # every environment initialised before the first call
            if connection.recv() != READY:
                raise RuntimeError(f"{self.entry.handler} failed to start: see {self._log_path}")
            self._idle.put(connection)
        return self

    def __exit__(self, *exc_info: object) -> None:
        while not self._idle.empty():
            self._idle.get().send(None)
        for process in self._processes:
            process.join(10)
            if process.is_alive():
                process.kill()

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> Any:
        """Invoke with `event`; the environment makes its own context with the same budget."""
        connection = self._idle.get()
        try:
            connection.send((event, self.function))
            ok, result = connection.recv()
        finally:
            self._idle.put(connection)
        if not ok:
            raise FunctionError(result)
        return result


def _serve(entry: LambdaEntry, log_path: str, connection: Connection) -> None:
    """One execution environment: init, then one invocation at a time until told to stop."""
    sys.stdout = sys.stderr = WholeLineWriter(Path(log_path).open("ab"))  # noqa: SIM115
    os.environ[Env.POWERTOOLS_SERVICE_NAME] = entry.service
    module_name, attribute = entry.handler.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception:
        traceback.print_exc()
        connection.send("failed")
        return
    connection.send(READY)
    while (call := connection.recv()) is not None:
        event, function = call
        try:
            connection.send((True, handler(event, function.new_context())))
        except Exception:
            connection.send((False, traceback.format_exc()))
