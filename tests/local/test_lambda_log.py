"""Many threads writing long lines to the run's lambda.log at once leave every line whole."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.local.lambda_log import lambda_log

THREADS = 16
LINES_PER_THREAD = 200


def write_lines(thread: int, start: threading.Barrier) -> None:
    """Lines written as print writes them, as a log handler does, and in pieces as a traceback
    is printed, to stdout and stderr alike."""
    handler = logging.StreamHandler(sys.stdout if thread % 2 else sys.stderr)
    start.wait()
    for n in range(LINES_PER_THREAD):
        line = json.dumps({"thread": thread, "n": n, "payload": f"{thread}:{n}:" + "x" * 3_000})
        if n % 3 == 0:
            print(line)
        elif n % 3 == 1:
            handler.stream.write(line + "\n")
            handler.flush()
        else:
            for piece in range(0, len(line), 500):
                sys.stderr.write(line[piece : piece + 500])
            sys.stderr.write("\n")


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads every few bytecodes instead of every 5 ms, so writes overlap often."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_concurrent_writers_leave_only_whole_lines(tmp_path: Path):
    path = tmp_path / "lambda.log"
    start = threading.Barrier(THREADS)
    with lambda_log(path):
        threads = [threading.Thread(target=write_lines, args=(t, start)) for t in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    lines = path.read_bytes().decode().splitlines()
    written = [json.loads(line) for line in lines]
    assert sorted((e["thread"], e["n"]) for e in written) == [
        (t, n) for t in range(THREADS) for n in range(LINES_PER_THREAD)
    ]
    assert all(e["payload"] == f"{e['thread']}:{e['n']}:" + "x" * 3_000 for e in written)


def test_a_line_left_unfinished_is_kept_on_its_own_line(tmp_path: Path):
    path = tmp_path / "lambda.log"
    with lambda_log(path):
        print("a whole line")
        sys.stderr.write("no newline at the end")

    assert path.read_text().splitlines() == ["a whole line", "no newline at the end"]
