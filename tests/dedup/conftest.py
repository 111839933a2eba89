"""The deduplication window on the real store (scripts/valkey start), and on a server of the
test's own where a test stops it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from riptide.dedup import DedupWindow
from riptide.store import connect
from tests.own_store import OwnStore
from tests.profiles.conftest import WINDOW as LENGTH
from tests.profiles.conftest import site, store_client, store_url  # noqa: F401 - fixtures


@pytest.fixture
def window(store_client: Any) -> DedupWindow:  # noqa: F811 - the imported fixture
    return DedupWindow(store_client, LENGTH)


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[OwnStore]:
    server = OwnStore(tmp_path / "valkey")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_window(own_store: OwnStore) -> DedupWindow:
    return DedupWindow(connect(own_store.url), LENGTH)
