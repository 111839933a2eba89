"""The stack and the functions speak one contract: the names the stack sets are the names the
functions read, and a function reading the stack's environment gets the stack's settings."""

from __future__ import annotations

from infra.environment import producer_environment, rollup_environment
from infra.settings import Settings
from riptide import contract
from riptide.contract import METRICS_NAMESPACE, Env, LambdaEntry
from riptide.delivery.settings import DeliverySettings
from riptide.ingest import IngestSettings
from tests.infra.synthesis import CUSTOM_SETTINGS, DRUID_URL, Synthesis

CONTRACT_NAMES = {value for name, value in vars(Env).items() if name.isupper()}
LAMBDA_ENTRIES = [value for value in vars(contract).values() if isinstance(value, LambdaEntry)]


def test_every_variable_the_stack_sets_is_a_contract_name(default: Synthesis) -> None:
    functions = default.resources("AWS::Lambda::Function").values()
    handlers = {function["Properties"]["Handler"] for function in functions}
    assert handlers == {entry.handler for entry in LAMBDA_ENTRIES}
    for handler in handlers:
        variables = default.function(handler)["Environment"]["Variables"]
        assert set(variables) <= CONTRACT_NAMES
        assert variables[Env.POWERTOOLS_METRICS_NAMESPACE] == METRICS_NAMESPACE


def test_the_producer_reads_the_settings_the_stack_gives_it() -> None:
    settings = Settings.from_context({**CUSTOM_SETTINGS, "druidUrl": DRUID_URL})
    environment = producer_environment(settings, stream_name="s", write_keys_secret_arn="k")

    read = IngestSettings.from_env(environment)

    assert (
        read.max_batch_bytes,
        read.max_batch_events,
        read.max_event_bytes,
        read.truncate_ip,
        read.partition_strategy,
        read.partition_buckets,
    ) == (
        settings.max_batch_bytes,
        settings.max_batch_events,
        settings.max_event_bytes,
        settings.truncate_ip,
        settings.partition_strategy,
        settings.partition_buckets,
    )


def test_the_rollup_functions_read_the_settings_the_stack_gives_them() -> None:
    settings = Settings.from_context({**CUSTOM_SETTINGS, "druidUrl": DRUID_URL})
    environment = rollup_environment(
        settings, druid_secret_arn="d", quarantine_bucket="q", outbox_bucket="o"
    )

    read = DeliverySettings.from_env(environment)

    assert (read.druid_url, read.datasource, read.outbox_bucket) == (
        settings.druid_url,
        settings.druid_datasource,
        "o",
    )
    assert read.time_policy.late_tolerance_seconds == settings.late_tolerance_seconds
    assert read.time_policy.future_tolerance_seconds == settings.future_tolerance_seconds


def test_a_function_without_variables_behaves_as_the_default_stack_configures_it() -> None:
    settings = Settings.from_context({"druidUrl": DRUID_URL})
    stack_configured = IngestSettings.from_env(
        producer_environment(settings, stream_name="s", write_keys_secret_arn="k")
    )

    bare = IngestSettings.from_env({Env.STREAM_NAME: "s", Env.WRITE_KEYS_SECRET_ARN: "k"})

    assert bare == stack_configured
