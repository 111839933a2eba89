import json
import time
from datetime import timedelta

import msgspec
import pytest
from datasketches import hll_sketch

from riptide.rollup import LateEventError, RollupSchema, UnrollableEventError
from tests.rollup.factories import RECEIVED, encoded, event, new_rollup, rollup_of

MINUTE = "2026-11-27T16:35:00Z"
NEXT_MINUTE = "2026-11-27T16:36:00Z"
NULL_DIMENSIONS = dict.fromkeys(
    [
        "currency",
        "utm_source",
        "utm_campaign",
        "product",
        "category",
        "placement",
        "experiment",
        "variant",
    ]
)


def users_estimate(row):
    """Distinct users in a row; exact for the few users here (the sketch is in list mode)."""
    sketch = hll_sketch.deserialize(msgspec.json.decode(f'"{row["users"]}"', type=bytes))
    return round(sketch.get_estimate())


def test_sums_counts_and_users_per_minute_and_dimensions():
    order = {"event": "Order Completed", "type": "track"}
    rollup = rollup_of(
        [
            event(userId="u1", **order, properties={"total": 20.5, "currency": "EUR"}),
            event(
                userId="u2", **order, properties={"revenue": 9.5, "total": 99, "currency": "EUR"}
            ),
            event(
                userId="u1", **order, properties={"total": 1.0, "currency": "EUR", "quantity": 3}
            ),
            event(RECEIVED + timedelta(seconds=40), userId="u1"),
            event(anonymousId="a9"),
        ]
    )

    rows = rollup.rows()
    users = [users_estimate(row) for row in rows]
    for row in rows:
        del row["users"]
    base = {"site": "shop-1", "country": "DE", "device": "mobile"}
    assert rows == [
        {
            "ts": MINUTE,
            **base,
            "type": "track",
            "event": "Order Completed",
            **NULL_DIMENSIONS,
            "currency": "EUR",
            "events": 3,
            "revenue": 31.0,
            "quantity": 3,
        },
        {"ts": NEXT_MINUTE, **base, "type": "page", "event": "Home", **NULL_DIMENSIONS,
         "events": 1, "revenue": 0.0, "quantity": 0},
        {"ts": MINUTE, **base, "type": "page", "event": "Home", **NULL_DIMENSIONS,
         "events": 1, "revenue": 0.0, "quantity": 0},
    ]  # fmt: skip
    assert users == [2, 1, 1]
    assert rollup.event_count == 5
    assert len(rollup) == 3
    assert rollup.counters == {
        "accepted": 5,
        "invalid": 0,
        "late_rejected": 0,
        "late_accepted": 0,
        "future_clamped": 0,
    }


def test_total_counts_as_revenue_only_for_order_completed():
    rollup = rollup_of(
        [event(type="track", event="Checkout Started", properties={"total": 50.0, "quantity": 1})]
    )

    assert rollup.rows()[0]["revenue"] == 0.0
    assert rollup.rows()[0]["quantity"] == 1


def test_missing_optional_fields_are_null_dimensions():
    rollup = rollup_of([event(context=None, site="", name=None, properties=None)])

    (row,) = rollup.rows()
    assert [row[name] for name in ("site", "event", "country", "device", "currency")] == [None] * 5


def test_numbers_and_booleans_become_dimension_text():
    schema = RollupSchema.from_settings(json.dumps({"site": "site", "vip": "properties.vip"}), None)
    rows = rollup_of(
        [event(site=42, properties={"vip": True}), event(site="42", properties={"vip": True})],
        schema,
    ).rows()

    assert [(row["site"], row["vip"], row["events"]) for row in rows] == [("42", "true", 2)]


def test_equal_numbers_of_other_types_stay_apart():
    rows = rollup_of([event(site=1), event(site=True), event(site=1.0), event(site=1)]).rows()

    assert [(row["site"], row["events"]) for row in rows] == [("1", 2), ("true", 1), ("1.0", 1)]


def test_numeric_user_ids_count_as_their_text():
    rollup = rollup_of([event(userId=7), event(userId="7")])

    assert users_estimate(rollup.rows()[0]) == 1


def test_ndjson_is_the_rows_one_per_line():
    rollup = rollup_of([event(), event(type="screen")])

    lines = rollup.to_ndjson().splitlines()
    assert [json.loads(line) for line in lines] == rollup.rows()
    assert rollup.to_ndjson().endswith(b"\n")


