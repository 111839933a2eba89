"""Errors of the Druid client, each carrying Druid's own words where Druid gave any."""

from __future__ import annotations


class DruidError(Exception):
    """Base class for every error raised by riptide.druid."""


class DruidUnavailableError(DruidError):
    """Druid kept answering 429/5xx, timing out or refusing connections until the budget ran out.

    Transient by nature: the caller retries the whole batch later (Lambda redelivers it).
    """

    def __init__(self, method: str, path: str, attempts: int, last_problem: str) -> None:
        self.method = method
        self.path = path
        self.attempts = attempts
        self.last_problem = last_problem
        super().__init__(
            f"Druid did not complete {method} {path} after {attempts} attempt(s): {last_problem}"
        )


class DruidRequestError(DruidError):
    """Druid refused the request for good (spec rejected, 401, 403, 404 on a write, ...).

    Retrying the same request cannot help; `druid_message` is Druid's own explanation.
    """

    def __init__(self, method: str, path: str, status: int, druid_message: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.druid_message = druid_message
        super().__init__(f"Druid answered {status} to {method} {path}: {druid_message}")


class DruidTlsError(DruidError):
    """The TLS handshake failed (untrusted certificate, wrong host name, not a TLS port).

    Final: it takes a fixed certificate or URL, not a retry.
    """

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"TLS with Druid at {url} failed: {problem}")
