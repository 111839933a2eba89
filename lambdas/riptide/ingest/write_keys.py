"""Write keys: find the site a request is for, without leaking keys through logs or timing.

The keys live in one Secrets Manager secret, a JSON object {"<write key>": "<site id>"}. They are
loaded on first use and reloaded after a maximum age, so a new key works within that age without
a deploy. A key is compared against every known key with hmac.compare_digest, so the time taken
says nothing about how close a guess came.
"""

from __future__ import annotations

import binascii
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from riptide.ingest.exceptions import UnauthorizedError, WriteKeysUnavailableError

_BASIC = "basic "
RELOAD_RETRY_SECONDS = 10.0
"""After a failed reload, known keys stay in use and the next reload is tried this much later."""


def write_key_from_header(authorization: str | None) -> str | None:
    """The username of an HTTP Basic Authorization header (the password is ignored), if any."""
    if authorization is None:
        return None
    if authorization[: len(_BASIC)].lower() != _BASIC:
        raise UnauthorizedError(
            "the Authorization header must be HTTP Basic with the write key as the username"
        )
    try:
        credentials = binascii.a2b_base64(authorization[len(_BASIC) :].strip(), strict_mode=True)
        username = credentials.decode().partition(":")[0]
    except (binascii.Error, ValueError):
        raise UnauthorizedError(
            "the Authorization header is not valid HTTP Basic (base64 of 'writeKey:')"
        ) from None
    return username or None


class WriteKeyRegistry:
    """Site ids by write key, loaded from Secrets Manager and cached for `max_age_seconds`."""

    def __init__(
        self,
        secret_id: str,
        client_factory: Callable[[], Any],
        max_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        kind: str = "write",
    ) -> None:
        """`kind` names the keys in messages ("write", "read", "admin"): one registry per secret."""
        self._kind = kind
        self._secret_id = secret_id
        self._client_factory = client_factory
        self._client: Any = None
        self._max_age = max_age_seconds
        self._clock = clock
        self._keys: tuple[tuple[bytes, str], ...] = ()
        self._loaded_at: float | None = None

    def site_for(self, write_key: Any) -> str:
        """The site id of `write_key`; UnauthorizedError when it is missing or unknown."""
        if write_key is None or write_key == "":
            raise UnauthorizedError(
                "no write key: send it as the HTTP Basic username or as writeKey in the body"
            )
        if not isinstance(write_key, str):
            raise UnauthorizedError("writeKey must be a string")
        try:
            candidate = write_key.encode()
        except UnicodeEncodeError:
            raise UnauthorizedError(f"the {self._kind} key is not valid") from None
        site = None
        for known, known_site in self._current_keys():
            if hmac.compare_digest(candidate, known):
                site = known_site
        if site is None:
            raise UnauthorizedError(f"the {self._kind} key is not valid")
        return site

    def reload(self) -> None:
        """Load the keys now; WriteKeysUnavailableError keeps the known ones. A long-lived
        server calls this off the request path, with a max age that never expires on its own."""
        self._keys = self._load()
        self._loaded_at = self._clock()

    def _current_keys(self) -> tuple[tuple[bytes, str], ...]:
        now = self._clock()
        if self._loaded_at is not None and now - self._loaded_at < self._max_age:
            return self._keys
        try:
            self._keys = self._load()
        except WriteKeysUnavailableError:
            if not self._keys:
                raise
            # Serve the keys already known rather than fail every request; try again soon.
            self._loaded_at = now - self._max_age + RELOAD_RETRY_SECONDS
            return self._keys
        self._loaded_at = now
        return self._keys

    def _load(self) -> tuple[tuple[bytes, str], ...]:
        if self._client is None:
            self._client = self._client_factory()
        try:
            secret = self._client.get_secret_value(SecretId=self._secret_id)["SecretString"]
        except Exception as error:
            raise WriteKeysUnavailableError(
                f"the {self._kind} keys could not be loaded ({type(error).__name__})"
            ) from error
        try:
            keys = json.loads(secret)
        except ValueError:
            keys = None
        if not isinstance(keys, dict) or not all(
            isinstance(key, str) and key and isinstance(site, str) and site
            for key, site in keys.items()
        ):
            raise WriteKeysUnavailableError(
                f"the {self._kind} keys secret must be a JSON object "
                f'{{"<{self._kind} key>": "<site id>"}}'
            )
        return tuple((key.encode(), site) for key, site in keys.items())
