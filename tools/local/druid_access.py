"""Who the local run talks to Druid as: a demo user of its own, set up by the admin user.

Each run writes to a datasource of its own (riptide_demo_<run id>), so reruns never mix their
rows. scripts/druid grants the pipeline user only its one datasource, and that stays true: the
runs write as a separate demo user whose role covers the run datasources (Druid matches
permission names as regular expressions) and, like the pipeline user's, only inline input.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from tools.local.rollup_store import DruidHttp, DruidUnreachableError

RUN_DATASOURCE_PREFIX = "riptide_demo_"
RUN_ROLE = "riptide-demo-runs"
RUN_USER = "riptide-demo"
READY_PATIENCE_SECONDS = 30
AUTHENTICATION_API = "/proxy/coordinator/druid-ext/basic-security/authentication/db/basic"
AUTHORIZATION_API = "/proxy/coordinator/druid-ext/basic-security/authorization/db/basic"


@dataclass(frozen=True)
class DruidAccounts:
    """The router URL and the two users scripts/druid sets up (same variables and defaults)."""

    url: str
    admin_password: str
    pipeline_user: str
    pipeline_password: str
    run_password: str

    @classmethod
    def from_env(cls, url: str | None = None) -> DruidAccounts:
        return cls(
            url=url or os.environ.get("RIPTIDE_DRUID_URL") or _local_router_url(),
            admin_password=os.environ.get("RIPTIDE_DRUID_ADMIN_PASSWORD", "riptide-admin"),
            pipeline_user=os.environ.get("RIPTIDE_DRUID_USER", "riptide"),
            pipeline_password=os.environ.get("RIPTIDE_DRUID_PASSWORD", "riptide-pipeline"),
            run_password=os.environ.get("RIPTIDE_DRUID_DEMO_PASSWORD", "riptide-demo-runs"),
        )

    def admin(self) -> DruidHttp:
        return DruidHttp(self.url, "admin", self.admin_password)

    def pipeline_secret(self) -> dict[str, str]:
        """The Druid secret's value, as the stack's DruidCredentials secret holds it."""
        return {"username": self.pipeline_user, "password": self.pipeline_password}

    def run_secret(self) -> dict[str, str]:
        """The Druid secret of a run against the real Druid: the demo user's."""
        return {"username": RUN_USER, "password": self.run_password}


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


def set_up_run_user(admin: DruidHttp, accounts: DruidAccounts) -> None:
    """The demo user, with READ and WRITE on every run datasource and inline input (idempotent).

    Installations where runs once wrote as the pipeline user lose that grant here, so the
    pipeline user keeps exactly what scripts/druid gives it.
    """
    user = f"{AUTHENTICATION_API}/users/{RUN_USER}"
    if admin.request("GET", user)[0] != 200:
        admin.require("POST", user)
    admin.require("POST", f"{user}/credentials", {"password": accounts.run_password})
    for path in (f"{AUTHORIZATION_API}/users/{RUN_USER}", f"{AUTHORIZATION_API}/roles/{RUN_ROLE}"):
        if admin.request("GET", path)[0] != 200:  # Druid answers 400, not 404, for unknown names
            admin.require("POST", path)
    datasources = f"{RUN_DATASOURCE_PREFIX}.*"
    admin.require(
        "POST",
        f"{AUTHORIZATION_API}/roles/{RUN_ROLE}/permissions",
        [
            *(
                {"resource": {"type": "DATASOURCE", "name": datasources}, "action": action}
                for action in ("READ", "WRITE")
            ),
            {"resource": {"type": "EXTERNAL", "name": "inline"}, "action": "READ"},
        ],
    )
    _assign(admin, RUN_USER, RUN_ROLE)
    _wait_until_known(DruidHttp(accounts.url, RUN_USER, accounts.run_password))
    status, _ = admin.request(
        "DELETE", f"{AUTHORIZATION_API}/users/{accounts.pipeline_user}/roles/{RUN_ROLE}"
    )
    if status not in (200, 400):
        raise DruidUnreachableError(
            f"could not take the role {RUN_ROLE} from {accounts.pipeline_user} ({status})"
        )


def _wait_until_known(user: DruidHttp, patience_seconds: float = READY_PATIENCE_SECONDS) -> None:
    """The coordinator pushes a new user to the other services within moments; wait for it."""
    deadline = time.monotonic() + patience_seconds
    while True:
        try:
            user.require("POST", "/druid/v2/sql", {"query": "SELECT 1"})
            return
        except DruidUnreachableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _assign(admin: DruidHttp, user: str, role: str) -> None:
    status, answer = admin.request("POST", f"{AUTHORIZATION_API}/users/{user}/roles/{role}")
    if status not in (200, 400):  # 400: the user has the role already
        raise DruidUnreachableError(f"could not give {user} the role {role}: {answer}")


def _local_router_url() -> str:
    """The router scripts/druid starts: port 8888, shifted by RIPTIDE_DRUID_PORT_OFFSET."""
    offset = int(os.environ.get("RIPTIDE_DRUID_PORT_OFFSET", "0") or 0)
    return f"http://127.0.0.1:{8888 + offset}"
