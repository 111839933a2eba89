"""The collector's composition root: the producer's ingest core with a group committer behind it.

A request is prepared exactly as the Lambda producer prepares it (write key, body, events,
enrichment), its events are committed together with those of concurrent requests, and the
producer's IngestService turns the outcome into the same answer the Lambda would give.

With the decider's settings (riptide.decisions.settings) it also serves POST /v1/decide: the
decisions are prepared on a few worker threads (the profile store, S3 and Secrets Manager are
blocking calls, and an outage must not stall the event loop and every Tracking API request with
it), their exposure events are committed with everyone else's, and the answer follows the commit.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from aws_lambda_powertools import Logger, Metrics

from riptide.collector.committer import GroupCommitter
from riptide.collector.settings import CollectorSettings
from riptide.collector.telemetry import SummedTelemetry
from riptide.config import ConfigurationError
from riptide.contract import COLLECTOR_SERVICE, METRICS_NAMESPACE
from riptide.decisions.answers import (
    DECIDE_FAILURES,
    DecideFailure,
    failure_answer,
    json_answer,
)
from riptide.decisions.composition import compose_decider
from riptide.decisions.decider import DecideCall, Decider
from riptide.decisions.settings import DECIDER_VARIABLES, DecideSettings
from riptide.ingest.answers import Answer
from riptide.ingest.config import IngestSettings
from riptide.ingest.exceptions import IngestError, WriteKeysUnavailableError
from riptide.ingest.ingestor import Ingestor, build_aggregator
from riptide.ingest.publisher import KinesisPublisher, kinesis_client
from riptide.ingest.request import IngestRequest
from riptide.ingest.service import IngestService, secrets_manager_client
from riptide.ingest.write_keys import RELOAD_RETRY_SECONDS, WriteKeyRegistry

DECIDE_THREADS = 8
"""Decisions prepared at once per process; a store read is well under a millisecond, so these
keep up with the event loop, and in a store outage at most this many wait on it."""
DECISIONS_NOT_SERVED = json_answer(
    404,
    {
        "code": "decisions_not_served",
        "message": f"this collector serves no decisions; set {', '.join(DECIDER_VARIABLES)} "
        "to serve them",
    },
)


class Collector:
    """Answers Tracking API requests, committing their events in groups."""

    def __init__(
        self,
        settings: IngestSettings,
        ingestor: Ingestor,
        committer: GroupCommitter,
        answers: IngestService,
        telemetry: SummedTelemetry,
        write_keys: WriteKeyRegistry,
        logger: Logger,
        decider: Decider | None = None,
    ) -> None:
        self.settings = settings
        self._write_keys = write_keys
        self._logger = logger
        self._ingestor = ingestor
        self._committer = committer
        self._answers = answers
        self._telemetry = telemetry
        self._decider = decider
        self._decide_threads = ThreadPoolExecutor(DECIDE_THREADS, thread_name_prefix="decide")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Collector:
        """Wired to real AWS clients, with the producer's and the collector's settings.

        Raises ConfigurationError naming the first unusable setting.
        """
        environ = os.environ if environ is None else environ
        settings = IngestSettings.from_env(environ)
        collector_settings = CollectorSettings.from_env(environ)
        metrics = Metrics(namespace=METRICS_NAMESPACE, service=COLLECTOR_SERVICE)
        logger = Logger(service=COLLECTOR_SERVICE)
        telemetry = SummedTelemetry(metrics)
        publisher = KinesisPublisher(settings.stream_name, kinesis_client)
        # Reloaded by keep_write_keys_fresh, never on the request path (it would block the loop).
        write_keys = WriteKeyRegistry(
            settings.write_keys_secret_id, secrets_manager_client, max_age_seconds=math.inf
        )
        ingestor = Ingestor(settings, write_keys, publisher, telemetry)
        committer = GroupCommitter(
            build_aggregator(settings), publisher, collector_settings, telemetry
        )
        answers = IngestService(lambda: ingestor, telemetry, logger)
        decide_settings = DecideSettings.for_collector(environ)
        decider = None
        if decide_settings is not None:
            decider = compose_decider(decide_settings, ingestor, logger)
        return cls(settings, ingestor, committer, answers, telemetry, write_keys, logger, decider)

    async def handle(self, request: IngestRequest) -> Answer:
        """The answer to one request; 200 only once Kinesis holds every accepted event."""
        try:
            prepared = self._ingestor.prepare(request)
            if prepared.user_records:
                await self._committer.commit(prepared.user_records)
        except (IngestError, ConfigurationError) as error:
            return self._answers.answer_error(error)
        return self._answers.answer_events(len(prepared.user_records), prepared.rejections)

    async def decide(self, call: DecideCall) -> Answer:
        """The decisions, answered 200 only once Kinesis holds their exposure events; 404 when
        this collector serves no decisions."""
        if self._decider is None:
            return DECISIONS_NOT_SERVED
        loop = asyncio.get_running_loop()
        try:
            prepared = await loop.run_in_executor(self._decide_threads, self._decider.prepare, call)
            if prepared.exposures:
                await self._committer.commit(prepared.exposures)
        except DECIDE_FAILURES as error:
            return self.decide_failure(error)
        return prepared.answer

    def decide_failure(self, error: DecideFailure) -> Answer:
        """The answer to a decide request stopped by `error`, logged."""
        return failure_answer(error, self._logger)

    def sdk_settings(self, write_key: str, host: str, protocol: str) -> Answer:
        """The SDK settings of `write_key`, pointing at protocol://host/v1; 404 when unknown."""
        return self._answers.sdk_settings(write_key, host, protocol)

    async def keep_write_keys_fresh(self) -> None:
        """Reload the write keys now and every write-keys max age, on a worker thread; after a
        failure the known keys stay in use and the reload is tried again sooner."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, self._write_keys.reload)
                pause = self.settings.write_keys_max_age_seconds
            except WriteKeysUnavailableError as error:
                self._logger.warning(
                    "write keys not reloaded; the known keys stay in use",
                    extra={"reason": error.message},
                )
                pause = RELOAD_RETRY_SECONDS
            await asyncio.sleep(pause)

    def flush_metrics(self) -> None:
        """Write the metrics gathered so far (EMF on stdout, read by CloudWatch Logs)."""
        self._telemetry.write()

    async def close(self) -> None:
        """Refuse new events, finish every flush, write the last metrics."""
        await self._committer.close()
        self._decide_threads.shutdown(wait=True)
        self.flush_metrics()
