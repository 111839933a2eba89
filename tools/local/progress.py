"""The live status line of a run: one line, rewritten every second while the run goes on.

On a terminal the line is redrawn in place; when the output is a file or a pipe, a plain line is
written every few seconds instead, so logs stay readable.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

PIPE_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class Snapshot:
    """The figures the status line shows, read from the running parts."""

    elapsed: float
    sent: int
    accepted: int
    rejected: int
    kinesis_records: int
    rollup_rows: int
    druid_tasks: int
    backlog: int
    phase: str
    decisions: int = 0

    def line(self) -> str:
        decisions = f" | decisions {self.decisions:,}" if self.decisions else ""
        return (
            f"[{self.elapsed:4.0f}s {self.phase}] sent {self.sent:,} accepted {self.accepted:,}"
            f" rejected {self.rejected:,}{decisions} | Kinesis records {self.kinesis_records:,}"
            f" | rollup rows {self.rollup_rows:,} Druid tasks {self.druid_tasks:,}"
            f" | backlog {self.backlog:,}"
        )


class Progress:
    """Prints `snapshot()` every second (every few seconds when not on a terminal)."""

    def __init__(self, snapshot: Callable[[], Snapshot], out: TextIO) -> None:
        self._snapshot = snapshot
        self._out = out
        self._interactive = out.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._width = 0

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._show(final=True)

    def _run(self) -> None:
        interval = 1.0 if self._interactive else PIPE_INTERVAL_SECONDS
        next_at = time.monotonic()
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            self._show(final=False)
            next_at += interval

    def _show(self, *, final: bool) -> None:
        line = self._snapshot().line()
        if self._interactive:
            line = line[: shutil.get_terminal_size().columns - 1]
            padding = " " * max(0, self._width - len(line))
            self._width = len(line)
            self._out.write(f"\r{line}{padding}" + ("\n" if final else ""))
        else:
            self._out.write(line + "\n")
        self._out.flush()
