"""The sites' trends documents as the decider reads them: cached, and never a reason to fail.

The trends job writes `trends/<site>.json` each minute; a decision reads it at most once per
site every `max_age_seconds`, and parses it again only when its version changed. A document that
is missing, cannot be read or is not a JSON object means no trends (conditions on `trends.*`
then do not hold), and that answer is cached too, so an outage of the store costs one read per
site per max age, not one per decision.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from riptide.decisions.documents import DocumentStore, DocumentsUnavailableError, trends_key

TRENDS_MAX_AGE_SECONDS = 15.0
"""Trends change each minute; a quarter of that keeps them fresh at one read per site."""


@dataclass(frozen=True, slots=True)
class _Held:
    read_at: float
    version: str | None
    trends: dict[str, Any] | None


class TrendsCache:
    """Each site's trends document, re-read when older than `max_age_seconds`."""

    def __init__(
        self,
        documents: DocumentStore,
        logger: Logger,
        max_age_seconds: float = TRENDS_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._documents = documents
        self._logger = logger
        self._max_age = max_age_seconds
        self._clock = clock
        self._held: dict[str, _Held] = {}

    def trends(self, site: str) -> dict[str, Any] | None:
        """The site's trends document, or None when there are no usable trends."""
        now = self._clock()
        held = self._held.get(site)
        if held is not None and now - held.read_at < self._max_age:
            return held.trends
        key = trends_key(site)
        try:
            document = self._documents.read(key)
        except DocumentsUnavailableError as error:
            self._logger.warning(
                "trends not read; deciding without them", extra={"key": key, "reason": str(error)}
            )
            document = None
        if document is None:
            trends = None
        elif held is not None and document.version == held.version:
            trends = held.trends
        else:
            trends = self._parse(key, document.body)
        self._held[site] = _Held(now, None if document is None else document.version, trends)
        return trends

    def _parse(self, key: str, body: bytes) -> dict[str, Any] | None:
        try:
            trends = json.loads(body)
        except ValueError as error:
            trends = None
            reason = str(error)
        else:
            reason = "not a JSON object"
        if isinstance(trends, dict):
            return trends
        self._logger.warning(
            "trends unusable; deciding without them", extra={"key": key, "reason": reason}
        )
        return None
