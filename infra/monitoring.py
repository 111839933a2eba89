"""Alarms and a dashboard over the whole pipeline."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.collector import Collector
from infra.settings import Settings
from riptide.contract import METRICS_NAMESPACE, RECONCILER, TRENDS, MetricName

ALARM_PERIOD = Duration.minutes(5)
GRAPH_PERIOD = Duration.minutes(1)
DEAD_LETTER_ALARM_THRESHOLD = 1
"""Any dead letter means a batch was given up on: always worth a look."""

PRODUCER_METRICS = (
    MetricName.EVENTS_ACCEPTED,
    MetricName.EVENTS_REJECTED,
    MetricName.KINESIS_RECORDS,
    MetricName.PUT_PAYLOAD_UNITS,
)
ROLLUP_METRICS = (
    MetricName.ROLLUP_ROWS,
    MetricName.DRUID_TASKS_PUSHED,
    MetricName.EVENTS_QUARANTINED,
    MetricName.OUTBOX_PENDING,
)
TRENDS_METRICS = (MetricName.TRENDS_SITES_REFRESHED, MetricName.TRENDS_FAILURES)


class Monitoring(Construct):
    """Alarms on the signals that mean events are late, lost or refused; one dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        api: apigwv2.HttpApi | None,
        collector: Collector | None,
        stream: kinesis.Stream,
        functions: Mapping[str, lambda_.Function],
        dead_letters: sqs.Queue,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self.alarms: list[cloudwatch.Alarm] = []
        self._alarm(
            "IteratorAge",
            "The oldest unread stream record is older than iteratorAgeAlarmSeconds",
            stream.metric_get_records_iterator_age_milliseconds(statistic="Maximum"),
            settings.iterator_age_alarm_seconds * 1000,
        )
        self._alarm(
            "WriteThroughputExceeded",
            "Stream writes are being refused for lack of shard capacity",
            stream.metric_write_provisioned_throughput_exceeded(statistic="Sum"),
            settings.throughput_exceeded_alarm_threshold,
        )
        self._alarm(
            "DeadLetters",
            "Stream batches were given up on and sent to the dead-letter queue",
            dead_letters.metric_approximate_number_of_messages_visible(statistic="Maximum"),
            DEAD_LETTER_ALARM_THRESHOLD,
        )
        self._alarm(
            "OutboxAge",
            "A Druid task has waited longer than outboxAgeAlarmSeconds to reach SUCCESS",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=MetricName.OUTBOX_OLDEST_AGE_SECONDS,
                dimensions_map={"service": RECONCILER.service},
                statistic="Maximum",
                period=ALARM_PERIOD,
            ),
            settings.outbox_age_alarm_seconds,
        )
        self._alarm(
            "TrendsFailures",
            "Trends queries or document writes fail; the sites concerned keep stale trends",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=MetricName.TRENDS_FAILURES,
                dimensions_map={"service": TRENDS.service},
                statistic="Sum",
                period=ALARM_PERIOD,
            ),
            settings.trends_failures_alarm_threshold,
        )
        if api is not None:
            self._alarm(
                "Api5xx",
                "The ingest API answers with server errors",
                api.metric_server_error(statistic="Sum"),
                settings.api_5xx_alarm_threshold,
            )
        if collector is not None:
            self._collector_alarms(collector)
        for name, function in functions.items():
            self._alarm(
                f"{name}Errors",
                f"The {name.lower()} function fails",
                function.metric_errors(statistic="Sum"),
                settings.function_error_alarm_threshold,
            )
            self._alarm(
                f"{name}Throttles",
                f"The {name.lower()} function is throttled",
                function.metric_throttles(statistic="Sum"),
                settings.function_throttle_alarm_threshold,
            )
        if settings.alarm_topic_arn:
            topic = sns.Topic.from_topic_arn(self, "AlarmTopic", settings.alarm_topic_arn)
            for alarm in self.alarms:
                alarm.add_alarm_action(actions.SnsAction(topic))
                alarm.add_ok_action(actions.SnsAction(topic))
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        if api is not None:
            self.dashboard.add_widgets(*_api_widgets(api))
        if collector is not None:
            self.dashboard.add_widgets(*_collector_widgets(collector))
        self.dashboard.add_widgets(*_function_widgets(functions))
        self.dashboard.add_widgets(*_stream_widgets(stream, dead_letters))
        self.dashboard.add_widgets(
            _custom_metrics_widget("Producer", PRODUCER_METRICS),
            _custom_metrics_widget("Rollup", ROLLUP_METRICS),
            cloudwatch.AlarmStatusWidget(alarms=self.alarms, title="Alarms", width=8),
        )
        self.dashboard.add_widgets(_custom_metrics_widget("Trends", TRENDS_METRICS))

    def _collector_alarms(self, collector: Collector) -> None:
        metrics = collector.load_balancer.metrics
        target_metrics = collector.target_group.metrics
        self._alarm(
            "Collector5xxRate",
            "Over collector5xxAlarmPercent of the collector's answers are server errors",
            cloudwatch.MathExpression(
                expression="100 * IF(requests > 0, errors / requests, 0)",
                using_metrics={
                    "errors": target_metrics.http_code_target(
                        elbv2.HttpCodeTarget.TARGET_5XX_COUNT, statistic="Sum"
                    ),
                    "requests": metrics.request_count(statistic="Sum"),
                },
                period=ALARM_PERIOD,
            ),
            self._settings.collector_5xx_alarm_percent,
        )
        self._alarm(
            "CollectorResponseTime",
            "The collector's p99 answer time is over collectorResponseTimeAlarmMs",
            target_metrics.target_response_time(statistic="p99"),
            self._settings.collector_response_time_alarm_ms / 1000,
        )
        self._alarm(
            "CollectorUnhealthyTargets",
            "A collector task fails the load balancer's health check",
            target_metrics.unhealthy_host_count(statistic="Maximum"),
            1,
        )

    def _alarm(
        self, name: str, description: str, metric: cloudwatch.IMetric, threshold: float
    ) -> None:
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                name,
                alarm_description=description,
                metric=metric.with_(period=ALARM_PERIOD),
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )


