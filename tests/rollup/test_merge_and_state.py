"""Splitting, merging and state round trips never lose or double-count an event."""

import base64
import json
import math
import zlib

import msgspec
import pytest
from datasketches import hll_sketch
from hypothesis import given, settings
from hypothesis import strategies as st

from riptide.rollup import Rollup, RollupSchema, TimePolicy
from tests.rollup.factories import (
    DEFAULT_SCHEMA,
    encoded,
    event,
    new_rollup,
    rollup_of,
    shop_events,
)


def comparable(rollup):
    """Rows keyed by minute and dimensions; sketches by estimate, as merges re-order coupons."""
    rows = {}
    for row in rollup.rows():
        users = hll_sketch.deserialize(msgspec.json.decode(f'"{row.pop("users")}"', type=bytes))
        key = tuple(row[d.name] for d in DEFAULT_SCHEMA.dimensions)
        key = (row["ts"], *(tuple(value) if isinstance(value, list) else value for value in key))
        rows[key] = {**row, "revenue": round(row["revenue"], 6), "users": users.get_estimate()}
    return rows


def through_state(rollup):
    state = json.loads(json.dumps(rollup.to_state()))
    return Rollup.from_state(rollup.schema, rollup.time_policy, state)


@settings(max_examples=60, deadline=None)
@given(st.lists(shop_events(), max_size=80), st.data())
def test_any_split_merged_in_any_order_equals_one_rollup(bodies, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(bodies)), max_size=4)))
    parts = [bodies[start:end] for start, end in zip([0, *cuts], [*cuts, len(bodies)], strict=True)]
    order = data.draw(st.permutations(range(len(parts))))
    merged = new_rollup()
    for index in order:
        part = rollup_of(parts[index])
        if data.draw(st.booleans()):
            part = through_state(part)
        merged.merge(part)
        if data.draw(st.booleans()):
            merged = through_state(merged)

    whole = rollup_of(bodies)
    assert comparable(merged) == comparable(whole)
    assert merged.counters == whole.counters
    assert merged.event_count == len(bodies)
    rows = merged.rows()
    assert sum(row["events"] for row in rows) == len(bodies)
    assert sum(row["quantity"] for row in rows) == sum(
        b["properties"].get("quantity", 0) for b in bodies
    )
    expected_revenue = sum(
        b["properties"].get("revenue", b["properties"].get("total", 0))
        if b.get("event") == "Order Completed"
        else b["properties"].get("revenue", 0)
        for b in bodies
    )
    assert math.isclose(sum(row["revenue"] for row in rows), expected_revenue, abs_tol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(shop_events(), max_size=60))
def test_state_round_trip_gives_identical_rows(bodies):
    rollup = rollup_of(bodies)

    restored = through_state(rollup)

    assert restored.rows() == rollup.rows()
    assert restored.counters == rollup.counters
    assert restored.to_ndjson() == rollup.to_ndjson()


@settings(max_examples=40, deadline=None)
@given(st.lists(shop_events(), max_size=60))
def test_state_size_is_the_json_size_and_never_under(bodies):
    rollup = rollup_of(bodies)

    size = rollup.state_size()

    assert size == len(json.dumps(rollup.to_state()))
    assert size >= len(msgspec.json.encode(rollup.to_state()))


def test_state_size_follows_changes():
    rollup = rollup_of([event()])
    before = rollup.state_size()

    rollup.add(encoded(event(site="another-shop", userId="someone-else")))

    assert rollup.state_size() > before


def test_merge_leaves_the_other_rollup_as_it_was():
    other = rollup_of([event(userId="u1")])
    before = other.rows()
    mine = rollup_of([event(userId="u2")])

    mine.merge(other)
    mine.add(encoded(event(userId="u3")))

    assert other.rows() == before


