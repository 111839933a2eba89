"""Timing and reporting helpers shared by the benchmarks.

Every contender runs in its own forked child (so neither warms the other's caches or heap),
after gc.collect(), and is timed in process CPU time, so other load on the machine counts as
little as it can. Contenders take turns, round after round, so a burst of load elsewhere hits
all of them alike; each child runs its work `repeat` times (the first run also pays for copying
the parent's pages) and the best run over all rounds is kept. Results print as a table with a
relative column.
"""

from __future__ import annotations

import gc
import multiprocessing
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from riptide.kpl import KinesisRecord
from tools.lambda_kit.kinesis import kinesis_event, shard_stream_records

LambdaRecord = dict[str, Any]


@dataclass(frozen=True)
class Timing:
    name: str
    items: int
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.items / self.cpu_seconds


def best_cpu_seconds(work: Callable[[], object], repeat: int) -> float:
    """Best process CPU time of `work()` over `repeat` runs in a forked child process."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        best = float("inf")
        for _ in range(repeat):
            gc.collect()
            start = time.process_time()
            work()
            best = min(best, time.process_time() - start)
        sender.send(best)

    process = context.Process(target=child)
    process.start()
    sender.close()
    try:
        return receiver.recv()
    except EOFError:
        raise RuntimeError(f"benchmark child failed (exit code {process.exitcode})") from None
    finally:
        process.join()


def time_contenders(
    contenders: dict[str, Callable[[], object]], items: int, repeat: int, rounds: int = 1
) -> list[Timing]:
    """Best CPU time per contender: `rounds` turns each, a fresh child running `repeat` times."""
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, work in contenders.items():
            best[name] = min(best[name], best_cpu_seconds(work, repeat))
    return [Timing(name, items, seconds) for name, seconds in best.items()]


def print_timings(
    title: str, timings: Sequence[Timing], baseline: str, unit: str = "events"
) -> None:
    """A table of throughput per contender, relative to the one named `baseline`."""
    reference = next(timing for timing in timings if timing.name == baseline)
    width = max(len(timing.name) for timing in timings) + 2
    print(f"\n{title}")
    print(f"{'contender':<{width}} {unit + '/s/core':>16} {'µs/' + unit[:-1]:>12} {'relative':>9}")
    for timing in timings:
        print(
            f"{timing.name:<{width}} {timing.per_second:>16,.0f} "
            f"{1e6 / timing.per_second:>12.2f} {timing.per_second / reference.per_second:>8.2f}x"
        )


def describe_machine(*packages: str) -> str:
    versions = ", ".join(f"{name} {version(name)}" for name in packages)
    return f"Python {platform.python_version()} on {platform.machine()}; {versions}"


def lambda_event_records(records: list[KinesisRecord]) -> list[LambdaRecord]:
    """One shard's records, base64 and all, as in a Lambda Kinesis event."""
    contents = [(record.partition_key, record.data) for record in records]
    return kinesis_event(shard_stream_records(0, contents))["Records"]