def _graph(title: str, metrics: list[cloudwatch.IMetric], width: int = 6) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=metrics, width=width, period=GRAPH_PERIOD)


def _collector_widgets(collector: Collector) -> list[cloudwatch.IWidget]:
    load_balancer = collector.load_balancer.metrics
    targets = collector.target_group.metrics
    return [
        _graph("Collector requests", [load_balancer.request_count(statistic="Sum")]),
        _graph(
            "Collector answers 4xx / 5xx",
            [
                targets.http_code_target(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, statistic="Sum"),
                targets.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, statistic="Sum"),
            ],
        ),
        _graph(
            "Collector answer time p50 / p99 (s)",
            [
                targets.target_response_time(statistic="p50"),
                targets.target_response_time(statistic="p99"),
            ],
        ),
        _graph(
            "Collector tasks healthy / unhealthy",
            [
                targets.healthy_host_count(statistic="Minimum"),
                targets.unhealthy_host_count(statistic="Maximum"),
            ],
        ),
    ]


def _api_widgets(api: apigwv2.HttpApi) -> list[cloudwatch.IWidget]:
    return [
        _graph("API requests", [api.metric_count(statistic="Sum")]),
        _graph(
            "API latency",
            [
                api.metric_latency(statistic="p50", label="p50"),
                api.metric_latency(statistic="p99", label="p99"),
                api.metric_integration_latency(statistic="p99", label="integration p99"),
            ],
        ),
        _graph("API 4xx", [api.metric_client_error(statistic="Sum")]),
        _graph("API 5xx", [api.metric_server_error(statistic="Sum")]),
    ]


def _function_widgets(functions: Mapping[str, lambda_.Function]) -> list[cloudwatch.IWidget]:
    return [
        _graph(
            "Lambda duration p99",
            [fn.metric_duration(statistic="p99", label=name) for name, fn in functions.items()],
            width=8,
        ),
        _graph(
            "Lambda errors",
            [fn.metric_errors(statistic="Sum", label=name) for name, fn in functions.items()],
            width=8,
        ),
        _graph(
            "Lambda throttles",
            [fn.metric_throttles(statistic="Sum", label=name) for name, fn in functions.items()],
            width=8,
        ),
    ]


def _stream_widgets(stream: kinesis.Stream, dead_letters: sqs.Queue) -> list[cloudwatch.IWidget]:
    return [
        _graph(
            "Stream incoming",
            [
                stream.metric_incoming_records(statistic="Sum", label="records"),
                stream.metric_incoming_bytes(statistic="Sum", label="bytes"),
            ],
        ),
        _graph(
            "Stream iterator age (ms)",
            [stream.metric_get_records_iterator_age_milliseconds(statistic="Maximum")],
        ),
        _graph(
            "Stream writes refused",
            [stream.metric_write_provisioned_throughput_exceeded(statistic="Sum")],
        ),
        _graph(
            "Dead letters",
            [dead_letters.metric_approximate_number_of_messages_visible(statistic="Maximum")],
        ),
    ]


def _custom_metrics_widget(title: str, names: tuple[str, ...]) -> cloudwatch.GraphWidget:
    """Powertools metrics by name, whatever dimensions the functions attach to them."""
    searches: list[cloudwatch.IMetric] = [
        cloudwatch.MathExpression(
            expression=f'SEARCH(\'Namespace="{METRICS_NAMESPACE}" MetricName="{name}"\', '
            f"'Sum', {int(GRAPH_PERIOD.to_seconds())})",
            label=name,
            using_metrics={},
            period=GRAPH_PERIOD,
        )
        for name in names
    ]
    return _graph(f"{title} ({METRICS_NAMESPACE} metrics)", searches, width=8)
