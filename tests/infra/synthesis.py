"""Synthesizes the Riptide app for tests (without bundling) and queries the result."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.nag import check_with_nag
from infra.settings import Settings
from infra.stack import RiptideStack
from riptide.contract import CONSUMER as CONSUMER_ENTRY
from riptide.contract import PRODUCER as PRODUCER_ENTRY
from riptide.contract import RECONCILER as RECONCILER_ENTRY

ROOT = Path(__file__).resolve().parents[2]
CDK_JSON_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
DRUID_URL = "https://druid.internal.example:8888"
PRODUCER = PRODUCER_ENTRY.handler
CONSUMER = CONSUMER_ENTRY.handler
RECONCILER = RECONCILER_ENTRY.handler

CUSTOM_SETTINGS = {
    # Strings, as `cdk -c key=value` passes them.
    "stackName": "RiptideStaging",
    "streamMode": "on_demand",
    "tumblingWindowSeconds": "0",
    "batchSize": "250",
    "maxBatchingWindowSeconds": "2",
    "retryAttempts": "3",
    "maxRecordAgeSeconds": "3600",
    "truncateIp": "false",
    "corsAllowOrigins": "https://shop.example.com,https://www.example.com",
    "vpcId": "vpc-0abc12345",
    "vpcSubnetIds": "subnet-0aaa1111,subnet-0bbb2222",
    "vpcSecurityGroupId": "sg-0123abcd",
    "alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:riptide-alarms",
    "trendsScheduleMinutes": "5",
}
CANARY_PATH = "RiptideStaging/NagCanary/Resource"


@dataclass(frozen=True)
class Violation:
    rule: str
    path: str


@dataclass(frozen=True)
class Synthesis:
    """One synthesized stack: its template (raw and as an assertions Template) and nag results."""

    settings: Settings
    raw: dict[str, Any]
    template: Template
    violations: list[Violation]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.raw["Resources"].items()
            if resource["Type"] == resource_type
        }

    def function_id(self, handler: str) -> str:
        (logical_id,) = [
            logical_id
            for logical_id, resource in self.resources("AWS::Lambda::Function").items()
            if resource["Properties"].get("Handler") == handler
        ]
        return logical_id

    def function(self, handler: str) -> dict[str, Any]:
        return self.raw["Resources"][self.function_id(handler)]["Properties"]

    def role_of(self, handler: str) -> tuple[str, dict[str, Any]]:
        role_id = self.function(handler)["Role"]["Fn::GetAtt"][0]
        return role_id, self.raw["Resources"][role_id]["Properties"]

    def statements_of(self, handler: str) -> list[dict[str, Any]]:
        """Every Allow/Deny statement granted to the function's role, inline or attached."""
        role_id, role = self.role_of(handler)
        documents = [policy["PolicyDocument"] for policy in role.get("Policies", [])]
        documents += [
            policy["Properties"]["PolicyDocument"]
            for policy in self.resources("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
        ]
        return [statement for document in documents for statement in document["Statement"]]

    def actions_of(self, handler: str) -> set[str]:
        return {
            action
            for statement in self.statements_of(handler)
            for action in _listed(statement["Action"])
        }

    def ref_of(self, resource_type: str, prefix: str = "") -> str:
        """The one resource of the type (whose logical id starts with `prefix`, if given)."""
        (logical_id,) = [name for name in self.resources(resource_type) if name.startswith(prefix)]
        return logical_id

    def event_source_of(self, handler: str) -> dict[str, Any]:
        (mapping,) = [
            mapping["Properties"]
            for mapping in self.resources("AWS::Lambda::EventSourceMapping").values()
            if mapping["Properties"]["FunctionName"] == {"Ref": self.function_id(handler)}
        ]
        return mapping


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def synthesize(
    outdir: Path,
    overrides: dict[str, Any],
    customize: Callable[[RiptideStack], None] | None = None,
) -> Synthesis:
    """Builds the app as app.py does (cdk.json context, nag) with `overrides` on top."""
    context = {
        **CDK_JSON_CONTEXT,
        "druidUrl": DRUID_URL,
        **overrides,
        "aws:cdk:bundling-stacks": [],
    }
    app = App(outdir=str(outdir), context=context)
    settings = Settings.from_context(app.node.try_get_context)
    stack = RiptideStack(app, settings)
    if customize:
        customize(stack)
    check_with_nag(app, stack)
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
    raw = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    return Synthesis(settings, raw, Template.from_json(raw), _violations(outdir))


def _violations(outdir: Path) -> list[Violation]:
    report_path = outdir / "validation-report.json"
    if not report_path.exists():
        return []
    report = json.loads(report_path.read_text())
    return [
        Violation(violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
