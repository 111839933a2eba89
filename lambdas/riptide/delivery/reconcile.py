"""Follow every task in the outbox until Druid has published it.

Druid stores a task before it answers 200, but the task can still end FAILED (or Druid can
lose track of it). The outbox keeps each task's payload until Druid reports SUCCESS, and this
pass, run on a schedule, finishes what the consumer started, task by task of each entry:

- SUCCESS: once every task of the entry has succeeded, the entry becomes a done marker (its
  records stay covered for redeliveries).
- FAILED: a task can fail after it published (its indexer died between publishing and
  reporting: "This task disappeared on the worker"), so what it published is looked up first.
  Druid's task audit log names the segments it asked to publish, and the metadata store says
  whether that publish happened (a task publishes all its segments in one transaction). Published:
  it counts as delivered. Published nothing: resubmitted as `<original id>_redrive<n>`, the
  entry rewritten with the new id first. Cannot be known (the audit log is empty, and no
  delivered task proves it is on): left pending and reported, never re-driven, since a second
  copy would count its events twice.
- unknown to Druid (404): resubmitted under its own id (a crash between outbox and submit).
- RUNNING: left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from riptide.delivery.outbox import DeliveryTask, Outbox, OutboxEntry
from riptide.delivery.positions import redrive_task_id
from riptide.druid import (
    DruidClient,
    DruidRequestError,
    DruidUnavailableError,
    TaskState,
    redriven_task,
)
from riptide.retry import Deadline

logger = Logger(child=True)

MAX_REDRIVES = 5
"""A task that fails this many times is left pending (and reported) instead of retried again."""


@dataclass(slots=True)
class ReconcileReport:
    pending: int = 0
    succeeded: int = 0
    running: int = 0
    redriven: int = 0
    resubmitted: int = 0
    rejected: int = 0
    given_up: int = 0
    deferred: int = 0
    unvisited: int = 0
    published_despite_failure: int = 0
    publication_unknown: int = 0
    oldest_age_seconds: float = 0.0

    @property
    def still_pending(self) -> int:
        return self.pending - self.succeeded


def reconcile(
    outbox: Outbox,
    druid: DruidClient,
    deadline: Deadline,
    clock: Callable[[], float] = time.time,
) -> ReconcileReport:
    """One pass over the pending outbox; what the deadline leaves unvisited waits for the next."""
    report = ReconcileReport()
    audit_log = _AuditLog(outbox, druid)
    now = clock()
    for pending in outbox.pending():
        report.pending += 1
        report.oldest_age_seconds = max(report.oldest_age_seconds, now - pending.stored_at)
        if deadline.expired:
            report.unvisited += 1
            continue
        try:
            entry = outbox.load(pending)
            report.oldest_age_seconds = max(report.oldest_age_seconds, now - entry.created_at)
            _settle(entry, outbox, druid, audit_log, deadline, report)
        except DruidRequestError as error:
            report.rejected += 1
            logger.error(
                "Druid rejects an outbox task; it stays pending",
                extra={
                    "outbox_key": pending.key,
                    "status": error.status,
                    "druid_error": error.druid_message,
                },
            )
        except (DruidUnavailableError, BotoCoreError, ClientError) as error:
            report.deferred += 1
            logger.warning(
                "Outbox task not settled this pass; the next one retries it",
                extra={"outbox_key": pending.key, "error": str(error)},
            )
    return report


class Publication(Enum):
    """What a FAILED task published: all its segments, nothing, or Druid cannot tell."""

    PUBLISHED = "published"
    NOTHING = "nothing"
    UNKNOWN = "unknown"


class _AuditLog:
    """Whether Druid's task audit log can be trusted to be on, asked once per pass.

    An empty list of segments means "published nothing" only if the log records publishes at
    all: a task Druid reported SUCCESS for must have some there.
    """

    def __init__(self, outbox: Outbox, druid: DruidClient) -> None:
        self._outbox = outbox
        self._druid = druid
        self._on: bool | None = None

    def is_on(self, deadline: Deadline) -> bool:
        if self._on is None:
            delivered = self._outbox.a_delivered_task_id()
            self._on = delivered is not None and bool(
                self._druid.task_segment_ids(delivered, deadline)
            )
        return self._on


def _publication(
    task: DeliveryTask, druid: DruidClient, audit_log: _AuditLog, deadline: Deadline
) -> Publication:
    """What a FAILED task published, as far as Druid can tell."""
    segment_ids = druid.task_segment_ids(task.task_id, deadline) or []
    if not segment_ids:
        return Publication.NOTHING if audit_log.is_on(deadline) else Publication.UNKNOWN
    datasource = task.task["spec"]["dataSchema"]["dataSource"]
    stored = {
        druid.segment_in_metadata(datasource, segment_id, deadline) for segment_id in segment_ids
    }
    if stored == {True}:
        return Publication.PUBLISHED
    return Publication.NOTHING if stored == {False} else Publication.UNKNOWN


def _settle(
    entry: OutboxEntry,
    outbox: Outbox,
    druid: DruidClient,
    audit_log: _AuditLog,
    deadline: Deadline,
    report: ReconcileReport,
) -> None:
    settled = 0
    redriven: list[DeliveryTask] = []
    for index, task in enumerate(entry.tasks):
        status = druid.task_status(task.task_id, deadline)
        if status is None:
            druid.submit_task(task.task, deadline)
            report.resubmitted += 1
            logger.warning("Task unknown to Druid; resubmitted", extra={"task_id": task.task_id})
        elif status.state is TaskState.SUCCESS:
            settled += 1
        elif status.state is TaskState.RUNNING:
            report.running += 1
        elif (publication := _publication(task, druid, audit_log, deadline)) is (
            Publication.PUBLISHED
        ):
            settled += 1
            report.published_despite_failure += 1
            logger.warning(
                "Task failed after publishing its segments; counted as delivered, not re-driven",
                extra={"task_id": task.task_id, "druid_error": status.error},
            )
        elif publication is Publication.UNKNOWN:
            report.publication_unknown += 1
            logger.error(
                "Task failed and what it published cannot be told; left pending for an operator "
                "(turn on druid.indexer.auditlog.enabled; check the datasource for the task's "
                "rows, then re-drive or drop the entry)",
                extra={"task_id": task.task_id, "druid_error": status.error},
            )
        elif task.redrives >= MAX_REDRIVES:
            report.given_up += 1
            logger.error(
                "Task failed after every re-drive; left pending for an operator",
                extra={"task_id": task.task_id, "druid_error": status.error},
            )
        else:
            new_id = redrive_task_id(task.original_task_id, task.redrives + 1)
            replacement = task.redriven(new_id, redriven_task(task.task, new_id))
            entry = entry.with_task(index, replacement)
            redriven.append(replacement)
            logger.warning(
                "Task failed in Druid having published nothing; re-driven under a new id",
                extra={"task_id": task.task_id, "new_task_id": new_id, "druid_error": status.error},
            )
    if redriven:
        outbox.record(entry)
        for task in redriven:
            druid.submit_task(task.task, deadline)
            report.redriven += 1
    elif settled == len(entry.tasks):
        outbox.mark_done(entry)
        report.succeeded += 1
