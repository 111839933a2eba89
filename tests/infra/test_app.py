"""app.py as the CDK CLI runs it: a bad `-c` setting stops synth with a clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.infra.synthesis import ROOT


def test_bad_command_line_setting_stops_synth_naming_it(tmp_path) -> None:
    context = {"druidUrl": "https://druid:8888", "shardCount": "0", "streamMode": "kafka"}
    environment = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(tmp_path),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "streamMode must be one of provisioned, on_demand, got kafka" in result.stderr
    assert "shardCount must be at least 1, got 0" in result.stderr
    assert not list(tmp_path.iterdir())
