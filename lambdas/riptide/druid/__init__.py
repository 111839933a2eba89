"""Apache Druid over HTTP: submit ingestion tasks, poll them, manage auto-compaction, query."""

from riptide.druid.client import (
    DruidAuth,
    DruidClient,
    SubmitOutcome,
    TaskState,
    TaskStatus,
    Timeouts,
    druid_error_text,
)
from riptide.druid.compaction import (
    apply_compaction_config,
    build_compaction_config,
    read_compaction_config,
)
from riptide.druid.exceptions import (
    DruidError,
    DruidRequestError,
    DruidTlsError,
    DruidUnavailableError,
)
from riptide.druid.spec import build_index_task, redriven_task
from riptide.druid.sql import SqlValue, quote_identifier

__all__ = [
    "DruidAuth",
    "DruidClient",
    "DruidError",
    "DruidRequestError",
    "DruidTlsError",
    "DruidUnavailableError",
    "SqlValue",
    "SubmitOutcome",
    "TaskState",
    "TaskStatus",
    "Timeouts",
    "apply_compaction_config",
    "build_compaction_config",
    "build_index_task",
    "druid_error_text",
    "quote_identifier",
    "read_compaction_config",
    "redriven_task",
]
