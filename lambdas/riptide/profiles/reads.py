"""The read API's core: profiles by id for a read key's site, deletion for an admin key's.

HTTP-free: each call takes the Authorization header and the path or query values and gives an
Answer. Keys come from their own secrets, {"<key>": "<site id>"}, sent as `Bearer <key>`; a read
key never deletes and a write key never reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from riptide.ingest.answers import Answer
from riptide.ingest.exceptions import UnauthorizedError, WriteKeysUnavailableError
from riptide.ingest.write_keys import WriteKeyRegistry
from riptide.profiles.store import ProfileStore
from riptide.profiles.view import present
from riptide.store import StoreUnavailableError

MAX_IDS = 50
MAX_ID_LENGTH = 256
_BEARER = "bearer "


def _answer(status: int, body: Any) -> Answer:
    return Answer(status, json.dumps(body, separators=(",", ":")))


def _error(status: int, code: str, message: str) -> Answer:
    return _answer(status, {"code": code, "message": message})


def bearer_site(keys: WriteKeyRegistry, authorization: str | None, kind: str) -> str:
    """The site of the Bearer key; UnauthorizedError when none is sent or it is unknown.

    The decide API authenticates with the same read keys, through this function."""
    key = None
    if authorization is not None and authorization[: len(_BEARER)].lower() == _BEARER:
        key = authorization[len(_BEARER) :].strip()
    if not key:
        raise UnauthorizedError(f"send the {kind} key as Authorization: Bearer <{kind} key>")
    return keys.site_for(key)


class ProfileReads:
    def __init__(
        self,
        store: ProfileStore,
        read_keys: WriteKeyRegistry,
        admin_keys: WriteKeyRegistry | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._read_keys = read_keys
        self._admin_keys = admin_keys
        self._clock = clock

    def get(self, authorization: str | None, identity: str) -> Answer:
        answer = self._many(authorization, [identity])
        if isinstance(answer, Answer):
            return answer
        profile = answer[identity]
        if profile is None:
            return _error(404, "not_found", "no profile for this id on this key's site")
        return _answer(200, profile)

    def get_many(self, authorization: str | None, ids: str | None) -> Answer:
        """`ids`: comma-separated userIds or anonymousIds, at most MAX_IDS."""
        identities = list(dict.fromkeys(i for i in (ids or "").split(",") if i))
        if not identities or len(identities) > MAX_IDS:
            return _error(400, "bad_ids", f"ids must name 1 to {MAX_IDS} ids, comma-separated")
        answer = self._many(authorization, identities)
        if isinstance(answer, Answer):
            return answer
        return _answer(200, {"profiles": answer})

    def delete(self, authorization: str | None, identity: str) -> Answer:
        if self._admin_keys is None:
            return _error(403, "forbidden", "no admin keys are configured")
        try:
            site = bearer_site(self._admin_keys, authorization, "admin")
            if not self._valid(identity):
                return _error(400, "bad_id", f"an id is 1 to {MAX_ID_LENGTH} characters")
            deleted = self._store.delete(site, identity)
        except UnauthorizedError as error:
            return _error(401, "unauthorized", error.message)
        except (WriteKeysUnavailableError, StoreUnavailableError) as error:
            return _error(503, "unavailable", str(error))
        if not deleted:
            return _error(404, "not_found", "no profile for this id on this key's site")
        return _answer(200, {"deleted": identity})

    def _many(
        self, authorization: str | None, identities: list[str]
    ) -> Answer | dict[str, dict[str, Any] | None]:
        try:
            site = bearer_site(self._read_keys, authorization, "read")
            if not all(self._valid(identity) for identity in identities):
                return _error(400, "bad_id", f"an id is 1 to {MAX_ID_LENGTH} characters")
            documents = self._store.read(site, identities)
        except UnauthorizedError as error:
            return _error(401, "unauthorized", error.message)
        except (WriteKeysUnavailableError, StoreUnavailableError) as error:
            return _error(503, "unavailable", str(error))
        now_ms = int(self._clock() * 1000)
        return {
            identity: None if document is None else present(document, now_ms)
            for identity, document in documents.items()
        }

    @staticmethod
    def _valid(identity: str) -> bool:
        return 0 < len(identity) <= MAX_ID_LENGTH
