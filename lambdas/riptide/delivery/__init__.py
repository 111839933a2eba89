"""Exactly-once delivery of rollups to Druid: outbox, task ids, window state, reconciliation."""

from riptide.delivery.consumer import (
    DEFAULT_MAX_DELIVERY_STATE_BYTES,
    ConsumeResult,
    ShardConsumer,
)
from riptide.delivery.outbox import Covering, Outbox, OutboxEntry
from riptide.delivery.positions import Coverage, Position, delivery_task_id, redrive_task_id
from riptide.delivery.reconcile import ReconcileReport, reconcile
from riptide.delivery.window import WindowState

__all__ = [
    "DEFAULT_MAX_DELIVERY_STATE_BYTES",
    "ConsumeResult",
    "Coverage",
    "Covering",
    "Outbox",
    "OutboxEntry",
    "Position",
    "ReconcileReport",
    "ShardConsumer",
    "WindowState",
    "delivery_task_id",
    "reconcile",
    "redrive_task_id",
]
