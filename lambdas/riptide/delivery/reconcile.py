"""Follow every task in the outbox until Druid has published it.

Druid stores a task before it answers 200, but the task can still end FAILED (or Druid can
lose track of it). The outbox keeps each task's payload until Druid reports SUCCESS, and this
pass, run on a schedule, finishes what the consumer started:

- SUCCESS: the entry becomes a done marker (its records stay covered for redeliveries).
- FAILED: resubmitted as `<original id>_redrive<n>`. A FAILED index task published nothing,
  so the new id cannot double-count; the entry is rewritten with the new id before submitting.
- unknown to Druid (404): resubmitted under its own id (a crash between outbox and submit).
- RUNNING: left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from riptide.delivery.outbox import Outbox, OutboxEntry
from riptide.delivery.positions import redrive_task_id
from riptide.druid import (
    DruidClient,
    DruidRequestError,
    DruidUnavailableError,
    TaskState,
    with_task_id,
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
            _settle(entry, outbox, druid, deadline, report)
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


def _settle(
    entry: OutboxEntry,
    outbox: Outbox,
    druid: DruidClient,
    deadline: Deadline,
    report: ReconcileReport,
) -> None:
    status = druid.task_status(entry.task_id, deadline)
    if status is None:
        druid.submit_task(entry.task, deadline)
        report.resubmitted += 1
        logger.warning("Task unknown to Druid; resubmitted", extra={"task_id": entry.task_id})
    elif status.state is TaskState.SUCCESS:
        outbox.mark_done(entry)
        report.succeeded += 1
    elif status.state is TaskState.FAILED and entry.redrives >= MAX_REDRIVES:
        report.given_up += 1
        logger.error(
            "Task failed after every re-drive; left pending for an operator",
            extra={"task_id": entry.task_id, "druid_error": status.error},
        )
    elif status.state is TaskState.FAILED:
        new_id = redrive_task_id(entry.original_task_id, entry.redrives + 1)
        redriven = entry.redriven(new_id, with_task_id(entry.task, new_id))
        outbox.record(redriven)
        druid.submit_task(redriven.task, deadline)
        report.redriven += 1
        logger.warning(
            "Task failed in Druid; re-driven under a new id",
            extra={"task_id": entry.task_id, "new_task_id": new_id, "druid_error": status.error},
        )
    else:
        report.running += 1
