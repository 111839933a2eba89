"""Server-side scripts kept in the package and called by their SHA1 (EVALSHA).

A script is loaded once per client; a server that lost it (restart, failover, SCRIPT FLUSH)
answers NOSCRIPT and redis-py reloads and retries it once. Many calls go out pipelined, one
round trip per server: redis-py's cluster pipeline refuses EVALSHA, so in cluster mode the calls
are grouped by the node owning their first key and each group is pipelined on that node (all
keys of a call share one hash slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any

import redis


class StoreScript:
    """A Lua script of a package's `scripts/` folder, bound to a client."""

    def __init__(self, client: Any, package: str, name: str) -> None:
        source = resources.files(package).joinpath("scripts", name).read_text(encoding="utf-8")
        self._script = client.register_script(source)

    def __call__(self, keys: list[str], args: list[Any], client: Any = None) -> Any:
        """Run the script on `client` (a pipeline to batch calls), else on the bound client."""
        return self._script(keys=keys, args=args, client=client)

    def run_pipelined(self, client: Any, calls: Sequence[tuple[list[str], list[Any]]]) -> list[Any]:
        """Each (keys, args) call's answer, in order; raises the first error any call met.

        Calls on one node run in the order given, so calls whose keys share a slot keep it.
        """
        groups: dict[Any, tuple[Any, list[int]]] = {}
        for index, (keys, _) in enumerate(calls):
            target = _node_client(client, keys[0])
            groups.setdefault(id(target), (target, []))[1].append(index)
        answers: list[Any] = [None] * len(calls)
        for target, indexes in groups.values():
            pipeline = target.pipeline(transaction=False)
            for index in indexes:
                keys, args = calls[index]
                self(keys, args, client=pipeline)
            for index, answer in zip(indexes, pipeline.execute(raise_on_error=True), strict=True):
                answers[index] = answer
        return answers


def _node_client(client: Any, key: str) -> Any:
    """The client of the server that owns `key`: `client` itself unless it is a cluster client."""
    if not isinstance(client, redis.RedisCluster):
        return client
    return client.get_redis_connection(client.get_node_from_key(key))
