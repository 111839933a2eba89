"""The profiles side of the stack: the store, the profile consumer's event source, the read API."""

from __future__ import annotations

import pytest

from infra.environment import profiles_environment
from infra.settings import Settings
from riptide.config import ConfigurationError
from riptide.contract import CONTEXT, PROFILE_ROUTES, PROFILES, Env
from riptide.profiles.settings import ProfileSettings
from tests.infra.synthesis import CUSTOM_SETTINGS, DRUID_URL, Synthesis

PROFILE_CONSUMER = PROFILES.handler
READER = CONTEXT.handler


def test_the_store_is_valkey_serverless_reached_over_tls_in_cluster_mode(
    default: Synthesis,
) -> None:
    (cache,) = default.resources("AWS::ElastiCache::ServerlessCache").values()
    assert cache["Properties"]["Engine"] == "valkey"
    for handler in (PROFILE_CONSUMER, READER):
        variables = default.function(handler)["Environment"]["Variables"]
        url = variables[Env.PROFILE_STORE_URL]["Fn::Join"][1]
        assert url[0] == "rediss://"
        assert variables[Env.PROFILE_STORE_CLUSTER] == "true"
        assert default.function(handler)["VpcConfig"]["SubnetIds"]


def test_the_profile_consumer_has_its_own_bounded_event_source(default: Synthesis) -> None:
    mapping = default.event_source_of(PROFILE_CONSUMER)
    settings = default.settings
    assert mapping["MaximumBatchingWindowInSeconds"] == settings.profile_batching_window_seconds
    assert "TumblingWindowInSeconds" not in mapping
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["MaximumRetryAttempts"] == settings.retry_attempts
    assert mapping["MaximumRecordAgeInSeconds"] == settings.max_record_age_seconds
    assert mapping["DestinationConfig"] == {
        "OnFailure": {
            "Destination": {
                "Fn::GetAtt": [default.ref_of("AWS::SQS::Queue", "ProfilesDeadLetters"), "Arn"]
            }
        }
    }


def test_the_read_api_routes_go_to_the_reader_which_reads_only_its_key_secrets(
    default: Synthesis,
) -> None:
    routes = {
        r["Properties"]["RouteKey"] for r in default.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert {f"{method} {path}" for method, path in PROFILE_ROUTES} <= routes
    secret_reads = [
        statement["Resource"]
        for statement in default.statements_of(READER)
        if statement["Action"] == "secretsmanager:GetSecretValue"
    ]
    assert secret_reads == [
        [{"Ref": default.ref_of("AWS::SecretsManager::Secret", "ProfilesReadKeys")},
         {"Ref": default.ref_of("AWS::SecretsManager::Secret", "ProfilesAdminKeys")}]
    ]  # fmt: skip
    assert "secretsmanager:GetSecretValue" not in default.actions_of(PROFILE_CONSUMER)


def test_without_an_operator_vpc_the_stack_creates_one_with_flow_logs(
    default: Synthesis, custom: Synthesis
) -> None:
    assert len(default.resources("AWS::EC2::VPC")) == 1
    assert len(default.resources("AWS::EC2::FlowLog")) == 1
    assert not custom.resources("AWS::EC2::VPC")
    (cache,) = custom.resources("AWS::ElastiCache::ServerlessCache").values()
    assert cache["Properties"]["SubnetIds"] == list(custom.settings.vpc_subnet_ids)


def test_the_profile_functions_read_the_settings_the_stack_gives_them(default: Synthesis) -> None:
    contract_names = {value for name, value in vars(Env).items() if name.isupper()}
    for handler in (PROFILE_CONSUMER, READER):
        variables = default.function(handler)["Environment"]["Variables"]
        assert set(variables) <= contract_names
    settings = Settings.from_context({**CUSTOM_SETTINGS, "druidUrl": DRUID_URL})
    environment = profiles_environment(
        settings,
        store_url="rediss://profiles.serverless.euw1.cache.amazonaws.com:6379",
        store_cluster=True,
        read_keys_secret_arn="r",
        admin_keys_secret_arn="a",
    )

    read = ProfileSettings.from_env(environment)

    assert read.store_cluster is True and read.store_url.startswith("rediss://")
    assert read.limits.anonymous_ttl_seconds == settings.anonymous_profile_ttl_days * 86_400
    assert (read.read_keys_secret_id, read.admin_keys_secret_id) == ("r", "a")


def test_a_store_url_of_another_scheme_is_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match=Env.PROFILE_STORE_URL):
        ProfileSettings.from_env({Env.PROFILE_STORE_URL: "http://cache:6379"})
