"""Write keys: loaded from Secrets Manager, cached for a max age, kept through a failed reload."""

from __future__ import annotations

import json
from typing import Any

import pytest

from riptide.ingest import UnauthorizedError, WriteKeysUnavailableError
from riptide.ingest.write_keys import RELOAD_RETRY_SECONDS, WriteKeyRegistry
from tests.producer.conftest import ManualClock


@pytest.fixture
def secret(secrets: Any, request: pytest.FixtureRequest) -> str:
    name = f"keys-{request.node.name}"
    secrets.create_secret(Name=name, SecretString=json.dumps({"wk_a": "site-a"}))
    return name


class CountingClient:
    """Counts GetSecretValue calls on the real (moto) client, and can make them fail."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0
        self.failing = False

    def get_secret_value(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.failing:
            raise ConnectionError("injected: Secrets Manager unreachable")
        return self.client.get_secret_value(**kwargs)


def test_keys_are_cached_for_their_max_age_then_reloaded(secrets: Any, secret: str):
    client, clock = CountingClient(secrets), ManualClock()
    registry = WriteKeyRegistry(secret, lambda: client, max_age_seconds=300, clock=clock)

    assert registry.site_for("wk_a") == "site-a"
    secrets.put_secret_value(SecretId=secret, SecretString=json.dumps({"wk_b": "site-b"}))
    clock.sleep(299)
    assert registry.site_for("wk_a") == "site-a"
    assert client.calls == 1

    clock.sleep(1)
    assert registry.site_for("wk_b") == "site-b"
    with pytest.raises(UnauthorizedError):
        registry.site_for("wk_a")
    assert client.calls == 2


def test_an_unknown_key_does_not_trigger_a_reload(secrets: Any, secret: str):
    client = CountingClient(secrets)
    registry = WriteKeyRegistry(secret, lambda: client, max_age_seconds=300, clock=ManualClock())

    for guess in ("wk_x", "wk_y", "wk_z"):
        with pytest.raises(UnauthorizedError, match="the write key is not valid"):
            registry.site_for(guess)

    assert client.calls == 1


def test_a_failed_reload_keeps_the_known_keys_and_tries_again_soon(secrets: Any, secret: str):
    client, clock = CountingClient(secrets), ManualClock()
    registry = WriteKeyRegistry(secret, lambda: client, max_age_seconds=300, clock=clock)
    registry.site_for("wk_a")
    client.failing = True

    clock.sleep(300)
    assert registry.site_for("wk_a") == "site-a"
    clock.sleep(RELOAD_RETRY_SECONDS - 1)
    assert registry.site_for("wk_a") == "site-a"
    assert client.calls == 2

    clock.sleep(1)
    registry.site_for("wk_a")
    assert client.calls == 3


def test_without_any_keys_a_failed_load_is_unavailable(secrets: Any, secret: str):
    client = CountingClient(secrets)
    client.failing = True
    registry = WriteKeyRegistry(secret, lambda: client, max_age_seconds=300)

    with pytest.raises(WriteKeysUnavailableError, match=r"\(ConnectionError\)"):
        registry.site_for("wk_a")


@pytest.mark.parametrize("content", ['["wk_a"]', '{"wk_a": 1}', "not json", '{"": "site"}'])
def test_a_malformed_secret_is_unavailable_not_a_crash(secrets: Any, secret: str, content: str):
    secrets.put_secret_value(SecretId=secret, SecretString=content)
    registry = WriteKeyRegistry(secret, lambda: secrets, max_age_seconds=300)

    with pytest.raises(WriteKeysUnavailableError, match="must be a JSON object"):
        registry.site_for("wk_a")


def test_unavailable_write_keys_are_answered_503_with_retry_after(make_producer, monkeypatch):
    producer = make_producer()
    registry = producer.ingestor._write_keys
    monkeypatch.setattr(registry, "_secret_id", "no-such-secret")

    answer = producer.post("/v1/batch", {"batch": [{"type": "page", "userId": "u"}]})

    assert (answer.status, answer.headers["Retry-After"]) == (503, "5")
    assert answer.body == {
        "success": False,
        "code": "write_keys_unavailable",
        "message": "the write keys could not be loaded (ResourceNotFoundException)",
    }
