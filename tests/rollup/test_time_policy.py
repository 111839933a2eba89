from datetime import timedelta

import pytest

from riptide.rollup import LateEventError, TimePolicy
from riptide.rollup.time_policy import DELAYED_AFTER_SECONDS
from tests.rollup.factories import RECEIVED, encoded, event, new_rollup

NOW = RECEIVED.timestamp()
POLICY = TimePolicy(late_tolerance_seconds=7 * 86400, future_tolerance_seconds=300)


@pytest.mark.parametrize(
    ("offset", "placed", "counter"),
    [
        (0, 0, None),
        (-DELAYED_AFTER_SECONDS, -DELAYED_AFTER_SECONDS, None),
        (-DELAYED_AFTER_SECONDS - 1, -DELAYED_AFTER_SECONDS - 1, "late_accepted"),
        (-7 * 86400, -7 * 86400, "late_accepted"),
        (300, 300, None),
        (301, 0, "future_clamped"),
        (86400 * 365, 0, "future_clamped"),
    ],
)
def test_events_are_kept_or_clamped_by_their_distance_from_received_at(offset, placed, counter):
    assert POLICY.place(NOW + offset, NOW) == (NOW + placed, counter)


def test_events_older_than_the_late_tolerance_are_quarantined():
    with pytest.raises(LateEventError) as raised:
        POLICY.place(NOW - 7 * 86400 - 1, NOW)

    assert raised.value.reason == (
        "timestamp: 2026-11-20T16:35:29Z is 604801 s before receivedAt 2026-11-27T16:35:30Z, "
        "over the late tolerance of 604800 s"
    )


def test_a_late_tolerance_below_the_delay_mark_still_quarantines():
    with pytest.raises(LateEventError):
        TimePolicy(late_tolerance_seconds=60).place(NOW - 61, NOW)


def test_clamped_events_land_in_the_minute_they_were_received():
    rollup = new_rollup()
    rollup.add(encoded(event(RECEIVED + timedelta(hours=3), received=RECEIVED)))

    assert rollup.rows()[0]["ts"] == "2026-11-27T16:35:00Z"
    assert rollup.counters["future_clamped"] == 1
