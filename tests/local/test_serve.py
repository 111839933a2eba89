"""`riptide demo --serve`: after the report the run says where each part answers, and stops on
Ctrl-C or SIGTERM."""

from __future__ import annotations

import io
import os
import signal
import threading
from pathlib import Path
from types import SimpleNamespace

from tools.local import pipeline
from tools.traffic import SITES


def serving(run: SimpleNamespace) -> str:
    """What a serving run prints, until a SIGTERM sent a moment after it starts waiting."""
    out = io.StringIO()
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    timer.start()
    try:
        pipeline._serve_until_interrupted(run, out)  # type: ignore[arg-type]
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    return out.getvalue()


def test_a_serving_run_names_each_part_with_the_first_shops_keys_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    run = SimpleNamespace(
        ingest_url="http://127.0.0.1:1001",
        decide_url="http://127.0.0.1:1002",
        collector=None,
        datasource="riptide_demo_x",
        run_dir=tmp_path,
    )

    printed = serving(run)

    site = SITES[0]
    assert f"curl -u {site.write_key}: " in printed
    assert "http://127.0.0.1:1001/v1/track" in printed
    assert f"Bearer {site.read_key}' http://127.0.0.1:1002/v1/decide" in printed
    assert "http://127.0.0.1:1002/v1/profiles/a1" in printed
    assert "--datasource riptide_demo_x" in printed
    assert f"{tmp_path.resolve()}/decisions/rules/" in printed


def test_without_decisions_only_the_events_are_named(tmp_path: Path) -> None:
    run = SimpleNamespace(
        ingest_url="http://127.0.0.1:1001",
        decide_url=None,
        collector=None,
        datasource="riptide_demo_x",
        run_dir=tmp_path,
    )

    printed = serving(run)

    assert "/v1/track" in printed
    assert "decide" not in printed and "report" not in printed
