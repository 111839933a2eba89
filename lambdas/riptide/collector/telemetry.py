"""The producer's metrics, summed between writes: a server taking thousands of requests a second
writes one set of sums a minute instead of a metric value per request."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import fields

from aws_lambda_powertools import Metrics

from riptide.ingest.events import Rejection
from riptide.ingest.publisher import PublishReport
from riptide.ingest.telemetry import IngestTelemetry


class SummedTelemetry(IngestTelemetry):
    """IngestTelemetry that keeps sums until `write`."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(metrics)
        self._metrics_out = metrics
        self._reset()

    def _reset(self) -> None:
        self._accepted = 0
        self._rejected: Counter[str] = Counter()
        self._requests_rejected: Counter[str] = Counter()
        self._report = PublishReport()
        self._duplicated = 0

    def accepted(self, count: int) -> None:
        self._accepted += count

    def rejected(self, rejections: Iterable[Rejection]) -> None:
        self._rejected.update(rejection.code for rejection in rejections)

    def request_rejected(self, code: str, count: int = 1) -> None:
        self._requests_rejected[code] += count

    def published(self, report: PublishReport) -> None:
        for field in fields(PublishReport):
            name = field.name
            setattr(self._report, name, getattr(self._report, name) + getattr(report, name))

    def possibly_duplicated(self, count: int) -> None:
        self._duplicated += count

    def write(self) -> None:
        """Emit the sums since the last write (EMF on stdout) and start again from zero."""
        super().accepted(self._accepted)
        if self._rejected:
            super().rejected_by_reason(self._rejected)
        for code, count in self._requests_rejected.items():
            super().request_rejected(code, count)
        super().published(self._report)
        if self._duplicated:
            super().possibly_duplicated(self._duplicated)
        self._reset()
        self._metrics_out.flush_metrics(raise_on_empty_metrics=False)