def test_merging_another_schema_is_refused():
    other = Rollup(RollupSchema.from_settings('{"site": "site"}', None), TimePolicy())

    with pytest.raises(ValueError, match="different schemas"):
        new_rollup().merge(other)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dimensions": ["country", "site"]}, "state dimensions are ['country', 'site']"),
        ({"dimensions": ["site", "shoe"]}, "state dimensions are ['site', 'shoe']"),
        ({"multiValued": []}, "(multi-value [])"),
        ({"version": 0}, "state version is 0"),
        ({"counters": {"invalid": "1"}}, "state counters must be an object of integers"),
        ({"data": "!!"}, "state data is not an encoded rollup"),
        ({"data": "eJzLSM3JyQcABiwCFQ=="}, "state data is not an encoded rollup"),
    ],
)
def test_foreign_state_is_refused(change, message):
    state = {**rollup_of([event()]).to_state(), **change}

    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        Rollup.from_state(DEFAULT_SCHEMA, TimePolicy(), state)


ADDED_DIMENSIONS = ("product", "category", "placement", "experiment", "variant")
SCHEMA_BEFORE_THEM = RollupSchema.from_settings(
    json.dumps(
        {
            "site": "site",
            "type": "type",
            "event": "event|name",
            "country": "context.location.country",
            "device": "context.device.type",
            "currency": "properties.currency",
            "utm_source": "context.campaign.source",
            "utm_campaign": "context.campaign.name",
        }
    ),
    None,
)


@settings(max_examples=30, deadline=None)
@given(st.lists(shop_events(), min_size=1, max_size=40))
def test_a_state_from_before_dimensions_were_added_reads_with_them_empty(bodies):
    """A deploy that adds dimensions finds windows open under the old settings: their events
    go on to Druid (with the new dimensions empty) rather than to quarantine."""
    before = rollup_of(bodies, SCHEMA_BEFORE_THEM)
    state = json.loads(json.dumps(before.to_state()))

    carried = Rollup.from_state(DEFAULT_SCHEMA, TimePolicy(), state)

    assert carried.rows() == [{**row, **dict.fromkeys(ADDED_DIMENSIONS)} for row in before.rows()]


def _one_row_columns():
    """The columns of a valid one-row state, as [first minute, minutes, dims, numbers, sketches]."""
    state = rollup_of([event()]).to_state()
    return msgspec.msgpack.decode(zlib.decompress(base64.b64decode(state["data"])))


def _state_with(columns):
    state = rollup_of([event()]).to_state()
    data = zlib.compress(msgspec.msgpack.encode(columns))
    return {**state, "data": base64.b64encode(data).decode()}


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([0, [0], [], [[1]], [[]]], r"state has \(0, 1, 1\) dimension, number and sketch columns"),
        ([0, [0, 1], *_one_row_columns()[2:]], "state column of 1 cells for 2 rows"),
        (
            [0, [0], [[[None], [3]]] * len(DEFAULT_SCHEMA.dimensions), *_one_row_columns()[3:]],
            "position out of range",
        ),
        ([0, [0], *_one_row_columns()[2:4], [[b"junk"]]], "not an HLL sketch"),
        (
            [0, [0], [[[["a"]], [0]]] * len(DEFAULT_SCHEMA.dimensions), *_one_row_columns()[3:]],
            "state dimension site holds values other than text",
        ),
        (
            [0, [0], [[["a"], [0]]] * len(DEFAULT_SCHEMA.dimensions), *_one_row_columns()[3:]],
            "state dimension variant holds values other than lists of text",
        ),
    ],
)
def test_inconsistent_state_columns_are_refused(columns, message):
    with pytest.raises(ValueError, match=message):
        Rollup.from_state(DEFAULT_SCHEMA, TimePolicy(), _state_with(columns))


def test_a_rollup_without_dimensions_counts_per_minute():
    schema = RollupSchema.from_settings("{}", '{"events": {"type": "count"}}')
    rollup = rollup_of([event(), event(site="other"), event(context=None)], schema)

    restored = through_state(rollup)

    assert restored.rows() == rollup.rows() == [{"ts": "2026-11-27T16:35:00Z", "events": 3}]


@pytest.mark.parametrize("users", [5, 300, 5_000], ids=["list", "set", "hll"])
def test_state_round_trip_keeps_sketches_to_the_byte_in_every_mode(users):
    rollup = rollup_of([event(userId=f"user-{n}") for n in range(users)])

    assert through_state(rollup).to_ndjson() == rollup.to_ndjson()
