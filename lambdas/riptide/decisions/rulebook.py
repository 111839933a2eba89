"""Every site's rules, read from the decisions store and kept fresh within a maximum age.

A rules file is read again once the copy held is older than `max_age_seconds`; a document whose
store version (ETag, or modification time and size) is unchanged is not parsed again. A new
version that does not parse is refused and logged with every problem, and the last good version
keeps serving; so does everything held while the store cannot be read (asked again after
RETRY_SECONDS, not on every call). Safe to share between threads: one reads the store at a
time, the others serve what is held meanwhile, or wait when nothing is held yet.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from riptide.decisions.assignment import Experiment
from riptide.decisions.documents import (
    RULES_PREFIX,
    DocumentStore,
    DocumentsUnavailableError,
    rules_key,
    site_of,
)
from riptide.decisions.rules import RulesError, RuleSet, parse_rule_set

DEFAULT_MAX_AGE_SECONDS = 30.0
RETRY_SECONDS = 5.0
"""After a failed read, the store is asked again this much later (or at the max age if sooner)."""


@dataclass(slots=True)
class _Held:
    """What is known of one site's rules file, or of the list of sites."""

    read_at: float
    read_once: bool = False
    """Whether the store ever answered: before, a failed read has nothing to fall back on."""
    rule_set: RuleSet | None = None
    document_version: str | None = None
    """The store version last looked at, good or refused: it is not parsed again."""


class RuleBook:
    """Per-site rule sets from `documents`, each re-read when older than `max_age_seconds`."""

    def __init__(
        self,
        documents: DocumentStore,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        logger: Logger | None = None,
    ) -> None:
        self._documents = documents
        self._max_age = max_age_seconds
        self._clock = clock
        self._logger = logger or Logger(child=True)
        self._held: dict[str, _Held] = {}
        self._sites: tuple[str, ...] = ()
        self._sites_held: _Held | None = None
        self._lock = threading.Lock()

    def rule_set(self, site: str) -> RuleSet | None:
        """The site's rules; None when it has no good rules file, or when the store cannot be
        read and nothing is held for the site yet."""
        try:
            return self._current(site).rule_set
        except DocumentsUnavailableError:
            return None

    def experiments(self) -> dict[str, tuple[Experiment, ...]]:
        """Every site's experiments, by site (sites without good rules left out).
        DocumentsUnavailableError when the store cannot be read and nothing is held for a
        site or for the list of sites: an answer without them would be silently wrong."""
        found: dict[str, tuple[Experiment, ...]] = {}
        for site in self._site_list():
            rule_set = self._current(site).rule_set
            if rule_set is not None:
                found[site] = rule_set.experiments
        return found

    def _current(self, site: str) -> _Held:
        held = self._held.get(site)
        if (held is None or self._stale(held)) and self._lock_to_refresh(held):
            try:
                held = self._held.setdefault(site, _Held(read_at=-math.inf))
                if self._stale(held):
                    self._refresh(site, held)
            finally:
                self._lock.release()
        if held is None or not held.read_once:
            raise DocumentsUnavailableError(f"the rules of {site} have not been read yet")
        return held

    def _refresh(self, site: str, held: _Held) -> None:
        now = self._clock()
        try:
            document = self._documents.read(rules_key(site))
        except DocumentsUnavailableError as error:
            message = "Rules unreadable; the rules held keep serving"
            self._failed(held, now, message, error, site=site)
            return
        if document is None:
            held.rule_set, held.document_version = None, None
        elif document.version != held.document_version:
            held.document_version = document.version
            self._parse(site, document.body, held)
        held.read_at, held.read_once = now, True

    def _parse(self, site: str, body: bytes, held: _Held) -> None:
        try:
            held.rule_set = parse_rule_set(body, site)
        except RulesError as error:
            self._logger.error(
                "Rules file refused; the last good version keeps serving",
                extra={
                    "site": site,
                    "key": rules_key(site),
                    "problems": error.problems,
                    "rules_version": None if held.rule_set is None else held.rule_set.version,
                },
            )

    def _site_list(self) -> tuple[str, ...]:
        held = self._sites_held
        if self._stale(held) and self._lock_to_refresh(held):
            try:
                held = self._sites_held
                if self._stale(held):
                    held = self._list_sites()
            finally:
                self._lock.release()
        if held is None or not held.read_once:
            raise DocumentsUnavailableError("the rules files have not been listed yet")
        return self._sites

    def _list_sites(self) -> _Held:
        now = self._clock()
        held = self._sites_held = self._sites_held or _Held(read_at=-math.inf)
        try:
            self._sites = tuple(site_of(key) for key in self._documents.keys(RULES_PREFIX))
        except DocumentsUnavailableError as error:
            self._failed(held, now, "Rules files cannot be listed; the sites known stay", error)
            return held
        held.read_at, held.read_once = now, True
        return held

    def _stale(self, held: _Held | None) -> bool:
        return held is None or self._clock() - held.read_at >= self._max_age

    def _lock_to_refresh(self, held: _Held | None) -> bool:
        """Take the lock to read the store: waiting for it when nothing is held yet, else only
        if free, serving what is held while another thread reads (decisions run on threads)."""
        return self._lock.acquire(blocking=held is None or not held.read_once)

    def _failed(
        self, held: _Held, now: float, message: str, error: Exception, site: str | None = None
    ) -> None:
        """Keep what is held and ask the store again after RETRY_SECONDS."""
        version = None if held.rule_set is None else held.rule_set.version
        self._logger.warning(
            message, extra={"site": site, "error": str(error), "rules_version": version}
        )
        held.read_at = now - self._max_age + min(RETRY_SECONDS, self._max_age)
