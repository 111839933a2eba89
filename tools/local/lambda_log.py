"""The run's lambda.log: the output of every function, written whole line by whole line.

The handlers run in many threads (API requests, one poller per shard, the schedule) and all
print to one redirected stdout and stderr. A plain text file interleaves their writes: a
`print` is two writes (the text, then the newline), a traceback many, so another thread's text
lands mid-line, and unsynchronised writes to one buffer can garble it. Here each thread's text
waits until it ends a line, and whole lines go to the file one at a time under a lock.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


class WholeLineWriter(io.TextIOBase):
    """A text stream many threads can write to at once without mixing their lines."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._lock = threading.Lock()
        self._pending: dict[int, str] = {}

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        thread = threading.get_ident()
        with self._lock:
            lines, newline, rest = (self._pending.pop(thread, "") + text).rpartition("\n")
            if rest:
                self._pending[thread] = rest
            if newline:
                self._file.write((lines + newline).encode(errors="backslashreplace"))
                self._file.flush()
        return len(text)

    def close(self) -> None:
        """Write what threads left without a final newline, each on a line of its own."""
        with self._lock:
            for rest in self._pending.values():
                self._file.write((rest + "\n").encode(errors="backslashreplace"))
            self._pending.clear()
            self._file.flush()
        super().close()


@contextlib.contextmanager
def lambda_log(path: Path) -> Iterator[WholeLineWriter]:
    """Send this process's stdout and stderr, from every thread, to `path` in whole lines."""
    with path.open("wb") as file:
        writer = WholeLineWriter(file)
        try:
            with contextlib.redirect_stdout(writer), contextlib.redirect_stderr(writer):
                yield writer
        finally:
            writer.close()
