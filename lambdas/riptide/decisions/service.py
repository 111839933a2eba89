"""POST /v1/decide on a function: the decider built on first use, the exposures published with
the producer's publisher (bounded retries within the invoke's time) before the answer.

A request is answered 200 only once Kinesis holds every Decision Made event of it; when Kinesis
does not take them in time the answer is 503 and no decision is shown that is not logged.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger

from riptide.decisions.answers import DECIDE_FAILURES, failure_answer
from riptide.decisions.decider import DecideCall, Decider
from riptide.ingest.answers import Answer


class DecideService:
    def __init__(self, build: Callable[[], Decider], logger: Logger) -> None:
        self._build = build
        self._decider: Decider | None = None
        self._logger = logger

    def handle(self, call: DecideCall, remaining_seconds: float) -> Answer:
        """The answer to one request; never raises for anything the client sent."""
        try:
            if self._decider is None:
                self._decider = self._build()
            writer = self._decider.writer
            deadline = writer.deadline(remaining_seconds)
            prepared = self._decider.prepare(call)
            writer.publish(prepared.exposures, deadline)
        except DECIDE_FAILURES as error:
            return failure_answer(error, self._logger)
        return prepared.answer
