"""Alarms on lateness, loss and refusals; the dashboard's graphs."""

from __future__ import annotations

import json
from typing import Any

from infra.monitoring import PRODUCER_METRICS, ROLLUP_METRICS, TRENDS_METRICS
from riptide.contract import TRENDS
from tests.infra.synthesis import CONSUMER, PRODUCER, RECONCILER, Synthesis


def _alarms(synthesis: Synthesis) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in synthesis.resources("AWS::CloudWatch::Alarm").values()]


def _alarm(synthesis: Synthesis, namespace: str, metric: str, resource_id: str = "") -> dict:
    """The one alarm on `metric`, of the resource `resource_id` when given."""
    (properties,) = [
        properties
        for properties in _alarms(synthesis)
        if properties["Namespace"] == namespace
        and properties["MetricName"] == metric
        and resource_id in json.dumps(properties.get("Dimensions", []))
    ]
    return properties


def _graphed(synthesis: Synthesis) -> tuple[set[str], list[str]]:
    """Metric names and math expressions of every dashboard graph."""
    (dashboard,) = synthesis.resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))
    names: set[str] = set()
    expressions: list[str] = []
    for widget in body["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            if isinstance(metric[0], dict):
                expressions.append(metric[0]["expression"])
            else:
                names.add(metric[1])
    return names, expressions


def test_stream_alarms(default: Synthesis) -> None:
    settings = default.settings
    iterator_age = _alarm(default, "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds")
    assert iterator_age["Statistic"] == "Maximum"
    assert iterator_age["Threshold"] == settings.iterator_age_alarm_seconds * 1000
    refused = _alarm(default, "AWS/Kinesis", "WriteProvisionedThroughputExceeded")
    assert refused["Threshold"] == settings.throughput_exceeded_alarm_threshold


def test_dead_letter_and_api_alarms(default: Synthesis) -> None:
    dead_letters = _alarm(default, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dead_letters["Threshold"] == 1
    assert dead_letters["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    server_errors = _alarm(default, "AWS/ApiGateway", "5xx")
    assert server_errors["Threshold"] == default.settings.api_5xx_alarm_threshold


def test_undelivered_druid_tasks_alarm(default: Synthesis) -> None:
    waiting = _alarm(default, "Riptide", "OutboxOldestAgeSeconds")
    assert waiting["Dimensions"] == [{"Name": "service", "Value": "riptide-reconciler"}]
    assert waiting["Threshold"] == default.settings.outbox_age_alarm_seconds


def test_failed_trends_queries_and_writes_alarm(default: Synthesis) -> None:
    """The job reports its failures instead of raising them, so the Lambda's errors miss them."""
    failures = _alarm(default, "Riptide", "TrendsFailures")
    assert failures["Dimensions"] == [{"Name": "service", "Value": TRENDS.service}]
    assert failures["Statistic"] == "Sum"
    assert failures["Threshold"] == default.settings.trends_failures_alarm_threshold


def test_every_function_alarms_on_errors_and_throttles(default: Synthesis) -> None:
    for handler in (PRODUCER, CONSUMER, RECONCILER, TRENDS.handler):
        function_id = default.function_id(handler)
        for metric in ("Errors", "Throttles"):
            alarm = _alarm(default, "AWS/Lambda", metric, function_id)
            assert alarm["Statistic"] == "Sum"
            assert alarm["Period"] == 300


def test_alarms_notify_the_topic_only_when_one_is_set(
    default: Synthesis, custom: Synthesis
) -> None:
    assert all("AlarmActions" not in alarm for alarm in _alarms(default))
    topic = "arn:aws:sns:eu-west-1:123456789012:riptide-alarms"
    custom_alarms = _alarms(custom)
    assert len(custom_alarms) == 18
    assert all(alarm["AlarmActions"] == [topic] for alarm in custom_alarms)
    assert all(alarm["OKActions"] == [topic] for alarm in custom_alarms)


def test_dashboard_graphs_the_pipeline_and_custom_metrics(default: Synthesis) -> None:
    names, expressions = _graphed(default)
    assert {
        "Count",
        "Latency",
        "4xx",
        "5xx",
        "Duration",
        "Errors",
        "Throttles",
        "IncomingRecords",
        "IncomingBytes",
        "GetRecords.IteratorAgeMilliseconds",
        "WriteProvisionedThroughputExceeded",
        "ApproximateNumberOfMessagesVisible",
    } <= names
    assert expressions == [
        f"SEARCH('Namespace=\"Riptide\" MetricName=\"{name}\"', 'Sum', 60)"
        for name in (*PRODUCER_METRICS, *ROLLUP_METRICS, *TRENDS_METRICS)
    ]
