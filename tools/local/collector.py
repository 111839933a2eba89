"""A collector on this machine: the real server (`riptide collector`) in its own process.

It finds AWS through AWS_ENDPOINT_URL (moto, or a fault-injecting proxy in front of Kinesis),
as it would find the real endpoints on Fargate. The process can be pinned to chosen CPUs, so a
load generator on the other CPUs measures the server alone, and its CPU time is read from /proc.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import urllib3

from riptide.contract import HEALTH_PATH, Env
from tools.local.aws import LocalResources, MotoServer, process_environment

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 60.0
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def collector_environment(
    moto: MotoServer,
    resources: LocalResources,
    kinesis_endpoint_url: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What the collector's container would see, pointed at local AWS."""
    return {
        **process_environment(moto, kinesis_endpoint_url),
        Env.STREAM_NAME: resources.stream_name,
        Env.WRITE_KEYS_SECRET_ARN: resources.write_keys_secret_arn,
        **(settings or {}),
    }


class LocalCollector:
    """`riptide collector` on a free loopback port for as long as the `with` block lasts."""

    def __init__(
        self,
        environment: Mapping[str, str],
        *,
        workers: int = 1,
        cpus: set[int] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._environment = environment
        self._workers = workers
        self._cpus = cpus
        self._log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalCollector:
        command = [
            sys.executable,
            "-m",
            "tools.cli",
            "collector",
            "--port",
            str(self.port),
            "--workers",
            str(self._workers),
        ]
        if self._cpus:
            command = ["taskset", "-c", ",".join(map(str, sorted(self._cpus))), *command]
        log = self._log_path.open("ab") if self._log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **self._environment},
            stdout=log,
            stderr=subprocess.STDOUT if self._log_path else subprocess.DEVNULL,
        )
        if self._log_path:
            log.close()  # the child holds its own copy
        self._wait_until_healthy()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()

    def stop(self) -> int:
        """SIGTERM, as ECS sends it; the exit code once every accepted event is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(STOP_TIMEOUT_SECONDS)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its worker processes."""
        assert self.process is not None
        return _tree_cpu_seconds(self.process.pid)

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        http = urllib3.PoolManager(retries=False, timeout=1.0)
        ends = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < ends:
            if self.process.poll() is not None:
                raise RuntimeError(f"the collector exited with {self.process.returncode}")
            try:
                if http.request("GET", self.url + HEALTH_PATH).status == 200:
                    return
            except urllib3.exceptions.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the collector did not become healthy in {STARTUP_TIMEOUT_SECONDS} s")


_TICKS = os.sysconf("SC_CLK_TCK")


def _tree_cpu_seconds(root: int) -> float:
    """User and system time of `root` and its descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    total = 0.0
    for pid, seconds in times.items():
        ancestor = pid
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor, 0)
        if ancestor == root:
            total += seconds
    return total