def test_intervals_join_contiguous_minutes():
    minutes = [0, 1, 2, 4, -60 * 24]
    rollup = rollup_of([event(RECEIVED + timedelta(minutes=m), received=RECEIVED) for m in minutes])

    assert rollup.intervals() == [
        "2026-11-26T16:35:00Z/2026-11-26T16:36:00Z",
        "2026-11-27T16:35:00Z/2026-11-27T16:38:00Z",
        "2026-11-27T16:39:00Z/2026-11-27T16:40:00Z",
    ]
    assert new_rollup().intervals() == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "event: not JSON"),
        (b'["a"]', "event: expected object, got array"),
        (encoded({**event(), "timestamp": None}), "timestamp: missing"),
        (encoded({k: v for k, v in event().items() if k != "timestamp"}), "timestamp: missing"),
        (encoded(event(timestamp="yesterday")), "timestamp: invalid RFC3339 encoded datetime"),
        (encoded(event(timestamp=1764261330)), "timestamp: expected datetime | null, got int"),
        (encoded(event(properties={"revenue": "9.99"})), "properties.revenue: expected float"),
        (encoded(event(properties={"total": [1]})), "properties.total: expected float"),
        (encoded(event(properties={"quantity": 1.5})), "properties.quantity: expected int"),
        (encoded(event(properties={"quantity": True})), "properties.quantity: expected int"),
        (
            encoded(event(properties={"quantity": 2**64 - 1})),
            "properties.quantity: expected int <= 1000000000000",
        ),
        (
            encoded(event(properties={"revenue": 1e308})),
            "properties.revenue: expected float <= 1000000000000.0",
        ),
        (encoded(event(properties={"revenue": 1})).replace(b'"revenue": 1', b'"revenue": 1e999'),
         "properties.revenue: number out of range"),
        (encoded(event(properties="free")), "properties: expected object | null, got str"),
        (encoded(event(context={"location": {"country": {"iso": "DE"}}})),
         "context.location.country: expected bool | int | float | str | null, got object"),
        (encoded(event(userId=["u1"])), "userId: expected bool | int | float | str | null"),
        (encoded({**event(), "receivedAt": None}), "receivedAt: missing, and no arrival time"),
    ],
)  # fmt: skip
def test_invalid_events_are_rejected_with_the_field_and_reason(payload, reason):
    rollup = rollup_of([event()])

    with pytest.raises(UnrollableEventError) as raised:
        rollup.add(payload)

    assert raised.value.reason.startswith(reason)
    assert type(raised.value) is UnrollableEventError
    assert rollup.event_count == 1
    assert len(rollup) == 1
    assert rollup.counters["invalid"] == 1


def test_arrival_time_stands_in_for_a_missing_received_at():
    body = {k: v for k, v in event().items() if k != "receivedAt"}
    rollup = new_rollup()

    rollup.add(encoded(body), arrived_at=RECEIVED.timestamp() + 3600)

    assert rollup.counters["late_accepted"] == 1
    assert rollup.rows()[0]["ts"] == MINUTE


@pytest.fixture
def machine_far_from_utc(monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("machine_far_from_utc")
@pytest.mark.parametrize(
    ("timestamp", "received_at"),
    [
        ("2026-11-27T16:35:10", "2026-11-27T16:35:10"),
        ("2026-11-27T16:35:10Z", "2026-11-27T16:35:10"),
        ("2026-11-27T16:35:10", "2026-11-27T16:35:10Z"),
    ],
)
def test_a_time_without_offset_is_utc(timestamp, received_at):
    rollup = rollup_of([event(timestamp=timestamp, receivedAt=received_at)])

    assert rollup.rows()[0]["ts"] == MINUTE
    assert rollup.counters["future_clamped"] == rollup.counters["late_accepted"] == 0


def test_late_rejection_is_counted_and_leaves_no_row():
    rollup = new_rollup()

    with pytest.raises(LateEventError):
        rollup.add(encoded(event(RECEIVED - timedelta(days=8), received=RECEIVED)))

    assert len(rollup) == 0
    assert rollup.counters["late_rejected"] == 1
    assert rollup.counters["invalid"] == 0


def test_minutes_of_events_received_on_a_later_day_are_split_off_and_kept_in_the_state():
    yesterday = RECEIVED - timedelta(days=1)
    rollup = rollup_of(
        [
            event(RECEIVED, received=RECEIVED),
            event(RECEIVED - timedelta(hours=3), received=RECEIVED),  # late, same day
            event(yesterday, received=RECEIVED),  # late, from a day compaction may have merged
            event(yesterday, received=yesterday),  # on time then, but in that late minute
        ]
    )
    restored = new_rollup()
    restored.merge(type(rollup).from_state(rollup.schema, rollup.time_policy, rollup.to_state()))

    for whole in (rollup, restored):
        on_time, late = whole.split_late()
        assert (on_time.event_count, late.event_count) == (2, 2)
        assert on_time.intervals() == [
            "2026-11-27T13:35:00Z/2026-11-27T13:36:00Z",
            "2026-11-27T16:35:00Z/2026-11-27T16:36:00Z",
        ]
        assert late.intervals(24 * 60) == ["2026-11-26T00:00:00Z/2026-11-27T00:00:00Z"]
