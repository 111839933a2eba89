"""In cluster mode, as ElastiCache Serverless answers: a one-node cluster of the same server
(`--cluster-enabled yes`, every slot on it), reached with the cluster-aware client the stack
configures. The scripts keep to one hash slot per call and go out pipelined per node."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from riptide.profiles import ProfileStore
from riptide.store import connect
from tests.profiles.conftest import LIMITS, profile_consumer, site_state
from tests.profiles.events import batch, event, product

SERVER = shutil.which("valkey-server") or shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if SERVER is None:
        pytest.fail("no valkey-server or redis-server; run: scripts/valkey install")
    state: Path = tmp_path_factory.mktemp("cluster")
    port, bus_port = _free_port(), _free_port()
    # The bus port is named: by default it is port + 10000, past 65535 for a high free port.
    server = subprocess.Popen(
        [SERVER, "--bind", "127.0.0.1", "--port", str(port), "--cluster-enabled", "yes",
         "--cluster-port", str(bus_port), "--cluster-config-file", str(state / "nodes.conf"),
         "--dir", str(state), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        admin = redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2)
        _until(lambda: _alive(server) and admin.ping())
        admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        _until(lambda: b"cluster_state:ok" in admin.execute_command("CLUSTER", "INFO"))
        client = connect(f"redis://127.0.0.1:{port}/0", cluster=True)
        yield client
        client.close()
    finally:
        server.terminate()
        server.wait()


def _alive(server: subprocess.Popen[bytes]) -> bool:
    if server.poll() is not None:
        pytest.fail(f"the cluster-mode server exited with {server.returncode}")
    return True


def _until(ready: Any, attempts: int = 1200) -> None:
    """Poll until the server is ready (no time is asserted; a busy machine gets a minute)."""
    for _ in range(attempts):
        try:
            if ready():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    pytest.fail("the cluster-mode server did not become ready")


def test_profiles_update_exactly_once_and_read_and_delete_in_cluster_mode(
    cluster_client: Any,
) -> None:
    store = ProfileStore(cluster_client, LIMITS)
    consumer = profile_consumer(store, chunk_events=2)
    sites = ["shop-a", "shop-b"]
    events = [
        event(site, name="Product Added", anonymous_id="anon-1", second=n,
              properties=product(f"p{n}", "x", 2.0))
        for n in range(3)
        for site in sites
    ] + [event(site, call="identify", user_id="ann", anonymous_id="anon-1", second=9)
         for site in sites]  # fmt: skip
    once = batch([events[:4], [*events[4:], events[0]]])  # a copy of the first: a duplicate

    first = consumer.consume(once)
    before = {site: site_state(cluster_client, site) for site in sites}
    again = consumer.consume(once)

    assert (first.applied, first.duplicates, first.failed_from) == (8, 1, None)
    assert (again.applied, again.replayed, again.duplicates) == (0, 8, 1)
    assert {site: site_state(cluster_client, site) for site in sites} == before
    for site in sites:
        assert store.read(site, ["anon-1"])["anon-1"]["id"] == "u:ann"
        assert store.delete(site, "ann")
        assert store.read(site, ["ann", "anon-1"]) == {"ann": None, "anon-1": None}
