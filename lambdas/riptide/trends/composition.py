"""The trends function's wiring: settings, the Druid client and the document store."""

from __future__ import annotations

from riptide.decisions.documents import open_documents
from riptide.delivery.composition import aws_client, druid_client
from riptide.trends.job import TrendsJob
from riptide.trends.settings import TrendsSettings


def compose_trends_job() -> TrendsJob:
    """The job as the function runs it: the consumer's Druid (and its user) and DECISIONS_URL."""
    settings = TrendsSettings.from_env()
    return TrendsJob(
        druid=druid_client(settings),
        datasource=settings.datasource,
        documents=open_documents(settings.decisions_url, lambda: aws_client("s3")),
    )
