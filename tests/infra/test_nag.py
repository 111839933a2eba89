"""cdk-nag AwsSolutions: nothing unacknowledged, and acknowledgments are not blanket."""

from __future__ import annotations

from tests.infra.synthesis import CANARY_PATH, Synthesis, Violation


def test_no_unacknowledged_findings_with_default_settings(default: Synthesis) -> None:
    assert default.violations == []


def test_only_the_canary_is_reported_with_vpc_and_on_demand(custom: Synthesis) -> None:
    """The custom stack holds a queue without TLS enforcement: nag must still catch it."""
    assert sorted(custom.violations, key=lambda violation: violation.rule) == [
        Violation("AwsSolutions-SQS3", CANARY_PATH),
        Violation("AwsSolutions-SQS4", CANARY_PATH),
    ]
