"""The local HTTP API runs its handler as one Lambda execution environment does: one request at
a time. The producer's router keeps the current request in class-level state, so two requests
inside one process at once could each be answered with the other's event."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import urllib3

from tools.lambda_kit.context import FunctionSpec, LambdaContext
from tools.local.gateway import CONTEXT_ROUTES, LocalHttpApi

REQUESTS = 12


class OverlapRecorder:
    """A handler that answers with its own event's body and records how many ran at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self.most_at_once = 0

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        with self._lock:
            self._running += 1
            self.most_at_once = max(self.most_at_once, self._running)
        time.sleep(0.02)  # long enough for other requests to arrive meanwhile
        with self._lock:
            self._running -= 1
        return {"statusCode": 200, "body": event["body"]}


def test_requests_sent_at_once_are_answered_one_at_a_time_each_with_its_own_body():
    recorder = OverlapRecorder()
    function = FunctionSpec("riptide-producer", "eu-west-1", 10, 1024)
    pool = urllib3.PoolManager(maxsize=REQUESTS)
    with LocalHttpApi(recorder, function) as api:

        def post(number: int) -> str:
            body = json.dumps({"batch": [{"n": number}]})
            return pool.request("POST", f"{api.url}/v1/batch", body=body).data.decode()

        with ThreadPoolExecutor(REQUESTS) as senders:
            answers = list(senders.map(post, range(REQUESTS)))

    assert [json.loads(answer)["batch"][0]["n"] for answer in answers] == list(range(REQUESTS))
    assert recorder.most_at_once == 1


def test_each_api_serves_only_its_own_function_s_routes():
    def route_key(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return {"statusCode": 200, "body": event["routeKey"]}

    function = FunctionSpec("riptide-context", "eu-west-1", 10, 512)
    pool = urllib3.PoolManager()
    with LocalHttpApi(route_key, function, routes=CONTEXT_ROUTES) as api:
        decide = pool.request("POST", f"{api.url}/v1/decide", body=b"{}")
        profile = pool.request("DELETE", f"{api.url}/v1/profiles/shopper-1")
        ingest = pool.request("POST", f"{api.url}/v1/batch", body=b"{}")

    assert (decide.status, decide.data) == (200, b"POST /v1/decide")
    assert (profile.status, profile.data) == (200, b"DELETE /v1/profiles/{id}")
    assert ingest.status == 404, "the producer's routes are not the context API's"
