"""The derived `variant` dimension: every event of an assigned shopper carries the arms the hash
gives them in each experiment of their site that attributes the event's time, and multi-value
rows survive the window state as they are."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riptide.decisions.assignment import (
    Arm,
    Experiment,
    ExperimentStatus,
    assign,
    assignment_unit,
    variant_label,
)
from riptide.delivery.positions import Coverage, Position
from riptide.delivery.window import WindowState
from riptide.rollup import Rollup, TimePolicy
from riptide.rollup import arms as arms_module
from riptide.rollup.arms import ExperimentArms
from tests.rollup.factories import DEFAULT_SCHEMA, RECEIVED, encoded, event


def epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


BANNER = Experiment(
    "cart-banner",
    "home-hero",
    (Arm("control", 1), Arm("banner", 1)),
    started_at_ms=epoch_ms(RECEIVED - timedelta(seconds=100)),
)
HERO = Experiment(
    "hero-copy",
    "home-hero",
    (Arm("control", 1), Arm("short", 3)),
    holdout=0.2,
    status=ExperimentStatus.ENDED,
    started_at_ms=epoch_ms(RECEIVED - timedelta(seconds=300)),
    ended_at_ms=epoch_ms(RECEIVED + timedelta(seconds=50)),
    winner="short",
)
EXPERIMENTS = {"shop-1": (BANNER, HERO), "shop-3": ()}
FUTURE_CLAMPED_AFTER = timedelta(seconds=TimePolicy().future_tolerance_seconds)


def expected_variant(body: dict[str, Any], at: datetime) -> tuple[str, ...] | None:
    """What the rollup must say, computed as every other stage computes it."""
    unit = assignment_unit(body.get("anonymousId"), body.get("userId"))
    if unit is None:
        return None
    labels = sorted(
        variant_label(experiment.id, assign(experiment, unit))
        for experiment in EXPERIMENTS.get(body["site"], ())
        if experiment.attributes(epoch_ms(at))
    )
    return tuple(labels) or None


@st.composite
def shopper_events(draw: st.DrawFn) -> tuple[dict[str, Any], datetime]:
    """An event of any site and identity, on either side of the experiments' start and end; a
    few are future-dated past the tolerance, so they count at their receipt. Returns the event
    and the time it counts at."""
    received = RECEIVED + timedelta(milliseconds=draw(st.integers(-400_000, 400_000)))
    future = draw(st.integers(0, 9)) == 0
    at = received + FUTURE_CLAMPED_AFTER + timedelta(seconds=1) if future else received
    body = event(at, received, site=draw(st.sampled_from(["shop-1", "shop-2", "shop-3"])))
    del body["anonymousId"]
    identity = draw(st.sampled_from(["anonymous", "user", "both", "none"]))
    shopper = draw(st.integers(0, 40))
    if identity in ("anonymous", "both"):
        body["anonymousId"] = draw(st.sampled_from([f"anon-{shopper}", ""]))
    if identity in ("user", "both"):
        body["userId"] = f"user-{shopper}"
    return body, received


@settings(max_examples=150)
@given(st.lists(shopper_events(), min_size=1, max_size=40))
def test_every_event_carries_the_arms_its_shopper_is_assigned(events):
    rollup = Rollup(DEFAULT_SCHEMA, TimePolicy(), ExperimentArms(EXPERIMENTS))
    for index, (body, _) in enumerate(events):
        body["properties"]["placement"] = f"p{index}"  # one row per event
        rollup.add(encoded(body))

    variants = {row["placement"]: row["variant"] for row in rollup.rows()}

    assert variants == {
        f"p{index}": expected_variant(body, at) for index, (body, at) in enumerate(events)
    }


def test_only_identified_shoppers_inside_an_experiment_window_get_arms():
    inside, before = RECEIVED, RECEIVED - timedelta(seconds=200)
    after = RECEIVED + timedelta(seconds=60)
    bodies = [
        event(inside, placement="both running"),
        event(before, placement="before banner, inside hero"),
        event(after, placement="after hero ended"),
        {**event(inside, placement="no identity"), "anonymousId": None},
        event(inside, placement="site without experiments", site="shop-2"),
    ]
    rollup = Rollup(DEFAULT_SCHEMA, TimePolicy(), ExperimentArms(EXPERIMENTS))
    for body in bodies:
        body["properties"] = {"placement": body.pop("placement")}
        rollup.add(encoded(body))

    variants = {row["placement"]: row["variant"] for row in rollup.rows()}

    banner = variant_label("cart-banner", assign(BANNER, "anon-1"))
    hero = variant_label("hero-copy", assign(HERO, "anon-1"))
    assert variants == {
        "both running": tuple(sorted([banner, hero])),
        "before banner, inside hero": (hero,),
        "after hero ended": (banner,),
        "no identity": None,
        "site without experiments": None,
    }


def test_without_experiments_the_variant_stays_empty():
    bodies = [event(), event(site="shop-2", userId="u-9")]
    for arms in (None, ExperimentArms({})):
        rollup = Rollup(DEFAULT_SCHEMA, TimePolicy(), arms)
        for body in bodies:
            rollup.add(encoded(body))

        assert [row["variant"] for row in rollup.rows()] == [None, None]


def test_the_arms_of_an_event_do_not_split_its_minute_by_shopper():
    """Shoppers of one arm share a row: the variant is a dimension, not an identity."""
    shoppers = [f"anon-{n}" for n in range(60)]
    rollup = Rollup(DEFAULT_SCHEMA, TimePolicy(), ExperimentArms({"shop-1": (BANNER,)}))
    for shopper in shoppers:
        rollup.add(encoded(event(anonymousId=shopper)))

    events = {row["variant"]: row["events"] for row in rollup.rows()}

    arms = [variant_label("cart-banner", assign(BANNER, shopper)) for shopper in shoppers]
    assert events == {(label,): arms.count(label) for label in set(arms)}


@settings(max_examples=60)
@given(st.lists(shopper_events(), max_size=40))
def test_multi_value_rows_survive_the_window_state_and_its_envelope(events):
    rollup = Rollup(DEFAULT_SCHEMA, TimePolicy(), ExperimentArms(EXPERIMENTS))
    for body, _ in events:
        rollup.add(encoded(body))
    envelope = WindowState(Coverage(Position(1), Position(9, 2)), rollup.to_state())

    carried = WindowState.from_json(json.loads(json.dumps(envelope.to_json())))
    restored = Rollup.from_state(DEFAULT_SCHEMA, TimePolicy(), carried.rollup_state)

    assert restored.rows() == rollup.rows()
    assert restored.to_ndjson() == rollup.to_ndjson()


def test_rows_restored_from_state_take_more_events_into_the_same_multi_value_rows():
    arms = ExperimentArms(EXPERIMENTS)
    first = Rollup(DEFAULT_SCHEMA, TimePolicy(), arms)
    first.add(encoded(event()))
    restored = Rollup.from_state(DEFAULT_SCHEMA, TimePolicy(), first.to_state(), arms)

    restored.add(encoded(event()))

    (row,) = restored.rows()
    assert row["events"] == 2
    assert row["variant"] == expected_variant(event(), RECEIVED)


def test_a_state_written_without_the_multi_value_dimension_is_refused():
    rollup = Rollup(DEFAULT_SCHEMA, TimePolicy(), ExperimentArms(EXPERIMENTS))
    rollup.add(encoded(event()))
    state = rollup.to_state()
    plain = {key: value for key, value in state.items() if key != "multiValued"}

    with pytest.raises(ValueError, match=r"\(multi-value \[\]\), these settings need"):
        Rollup.from_state(DEFAULT_SCHEMA, TimePolicy(), plain)


def test_druid_gets_the_arms_as_a_sorted_json_array():
    rollup = Rollup(DEFAULT_SCHEMA, TimePolicy(), ExperimentArms(EXPERIMENTS))
    rollup.add(encoded(event()))

    (line,) = rollup.to_ndjson().splitlines()

    variant = json.loads(line)["variant"]
    assert variant == sorted(variant) == list(expected_variant(event(), RECEIVED))
    assert len(variant) == 2
    assert DEFAULT_SCHEMA.druid_dimensions()[-1] == {
        "type": "string",
        "name": "variant",
        "multiValueHandling": "SORTED_ARRAY",
    }


def test_arms_are_hashed_once_per_shopper_and_batch(monkeypatch):
    calls = []

    def counting_assign(experiment, unit):
        calls.append((experiment.id, unit))
        return assign(experiment, unit)

    monkeypatch.setattr(arms_module, "assign", counting_assign)
    rollup = Rollup(DEFAULT_SCHEMA, TimePolicy(), ExperimentArms(EXPERIMENTS))
    for second in range(10):
        rollup.add(encoded(event(RECEIVED + timedelta(seconds=second))))

    assert sorted(calls) == [("cart-banner", "anon-1"), ("hero-copy", "anon-1")]


def test_event_time_is_the_experiments_clock_to_the_millisecond():
    start = datetime(2026, 11, 27, 16, 35, 30, 123_000, tzinfo=UTC)
    experiment = Experiment("edge", "p", (Arm("a", 1),), started_at_ms=epoch_ms(start))
    rollup = Rollup(DEFAULT_SCHEMA, TimePolicy(), ExperimentArms({"shop-1": (experiment,)}))
    for offset_ms, placement in ((-1, "just before"), (0, "at the start")):
        at = start + timedelta(milliseconds=offset_ms)
        rollup.add(encoded(event(at, properties={"placement": placement})))

    variants = {row["placement"]: row["variant"] for row in rollup.rows()}

    assert variants == {"just before": None, "at the start": ("edge/a",)}
