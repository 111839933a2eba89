"""Settings come from the environment on first use; a bad value is named in a 500 answer."""

from __future__ import annotations

import json

import pytest

from producer import handler
from riptide.config import ConfigurationError
from riptide.contract import Env
from riptide.ingest import IngestSettings, PartitionStrategy
from tests.producer.conftest import SECRET, new_stream
from tests.producer.http_events import PRODUCER, http_event, track
from tests.producer.kinesis_reader import read_events


def test_defaults_are_the_stacks_segments_limits_and_truncated_ips():
    settings = IngestSettings.from_env({Env.STREAM_NAME: "s", Env.WRITE_KEYS_SECRET_ARN: "k"})

    assert settings == IngestSettings(
        stream_name="s",
        write_keys_secret_id="k",
        max_batch_bytes=512_000,
        max_batch_events=2_500,
        max_event_bytes=32_768,
        truncate_ip=True,
        partition_strategy=PartitionStrategy.SPREAD,
        partition_buckets=64,
    )


def test_every_setting_is_read():
    settings = IngestSettings.from_env(
        {
            Env.STREAM_NAME: "s",
            Env.WRITE_KEYS_SECRET_ARN: "k",
            Env.MAX_BATCH_BYTES: "1000",
            Env.MAX_BATCH_EVENTS: "10",
            Env.MAX_EVENT_BYTES: "100",
            Env.TRUNCATE_IP: "false",
            Env.PARTITION_STRATEGY: "user",
            Env.PARTITION_BUCKETS: "64",
        }
    )

    assert (
        settings.max_batch_bytes,
        settings.max_batch_events,
        settings.max_event_bytes,
        settings.truncate_ip,
        settings.partition_strategy,
        settings.partition_buckets,
    ) == (1000, 10, 100, False, PartitionStrategy.USER, 64)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (Env.STREAM_NAME, "", "environment variable STREAM_NAME must be set"),
        (Env.MAX_BATCH_BYTES, "lots", "environment variable MAX_BATCH_BYTES must be a positive "
         "integer, got 'lots'"),
        (Env.PARTITION_BUCKETS, "0", "environment variable PARTITION_BUCKETS must be a positive "
         "integer of at most 65536, got '0'"),
        (Env.PARTITION_BUCKETS, "70000", "environment variable PARTITION_BUCKETS must be a "
         "positive integer of at most 65536, got '70000'"),
        (Env.TRUNCATE_IP, "maybe", "environment variable TRUNCATE_IP must be true or false, got "
         "'maybe'"),
        (Env.PARTITION_STRATEGY, "random", "environment variable PARTITION_STRATEGY must be one "
         "of spread, user, got 'random'"),
    ],
)  # fmt: skip
def test_a_bad_value_is_named(name: str, value: str, message: str):
    environ = {Env.STREAM_NAME: "s", Env.WRITE_KEYS_SECRET_ARN: "k", name: value}

    with pytest.raises(ConfigurationError) as raised:
        IngestSettings.from_env(environ)

    assert str(raised.value) == message


def test_a_misconfigured_function_answers_500_naming_the_variable(monkeypatch):
    monkeypatch.delenv(Env.STREAM_NAME, raising=False)
    monkeypatch.setenv(Env.WRITE_KEYS_SECRET_ARN, "k")
    handler.service.cache_clear()
    try:
        response = handler.handler(
            http_event("/v1/batch", {"batch": []}), PRODUCER.frozen_context()
        )
    finally:
        handler.service.cache_clear()

    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {
        "success": False,
        "code": "misconfigured",
        "message": "environment variable STREAM_NAME must be set",
    }


def test_the_function_wires_itself_from_the_environment(kinesis, secrets, monkeypatch):
    stream = new_stream(kinesis)
    monkeypatch.setenv(Env.STREAM_NAME, stream)
    monkeypatch.setenv(Env.WRITE_KEYS_SECRET_ARN, SECRET)
    monkeypatch.delenv(Env.TRUNCATE_IP, raising=False)
    handler.service.cache_clear()
    try:
        response = handler.handler(
            http_event("/v1/batch", {"batch": [track(1), track(2)]}), PRODUCER.frozen_context()
        )
    finally:
        handler.service.cache_clear()

    assert (response["statusCode"], json.loads(response["body"])["accepted"]) == (200, 2)
    stored = read_events(kinesis, stream)
    assert len(stored) == 2
    assert {event["context"]["ip"] for event in stored} == {"203.0.113.0"}, (
        "a function deployed without TRUNCATE_IP must not store full addresses"
    )
