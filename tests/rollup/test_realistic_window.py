"""A minute of busy-shard shopper traffic fits the tumbling-window state with a wide margin."""

import json

from tests.rollup.factories import new_rollup
from tools.traffic import event_corpus

STATE_CAP = 1024 * 1024


def test_a_minute_at_one_thousand_events_a_second_uses_under_half_the_state_cap():
    rollup = new_rollup()
    for payload in event_corpus(60_000, events_per_second=1_000):
        rollup.add(payload)

    size = rollup.state_size()

    assert rollup.event_count == 60_000
    assert size == len(json.dumps(rollup.to_state()))
    assert size < STATE_CAP / 2
