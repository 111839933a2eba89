"""The exposure log: each decision shown is a `Decision Made` track event in the stream.

The event carries the shopper's ids as the decide request gave them, messageId = decisionId (so
the consumers' deduplication window drops a copy), and the properties the rollups and the
experiment report read: placement, content_id, rule, experiment, variant, rules_version.
A decision of a paused or ended experiment (not exposed) is logged without experiment and
variant: it is no exposure of an arm. Site, timestamp and receivedAt are added by the ingest
core's enrichment, as for every client's event.
"""

from __future__ import annotations

from typing import Any

from riptide.contract import DECISION_EVENT
from riptide.decisions.request import DecideRequest
from riptide.decisions.rules import Choice


def exposure_event(
    request: DecideRequest, choice: Choice, decision_id: str, rules_version: str
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "placement": choice.placement,
        "content_id": choice.content_id,
        "rules_version": rules_version,
    }
    if choice.rule is not None:
        properties["rule"] = choice.rule
    if choice.exposed and choice.experiment is not None:
        properties["experiment"] = choice.experiment
        properties["variant"] = choice.variant
    event: dict[str, Any] = {
        "type": "track",
        "event": DECISION_EVENT,
        "messageId": decision_id,
        "properties": properties,
    }
    if request.userId is not None:
        event["userId"] = request.userId
    if request.anonymousId is not None:
        event["anonymousId"] = request.anonymousId
    return event
