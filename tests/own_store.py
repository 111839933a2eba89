"""A store server of a test's own (scripts/valkey on a free port and a scratch state folder),
for tests that stop the store to see what an outage does: the shared one must stay up."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "valkey"


class OwnStore:
    def __init__(self, state_dir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._env = {
            **os.environ,
            "RIPTIDE_VALKEY_PORT": str(port),
            "RIPTIDE_VALKEY_STATE": str(state_dir),
        }
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        subprocess.run([SCRIPT, "start"], env=self._env, check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([SCRIPT, "stop"], env=self._env, check=True, capture_output=True)
