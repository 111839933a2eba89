"""One synthesis per settings variant, shared by every test in the session (synth is slow)."""

from __future__ import annotations

import pytest
from aws_cdk import aws_sqs as sqs

from infra.stack import RiptideStack
from tests.infra.synthesis import CUSTOM_SETTINGS, Synthesis, synthesize


def add_nag_canary(stack: RiptideStack) -> None:
    """A queue without TLS enforcement: cdk-nag must report it despite the stack's acks."""
    sqs.Queue(stack, "NagCanary", encryption=sqs.QueueEncryption.SQS_MANAGED)


@pytest.fixture(scope="session")
def default(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The stack with cdk.json's settings (plus the required druidUrl)."""
    return synthesize(tmp_path_factory.mktemp("default"), {})


@pytest.fixture(scope="session")
def custom(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """On-demand stream, VPC placement, alarm topic, windows off, and a nag canary."""
    return synthesize(tmp_path_factory.mktemp("custom"), CUSTOM_SETTINGS, add_nag_canary)
