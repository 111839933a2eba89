"""The datasource's automatic compaction: appended micro-batches become day-sized segments.

Every push publishes small segments; the Coordinator's auto-compaction merges them once they
are older than `skip_offset`, so queries and the Historicals see few, large segments.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from riptide.druid.client import DruidClient
from riptide.retry import Deadline

COMPACTION_CONFIG_PATH = "/druid/coordinator/v1/config/compaction"


def build_compaction_config(
    datasource: str, *, skip_offset: str = "PT1H", segment_granularity: str = "DAY"
) -> dict[str, Any]:
    """The auto-compaction config; `skip_offset` keeps compaction away from data still arriving."""
    return {
        "dataSource": datasource,
        "skipOffsetFromLatest": skip_offset,
        "granularitySpec": {"segmentGranularity": segment_granularity},
    }


def apply_compaction_config(
    client: DruidClient, config: dict[str, Any], deadline: Deadline
) -> dict[str, Any]:
    """Store `config` on the Coordinator and return what the Coordinator now holds."""
    client.post_json(COMPACTION_CONFIG_PATH, config, deadline)
    stored = read_compaction_config(client, config["dataSource"], deadline)
    if stored is None:
        raise LookupError(
            f"the Coordinator accepted the compaction config of {config['dataSource']} "
            "but does not return it"
        )
    return stored


def read_compaction_config(
    client: DruidClient, datasource: str, deadline: Deadline
) -> dict[str, Any] | None:
    """The datasource's auto-compaction config, or None when it has none."""
    return client.get_json(f"{COMPACTION_CONFIG_PATH}/{quote(datasource, safe='')}", deadline)
