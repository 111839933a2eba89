"""The trends job: one Druid query, then one trends document per site in the document store.

Run every minute. A failure never wipes what the decider serves: when the query fails no
document is touched, and a site whose document cannot be written keeps its last one. A site
that had trends but no product events in the whole window gets a document with empty lists,
so old trends do not outlive the interest they reflected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools import Logger

from riptide.decisions.documents import (
    TRENDS_PREFIX,
    DocumentStore,
    DocumentsUnavailableError,
    site_of,
    trends_key,
)
from riptide.druid import DruidClient, DruidError
from riptide.retry import Deadline
from riptide.trends.activity import TrendWindow, fetch_activity
from riptide.trends.document import encode_document, trends_document

logger = Logger(child=True)


@dataclass(frozen=True, slots=True)
class TrendsReport:
    """What one run did: sites whose document was written, and what failed (the query, or a
    site's write; each failure left the documents concerned as they were)."""

    refreshed: int
    failures: int


class TrendsJob:
    def __init__(
        self,
        druid: DruidClient,
        datasource: str,
        documents: DocumentStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._druid = druid
        self._datasource = datasource
        self._documents = documents
        self._clock = clock

    def run(self, deadline: Deadline) -> TrendsReport:
        """Refresh every site's trends; Druid retries stop at `deadline`."""
        generated_at = self._clock()
        window = TrendWindow.ending_at(generated_at)
        try:
            activity = fetch_activity(self._druid, self._datasource, window, deadline)
        except DruidError as error:
            logger.error(
                "Trends query failed; every site keeps its last trends",
                extra={"datasource": self._datasource, "error": str(error)},
            )
            return TrendsReport(refreshed=0, failures=1)
        failures = 0
        try:
            sites = set(activity) | {site_of(key) for key in self._documents.keys(TRENDS_PREFIX)}
        except DocumentsUnavailableError as error:
            logger.error("Cannot list trends documents", extra={"error": str(error)})
            sites, failures = set(activity), 1
        refreshed = 0
        for site in sorted(sites):
            document = trends_document(site, activity.get(site, []), window, generated_at)
            try:
                self._documents.write(trends_key(site), encode_document(document))
            except DocumentsUnavailableError as error:
                logger.error(
                    "Cannot write trends; the site keeps its last trends",
                    extra={"site": site, "error": str(error)},
                )
                failures += 1
            else:
                refreshed += 1
        return TrendsReport(refreshed=refreshed, failures=failures)
