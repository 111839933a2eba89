"""A function for the function pool's test: answers with its process, service name and body;
raises when the body is `raise`."""

from __future__ import annotations

import json
import os
import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event["body"] == "raise":
        raise ValueError("asked to fail")
    print(f"invoked in {os.getpid()} with {context.get_remaining_time_in_millis()} ms left")
    time.sleep(0.05)  # long enough for other requests to arrive meanwhile
    service = os.environ["POWERTOOLS_SERVICE_NAME"]
    answer = {"pid": os.getpid(), "service": service, "body": event["body"]}
    return {"statusCode": 200, "body": json.dumps(answer)}
