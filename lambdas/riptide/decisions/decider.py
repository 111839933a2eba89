"""The decide API's core, free of HTTP: a shopper's placements filled from rules, profile, trends.

`prepare` does everything but the write: the read key gives the site, the body is read, the
site's rules (RuleBook) choose per placement from the shopper's profile (one read of the
profile store), the page context and the site's trends (cached), and each decision becomes its
`Decision Made` event, enriched and serialized by the ingest core. The front then puts those
events in Kinesis (the Lambda with the producer's publisher, the collector with its group
committer) and answers only once Kinesis holds them. Druid is never asked.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riptide.decisions.answers import json_answer
from riptide.decisions.assignment import assignment_unit
from riptide.decisions.documents import rules_key
from riptide.decisions.exposures import exposure_event
from riptide.decisions.request import (
    MAX_BODY_BYTES,
    BadDecideRequestError,
    DecideRequest,
    parse_decide_request,
)
from riptide.decisions.rulebook import RuleBook
from riptide.decisions.rules import Facts, RuleSet, UnknownPlacement
from riptide.decisions.trends import TrendsCache
from riptide.ingest.answers import Answer
from riptide.ingest.body import read_body
from riptide.ingest.events import KeyedPayload
from riptide.ingest.ingestor import EventWriter
from riptide.ingest.write_keys import WriteKeyRegistry
from riptide.profiles.reads import bearer_site
from riptide.profiles.store import ProfileStore
from riptide.profiles.view import present

UNKNOWN_PLACEMENT = "unknown_placement"


@dataclass(frozen=True, slots=True)
class DecideCall:
    """One POST /v1/decide, whatever front it came through (body as in riptide.ingest)."""

    authorization: str | None
    body: str | bytes | None
    is_base64_encoded: bool = False
    content_encoding: str | None = None


@dataclass(frozen=True, slots=True)
class PreparedDecisions:
    answer: Answer
    """The 200 to give once Kinesis holds `exposures`."""
    exposures: list[KeyedPayload]
    """The Decision Made events, enriched and serialized: aggregator input."""


class Decider:
    def __init__(
        self,
        read_keys: WriteKeyRegistry,
        profiles: ProfileStore,
        rules: RuleBook,
        trends: TrendsCache,
        writer: EventWriter,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._read_keys = read_keys
        self._profiles = profiles
        self._rules = rules
        self._trends = trends
        self.writer = writer
        self._clock = clock
        self._new_id = new_id

    def prepare(self, call: DecideCall) -> PreparedDecisions:
        """The decisions and their exposure events; raises a DecideFailure for anything that
        stops the request (bad key or body, the profile store down)."""
        site = bearer_site(self._read_keys, call.authorization, "read")
        data = read_body(call.body, call.is_base64_encoded, call.content_encoding, MAX_BODY_BYTES)
        request = parse_decide_request(data)
        rule_set = self._rules.rule_set(site)
        if rule_set is None:
            decisions = [_no_rules(placement, site) for placement in request.placements]
            return PreparedDecisions(json_answer(200, _body(None, decisions)), [])
        return self._decide(site, request, rule_set)

    def _decide(self, site: str, request: DecideRequest, rule_set: RuleSet) -> PreparedDecisions:
        now_ms = int(self._clock() * 1000)
        facts = Facts(
            profile=self._profile(site, request, now_ms),
            page=request.context.page,
            trends=self._trends.trends(site),
        )
        unit = assignment_unit(request.anonymousId, request.userId)
        decisions: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for choice in rule_set.decide(request.placements, facts, unit, now_ms):
            if isinstance(choice, UnknownPlacement):
                decisions.append(_unknown(choice.placement, rule_set.version))
                continue
            decision_id = self._new_id()
            decisions.append(
                {
                    "placement": choice.placement,
                    "decisionId": decision_id,
                    "content": {"id": choice.content_id, "payload": choice.payload},
                    "rule": choice.rule,
                    "experiment": choice.experiment,
                    "variant": choice.variant,
                }
            )
            events.append(exposure_event(request, choice, decision_id, rule_set.version))
        prepared = self.writer.prepare_authenticated(site, events)
        if prepared.rejections:
            # Only what the client sent can break an event rule (the ids): a 400 naming it.
            rejection = prepared.rejections[0]
            raise BadDecideRequestError(rejection.field, rejection.reason)
        answer = json_answer(200, _body(rule_set.version, decisions))
        return PreparedDecisions(answer, prepared.user_records)

    def _profile(self, site: str, request: DecideRequest, now_ms: int) -> dict[str, Any] | None:
        """The shopper's profile as the read API presents it: the userId's, else the
        anonymousId's. A profile stored under the id it is asked by costs one round trip."""
        for identity in (request.userId, request.anonymousId):
            if identity is not None:
                document = self._profiles.read(site, [identity])[identity]
                if document is not None:
                    return present(document, now_ms)
        return None


def _body(rules_version: str | None, decisions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rulesVersion": rules_version, "decisions": decisions}


def _unknown(placement: str, rules_version: str) -> dict[str, Any]:
    return {
        "placement": placement,
        "error": UNKNOWN_PLACEMENT,
        "message": f"rules version {rules_version!r} has no placement {placement!r}",
    }


def _no_rules(placement: str, site: str) -> dict[str, Any]:
    return {
        "placement": placement,
        "error": UNKNOWN_PLACEMENT,
        "message": f"site {site!r} has no rules: {rules_key(site)} is missing, has never been "
        "valid, or cannot be read yet",
    }
