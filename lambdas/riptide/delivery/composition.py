"""The consumer's and reconciler's wiring: settings, clients and engines, built on first use.

Nothing here runs at import: each handler builds its parts once per execution environment and
keeps them, so a cold start pays for boto3 and the secret once and a warm one not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Metrics

from riptide.aws import aws_client
from riptide.decisions.documents import open_documents
from riptide.dedup.settings import compose_optional_dedup_window
from riptide.delivery.consumer import ShardConsumer
from riptide.delivery.outbox import Outbox
from riptide.delivery.settings import DeliverySettings
from riptide.druid import DruidClient
from riptide.druid.connection import druid_client
from riptide.quarantine import Quarantine
from riptide.rollup.arms import ExperimentSource


def compose_shard_consumer(metrics: Metrics) -> ShardConsumer:
    """The consumer function's engine, wired to S3, Druid and the rollup settings."""
    settings = DeliverySettings.from_env()
    s3 = aws_client("s3")
    return ShardConsumer(
        datasource=settings.datasource,
        schema=settings.schema,
        policy=settings.time_policy,
        druid=druid_client(settings),
        outbox=Outbox(s3, settings.outbox_bucket, settings.datasource),
        quarantine=Quarantine(s3, settings.required_quarantine_bucket()),
        dedup=compose_optional_dedup_window(),
        metrics=metrics,
        experiments=experiment_source(settings.decisions_url, lambda: s3),
    )


def experiment_source(
    decisions_url: str | None, s3_client: Callable[[], Any]
) -> ExperimentSource | None:
    """Every site's experiments from the rules at DECISIONS_URL, read again once older than the
    rule book's maximum age; None without it, and the `variant` dimension stays empty.

    Only rows are ever redelivered (the outbox holds them), so the reconciler needs no rules.
    """
    if not decisions_url:
        return None
    from riptide.decisions.rulebook import RuleBook  # deferred: parses rules only when used

    return RuleBook(open_documents(decisions_url, s3_client)).experiments


@dataclass(frozen=True)
class Reconciliation:
    """What the reconciler function works with."""

    outbox: Outbox
    druid: DruidClient


def compose_reconciliation() -> Reconciliation:
    settings = DeliverySettings.from_env()
    outbox = Outbox(aws_client("s3"), settings.outbox_bucket, settings.datasource)
    return Reconciliation(outbox, druid_client(settings))
