"""Every site's rules, read from the decisions store and kept fresh within a maximum age.

A rules file is read again once the copy held is older than `max_age_seconds`; a document whose
store version (ETag, or modification time and size) is unchanged is not parsed again. A new
version that does not parse is refused and logged with every problem, and the last good version
keeps serving; so does everything held while the store cannot be read.
"""

from __future__ import annotations

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


@dataclass(slots=True)
class _Held:
    rule_set: RuleSet | None
    document_version: str | None
    """The store version last looked at, good or refused: it is not parsed again."""
    read_at: float


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
        self._sites_read_at: float | None = None

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
        now = self._clock()
        held = self._held.get(site)
        if held is not None and now - held.read_at < self._max_age:
            return held
        try:
            document = self._documents.read(rules_key(site))
        except DocumentsUnavailableError as error:
            self._logger.warning(
                "Rules unreadable; the rules held keep serving",
                extra={"site": site, "error": str(error), "rules_version": _version(held)},
            )
            if held is None:
                raise
            held.read_at = now
            return held
        if held is None:
            held = self._held[site] = _Held(None, None, now)
        held.read_at = now
        if document is None:
            held.rule_set, held.document_version = None, None
        elif document.version != held.document_version:
            held.document_version = document.version
            self._parse(site, document.body, held)
        return held

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
                    "rules_version": _version(held),
                },
            )

    def _site_list(self) -> tuple[str, ...]:
        now = self._clock()
        if self._sites_read_at is not None and now - self._sites_read_at < self._max_age:
            return self._sites
        try:
            self._sites = tuple(site_of(key) for key in self._documents.keys(RULES_PREFIX))
        except DocumentsUnavailableError as error:
            self._logger.warning(
                "Rules files cannot be listed; the sites known keep serving",
                extra={"error": str(error)},
            )
            if self._sites_read_at is None:
                raise
        self._sites_read_at = now
        return self._sites


def _version(held: _Held | None) -> str | None:
    return None if held is None or held.rule_set is None else held.rule_set.version
