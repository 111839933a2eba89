"""Several execution environments of one function behind the local HTTP API: each request is
answered by one of them, with its own event, their output goes to the function's log, and a
handler that raises is API Gateway's 500."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import urllib3

from riptide.contract import LambdaEntry
from tools.lambda_kit.context import FunctionSpec
from tools.local.function_pool import FunctionPool
from tools.local.gateway import CONTEXT_ROUTES, LocalHttpApi

PROBE = LambdaEntry("tests.local.environment_probe.handler", "riptide-probe")
ENVIRONMENTS = 3
REQUESTS = 12


def test_requests_are_answered_in_environments_of_their_own_each_with_its_own_event(
    tmp_path: Path,
) -> None:
    function = FunctionSpec("riptide-probe", "eu-west-1", 10, 512)
    log = tmp_path / "probe.log"
    pool = urllib3.PoolManager(maxsize=REQUESTS)
    with (
        FunctionPool(PROBE, function, ENVIRONMENTS, log) as environments,
        LocalHttpApi(
            environments, function, routes=CONTEXT_ROUTES, environments=ENVIRONMENTS
        ) as api,
    ):

        def decide(number: int) -> dict:
            body = json.dumps({"n": number})
            answer = pool.request("POST", f"{api.url}/v1/decide", body=body)
            assert answer.status == 200, answer.data
            return json.loads(answer.data)

        with ThreadPoolExecutor(REQUESTS) as senders:
            answers = list(senders.map(decide, range(REQUESTS)))

    assert [json.loads(answer["body"])["n"] for answer in answers] == list(range(REQUESTS))
    processes = {answer["pid"] for answer in answers}
    assert os.getpid() not in processes and len(processes) <= ENVIRONMENTS
    assert {answer["service"] for answer in answers} == {PROBE.service}
    assert log.read_text().count("ms left") == REQUESTS


def test_a_handler_that_raises_is_answered_500_and_the_environment_serves_on(
    tmp_path: Path,
) -> None:
    function = FunctionSpec("riptide-probe", "eu-west-1", 10, 512)
    pool = urllib3.PoolManager()
    with (
        FunctionPool(PROBE, function, 1, tmp_path / "probe.log") as environment,
        LocalHttpApi(environment, function, routes=CONTEXT_ROUTES) as api,
    ):
        failed = pool.request("POST", f"{api.url}/v1/decide", body=b"raise")
        answered = pool.request("POST", f"{api.url}/v1/decide", body=b"{}")

    assert failed.status == 500
    assert answered.status == 200 and json.loads(answered.data)["body"] == "{}"
