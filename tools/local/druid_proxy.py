"""The pipeline's way to Druid, through a proxy that counts the rollup tasks handed over.

The consumer and reconciler are pointed at this proxy instead of Druid itself, so the run can
say how many tasks and rollup rows reached Druid without asking the pipeline. It is also where
Druid outages are staged: `go_down` refuses connections, `answer_unavailable` makes every call
answer 503 as a Druid without a leader does, `recover` ends either.
"""

from __future__ import annotations

import json
import threading

from tools.local.proxy import Answer, Exchange, ForwardingProxy

TASK_PATH = "/druid/indexer/v1/task"
UNAVAILABLE: Answer = (503, {}, b"")


class DruidProxy(ForwardingProxy):
    """Forwards to Druid; records every task Druid accepted and the rows inside it."""

    def __init__(self, upstream_url: str) -> None:
        super().__init__(upstream_url)
        self.task_ids: list[str] = []
        self.rows_submitted = 0
        self.duplicate_submissions = 0
        self.unavailable_answers = 0
        self._unavailable = threading.Event()
        self._lock = threading.Lock()

    def answer_unavailable(self) -> None:
        self._unavailable.set()

    def recover(self) -> None:
        self._unavailable.clear()
        self.come_back()

    def intercept(self, exchange: Exchange) -> Answer | None:
        if not self._unavailable.is_set():
            return None
        with self._lock:
            self.unavailable_answers += 1
        return UNAVAILABLE

    def observe(self, exchange: Exchange, answer: Answer) -> None:
        if exchange.method != "POST" or exchange.path.rstrip("/") != TASK_PATH:
            return
        status = answer[0]
        task = json.loads(exchange.body)
        with self._lock:
            if status == 200:
                self.task_ids.append(json.loads(answer[2])["task"])
                self.rows_submitted += _inline_row_count(task)
            elif status == 400 and b"already exists" in answer[2]:
                self.duplicate_submissions += 1


def _inline_row_count(task: dict) -> int:
    data = task["spec"]["ioConfig"]["inputSource"].get("data", "")
    return sum(1 for line in data.splitlines() if line.strip())
