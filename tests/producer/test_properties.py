"""Properties over any mix of good and bad events: every event is either accepted or rejected
(never both, never neither), exactly the bad ones are rejected, and the stream holds exactly the
accepted ones, once each."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.producer.conftest import Producer

EVENT_TYPES = ("track", "page", "screen", "identify", "group", "alias")

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
properties = st.dictionaries(st.text(max_size=10), json_scalars, max_size=5)
iso_times = st.datetimes(timezones=st.just(None)).map(lambda moment: moment.isoformat())
identities = st.one_of(
    st.fixed_dictionaries({"userId": st.text(min_size=1, max_size=30)}),
    st.fixed_dictionaries({"userId": st.integers(min_value=0)}),
    st.fixed_dictionaries({"anonymousId": st.uuids().map(str)}),
)


@st.composite
def good_events(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from(EVENT_TYPES))
    event: dict[str, Any] = {"type": event_type, **draw(identities)}
    if event_type == "track":
        event["event"] = draw(st.text(min_size=1, max_size=30))
    event["properties"] = draw(properties)
    event["timestamp"] = draw(iso_times)
    return event


def _drop_identity(event: dict) -> dict:
    return {k: v for k, v in event.items() if k not in ("userId", "anonymousId")}


BREAKAGES = {
    "no identity": _drop_identity,
    "unknown type": lambda event: {**event, "type": "purchase"},
    "track without name": lambda event: {**event, "type": "track", "event": ""},
    "long messageId": lambda event: {**event, "messageId": "m" * 101},
    "bad timestamp": lambda event: {**event, "timestamp": "yesterday"},
    "properties not an object": lambda event: {**event, "properties": ["x"]},
    "not an object": lambda event: [event],
}

mixed_batches = st.lists(
    st.tuples(good_events(), st.none() | st.sampled_from(sorted(BREAKAGES))),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=mixed_batches)
def test_accepted_plus_rejected_is_sent_and_the_stream_holds_exactly_the_accepted(
    make_producer, batch: list[tuple[dict, str | None]]
):
    producer: Producer = make_producer()
    sent = []
    for index, (event, breakage) in enumerate(batch):
        event = {**event, "messageId": f"h-{index}"}
        sent.append(BREAKAGES[breakage](event) if breakage else event)
    bad = {index for index, (_, breakage) in enumerate(batch) if breakage}

    answer = producer.post("/v1/batch", {"batch": sent})

    rejected = [rejection["index"] for rejection in answer.body["rejected"]]
    assert answer.body["accepted"] + len(rejected) == len(sent)
    assert set(rejected) == bad
    stored = [event["messageId"] for event in producer.stream()]
    assert sorted(stored) == sorted(f"h-{i}" for i in range(len(sent)) if i not in bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.lists(json_values, max_size=5).map(lambda batch: json.dumps({"batch": batch}).encode()),
    st.lists(good_events(), min_size=1, max_size=3).map(
        lambda batch: json.dumps({"batch": batch, "sentAt": float("nan")}).encode()
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, gzipped=st.booleans())
def test_no_body_is_answered_with_a_server_error(producer: Producer, body: bytes, gzipped: bool):
    answer = producer.post("/v1/batch", raw_body=body, gzipped=gzipped)

    assert answer.status in (200, 400, 413)
    assert answer.body["success"] is (answer.status == 200)
