"""Server-side scripts kept in the package and called by their SHA1 (EVALSHA).

A script is loaded once per client; a server that lost it (restart, failover, SCRIPT FLUSH)
answers NOSCRIPT and redis-py reloads and retries it once.
"""

from __future__ import annotations

from importlib import resources
from typing import Any


class StoreScript:
    """A Lua script of a package's `scripts/` folder, bound to a client."""

    def __init__(self, client: Any, package: str, name: str) -> None:
        source = resources.files(package).joinpath("scripts", name).read_text(encoding="utf-8")
        self._script = client.register_script(source)

    def __call__(self, keys: list[str], args: list[Any], client: Any = None) -> Any:
        """Run the script on `client` (a pipeline to batch calls), else on the bound client."""
        return self._script(keys=keys, args=args, client=client)
