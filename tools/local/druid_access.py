"""Who the local run talks to Druid as, and the grant that lets the pipeline user write run data.

Each run writes to a datasource of its own (riptide_demo_<run id>), so reruns never mix their
rows. scripts/druid grants the pipeline user only its one datasource; the admin user here adds
a role covering the run datasources (Druid matches permission names as regular expressions).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from tools.local.rollup_store import DruidHttp, DruidUnreachableError

RUN_DATASOURCE_PREFIX = "riptide_demo_"
RUN_ROLE = "riptide-demo-runs"
READY_PATIENCE_SECONDS = 30
AUTHORIZATION_API = "/proxy/coordinator/druid-ext/basic-security/authorization/db/basic"


@dataclass(frozen=True)
class DruidAccounts:
    """The router URL and the two users scripts/druid sets up (same variables and defaults)."""

    url: str
    admin_password: str
    pipeline_user: str
    pipeline_password: str

    @classmethod
    def from_env(cls, url: str | None = None) -> DruidAccounts:
        return cls(
            url=url or os.environ.get("RIPTIDE_DRUID_URL") or _local_router_url(),
            admin_password=os.environ.get("RIPTIDE_DRUID_ADMIN_PASSWORD", "riptide-admin"),
            pipeline_user=os.environ.get("RIPTIDE_DRUID_USER", "riptide"),
            pipeline_password=os.environ.get("RIPTIDE_DRUID_PASSWORD", "riptide-pipeline"),
        )

    def admin(self) -> DruidHttp:
        return DruidHttp(self.url, "admin", self.admin_password)

    def pipeline_secret(self) -> dict[str, str]:
        """The Druid secret's value, as the stack's DruidCredentials secret holds it."""
        return {"username": self.pipeline_user, "password": self.pipeline_password}


def check_ready(admin: DruidHttp, patience_seconds: float = READY_PATIENCE_SECONDS) -> None:
    """Return once the router, broker, coordinator and overlord answer; else fail, saying why.

    A Druid that is still starting gets `patience_seconds` to come up.
    """
    deadline = time.monotonic() + patience_seconds
    while True:
        try:
            admin.require("GET", "/status/health")
            admin.require("GET", "/druid/coordinator/v1/isLeader")
            admin.require("GET", "/druid/indexer/v1/isLeader")
            admin.sql("SELECT 1 AS ok")
            return
        except DruidUnreachableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def grant_run_datasources(admin: DruidHttp, pipeline_user: str) -> None:
    """Give the pipeline user READ and WRITE on every run datasource (idempotent)."""
    role = f"{AUTHORIZATION_API}/roles/{RUN_ROLE}"
    status, _ = admin.request("GET", role)
    if status != 200:  # Druid answers 400, not 404, for a role it does not know
        admin.require("POST", role)
    pattern = f"{RUN_DATASOURCE_PREFIX}.*"
    admin.require(
        "POST",
        f"{role}/permissions",
        [
            {"resource": {"type": "DATASOURCE", "name": pattern}, "action": action}
            for action in ("READ", "WRITE")
        ],
    )
    assignment = f"{AUTHORIZATION_API}/users/{pipeline_user}/roles/{RUN_ROLE}"
    status, answer = admin.request("POST", assignment)
    if status not in (200, 400):
        raise DruidUnreachableError(f"could not give {pipeline_user} the role {RUN_ROLE}: {answer}")


def _local_router_url() -> str:
    """The router scripts/druid starts: port 8888, shifted by RIPTIDE_DRUID_PORT_OFFSET."""
    offset = int(os.environ.get("RIPTIDE_DRUID_PORT_OFFSET", "0") or 0)
    return f"http://127.0.0.1:{8888 + offset}"
