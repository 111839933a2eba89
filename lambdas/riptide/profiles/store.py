"""Profiles in the store: apply chunks of events exactly once, read a profile, delete one.

Layout (riptide.store.SiteKeys): `p:u:<userId>` and `p:a:<anonymousId>` hold a profile as
MessagePack (exact numbers whatever the chunking, and fewer bytes to bill than JSON);
`l:<identity>` names the profile an anonymous id (or an aliased user id) was joined into;
`hw:profiles:<shard>` is the last stream position applied for the site from that shard.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from riptide.profiles.attributes import rules_spec
from riptide.profiles.events import ProfileEvent
from riptide.store import SiteKeys, StoreScript, StoreUnavailableError
from riptide.store.client import StoreError

CONSUMER = "profiles"
"""This consumer's name in its high-water keys."""
_PACKAGE = "riptide.profiles"
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


@dataclass(frozen=True, slots=True)
class Chunk:
    """Events of one site from one shard, in stream order, applied in one atomic call."""

    site: str
    shard_id: str
    events: Sequence[ProfileEvent]


@dataclass(frozen=True, slots=True)
class ChunkResult:
    applied: int
    replayed: int
    profiles_written: int
    store_commands: int


@dataclass(frozen=True, slots=True)
class StoreLimits:
    anonymous_ttl_seconds: int
    identity_cap: int


class ProfileStore:
    def __init__(self, client: Any, limits: StoreLimits) -> None:
        self._client = client
        self._limits = limits
        self._apply = StoreScript(client, _PACKAGE, "apply.lua")
        self._delete = StoreScript(client, _PACKAGE, "delete.lua")
        self._spec = _encode(rules_spec())

    @property
    def client(self) -> Any:
        return self._client

    def apply(self, chunks: Iterable[Chunk]) -> list[ChunkResult]:
        """Apply every chunk, in order, in one round trip (per server); events applied before
        change nothing.

        Raises StoreUnavailableError if any chunk failed: the caller retries the batch, and the
        chunks that did succeed are skipped then by their high-water marks.
        """
        try:
            answers = self._apply.run_pipelined(self._client, self.script_calls(chunks))
        except StoreError as error:
            raise StoreUnavailableError(f"the profile store failed: {error}") from error
        return [ChunkResult(*(int(n) for n in answer)) for answer in answers]

    def script_calls(self, chunks: Iterable[Chunk]) -> list[tuple[list[str], list[Any]]]:
        """The update script's keys and arguments for each chunk (what goes over the wire)."""
        calls = []
        previous: dict[tuple[str, str], str] = {}
        for chunk in chunks:
            keys = SiteKeys(chunk.site)
            after = previous.get((chunk.site, chunk.shard_id), "")
            previous[chunk.site, chunk.shard_id] = chunk.events[-1].position
            rows = [event[:9] for event in chunk.events]
            arguments = [
                keys.prefix,
                _encode(rows),
                self._spec,
                self._limits.anonymous_ttl_seconds * 1000,
                self._limits.identity_cap,
                after,
            ]
            calls.append(([keys.high_water(CONSUMER, chunk.shard_id)], arguments))
        return calls

    def read(self, site: str, identities: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """The stored document of the profile each identity (userId or anonymousId) belongs to.

        Two pipelined round trips whatever the number of identities: the profiles and links
        of both kinds, then the profiles the links name.
        """
        keys = SiteKeys(site)
        candidates = [(f"u:{identity}", f"a:{identity}") for identity in identities]
        try:
            pipeline = self._client.pipeline(transaction=False)
            for pids in candidates:
                for pid in pids:
                    pipeline.get(keys.profile(pid))
                    pipeline.get(keys.link(pid))
            found = pipeline.execute()
            linked = sorted({target.decode() for target in found[1::2] if target is not None})
            pipeline = self._client.pipeline(transaction=False)
            for pid in linked:
                pipeline.get(keys.profile(pid))
            by_link = dict(zip(linked, pipeline.execute(), strict=True))
        except StoreError as error:
            raise StoreUnavailableError(f"the profile store failed: {error}") from error
        documents: dict[str, dict[str, Any] | None] = {}
        for index, identity in enumerate(identities):
            answers = found[index * 4 : index * 4 + 4]
            document = None
            for profile, link in (answers[0:2], answers[2:4]):
                document = profile or (link is not None and by_link.get(link.decode())) or None
                if document:
                    break
            documents[identity] = _decode(document) if document else None
        return documents

    def delete(self, site: str, identity: str) -> bool:
        """Remove the profile `identity` belongs to and every identity link to it."""
        document = self.read(site, [identity])[identity]
        if document is None:
            return False
        keys = SiteKeys(site)
        try:
            self._delete(keys=[keys.profile(document["id"])], args=[keys.prefix, document["id"]])
        except StoreError as error:
            raise StoreUnavailableError(f"the profile store failed: {error}") from error
        return True
