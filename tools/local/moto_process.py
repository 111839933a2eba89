"""moto in a process of its own, so a benchmark's load generator does not share its GIL.

`python -m tools.local.moto_process PORT` serves until SIGTERM; `MotoProcess` starts it on a
free port and offers what MotoServer offers (endpoint_url, client).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import urllib3

from tools.local.aws import MotoServer
from tools.local.collector import ROOT, free_port

STARTUP_TIMEOUT_SECONDS = 30.0


class MotoProcess(MotoServer):
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tools.local.moto_process", str(self.port)], cwd=ROOT
        )
        http = urllib3.PoolManager(retries=False, timeout=1.0)
        ends = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < ends:
            try:
                http.request("GET", self.endpoint_url + "/moto-api/")
                return self
            except urllib3.exceptions.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("moto did not start")

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(30)


def _serve(port: int) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    from tools.local.aws import make_moto_shards_thread_safe

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    make_moto_shards_thread_safe()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
