"""The producer's CloudWatch metrics (EMF), as riptide.contract names them.

- EventsAccepted; EventsRejected, in all and by the dimension reason (the rule broken).
- RequestsRejected: requests refused whole, in all and by reason (the error code).
- KinesisRecords, PutPayloadUnits, PutRetries, and Bytes written to Kinesis (keys included).
- EventsPossiblyDuplicated: events already in Kinesis when the request was answered with an
  error, so the client's retry sends them again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from riptide.contract import MetricName
from riptide.ingest.events import Rejection
from riptide.ingest.publisher import PublishReport


class IngestTelemetry:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def accepted(self, count: int) -> None:
        self._metrics.add_metric(MetricName.EVENTS_ACCEPTED, MetricUnit.Count, count)

    def rejected(self, rejections: Iterable[Rejection]) -> None:
        self.rejected_by_reason(Counter(rejection.code for rejection in rejections))

    def rejected_by_reason(self, by_reason: Counter[str]) -> None:
        self._metrics.add_metric(MetricName.EVENTS_REJECTED, MetricUnit.Count, by_reason.total())
        for code, count in by_reason.items():
            self._by_reason(MetricName.EVENTS_REJECTED, code, count)

    def request_rejected(self, code: str, count: int = 1) -> None:
        self._metrics.add_metric(MetricName.REQUESTS_REJECTED, MetricUnit.Count, count)
        self._by_reason(MetricName.REQUESTS_REJECTED, code, count)

    def published(self, report: PublishReport) -> None:
        add = self._metrics.add_metric
        add(MetricName.KINESIS_RECORDS, MetricUnit.Count, report.records_written)
        add(MetricName.PUT_PAYLOAD_UNITS, MetricUnit.Count, report.payload_units)
        add(MetricName.PUT_RETRIES, MetricUnit.Count, report.retries)
        add(MetricName.BYTES, MetricUnit.Bytes, report.bytes_written)

    def possibly_duplicated(self, count: int) -> None:
        self._metrics.add_metric(MetricName.EVENTS_POSSIBLY_DUPLICATED, MetricUnit.Count, count)

    def _by_reason(self, name: str, reason: str, count: int) -> None:
        with single_metric(
            name,
            MetricUnit.Count,
            count,
            namespace=self._metrics.provider.namespace,
            default_dimensions=self._dimensions(),
        ) as metric:
            metric.add_dimension("reason", reason)

    def _dimensions(self) -> dict[str, str]:
        """The dimensions every metric of this function carries (the service, when named)."""
        provider = self._metrics.provider
        dimensions = dict(provider.dimension_set)
        if provider.service:
            dimensions.setdefault("service", provider.service)
        return dimensions
