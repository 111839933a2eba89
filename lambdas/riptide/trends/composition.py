"""The trends function's wiring: settings, the Druid client and the document store."""

from __future__ import annotations

from collections.abc import Mapping

from riptide.aws import aws_client
from riptide.decisions.documents import open_documents
from riptide.druid.connection import druid_client
from riptide.trends.job import TrendsJob
from riptide.trends.settings import TrendsSettings


def compose_trends_job(environ: Mapping[str, str] | None = None) -> TrendsJob:
    """The job as the function runs it, from `environ` (the process environment by default):
    the consumer's Druid and user, and the documents at DECISIONS_URL."""
    settings = TrendsSettings.from_env(environ)
    return TrendsJob(
        druid=druid_client(settings),
        datasource=settings.datasource,
        documents=open_documents(settings.decisions_url, lambda: aws_client("s3")),
    )
