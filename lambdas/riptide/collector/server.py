"""Run the collector on uvicorn (uvloop, httptools) with worker processes.

Each worker builds its own Collector from the environment. On SIGTERM uvicorn stops accepting
connections, lets the requests in flight finish (their events are flushed and answered) and
then runs the app's shutdown, which flushes anything still waiting before the process exits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from riptide.collector.settings import CollectorSettings

APP = "riptide.collector.app:create_app"
GRACE_MARGIN_SECONDS = 5.0
"""Shutdown waits this long beyond a flush's publish budget for requests in flight."""


@dataclass(frozen=True)
class ServerOptions:
    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = os.cpu_count() or 1
    forwarded_allow_ips: str = "127.0.0.1"
    """Peers whose X-Forwarded-For names the client (the load balancer's subnets, or '*')."""
    log_level: str = "warning"


def serve(options: ServerOptions) -> None:
    """Serve until SIGTERM or SIGINT; returns once every accepted event is answered."""
    import uvicorn

    settings = CollectorSettings.from_env()
    uvicorn.run(
        APP,
        factory=True,
        host=options.host,
        port=options.port,
        workers=options.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=options.log_level,
        proxy_headers=True,
        forwarded_allow_ips=options.forwarded_allow_ips,
        timeout_graceful_shutdown=int(settings.publish_budget_seconds + GRACE_MARGIN_SECONDS),
        timeout_keep_alive=75,  # above the load balancer's 60 s idle timeout
    )
