"""Server-side fields: clock-skew correction, receivedAt, context merge, IP handling, site."""

from __future__ import annotations

import pytest

from tests.producer.conftest import Producer
from tests.producer.http_events import SITE

RECEIVED = "2026-11-27T16:35:46.123Z"


def stored_after(producer: Producer, event: dict, **batch_fields) -> dict:
    event = {"type": "page", "userId": "u-1", **event}
    answer = producer.post("/v1/batch", {"batch": [event], **batch_fields})
    assert answer.status == 200, answer.body
    [stored] = producer.stream()
    return stored


@pytest.mark.parametrize(
    ("event", "batch_fields", "timestamp"),
    [
        # Client clock 1 h slow; sent 2 s after the event: corrected to 2 s before arrival.
        ({"originalTimestamp": "2026-11-27T15:30:00Z", "sentAt": "2026-11-27T15:30:02Z"}, {},
         "2026-11-27T16:35:44.123Z"),
        # The batch's sentAt applies to every event; `timestamp` stands in for originalTimestamp.
        ({"timestamp": "2026-11-27T15:29:59.500+00:00"}, {"sentAt": "2026-11-27T15:30:00Z"},
         "2026-11-27T16:35:45.623Z"),
        # The event's own sentAt wins over the batch's.
        ({"originalTimestamp": "2026-11-27T10:00:00Z", "sentAt": "2026-11-27T10:00:10Z"},
         {"sentAt": "2026-11-27T09:00:00Z"}, "2026-11-27T16:35:36.123Z"),
        # Offsets are honoured: 17:30+01:00 is 16:30Z.
        ({"originalTimestamp": "2026-11-27T17:30:00+01:00", "sentAt": "2026-11-27T16:30:01Z"},
         {}, "2026-11-27T16:35:45.123Z"),
        # No sentAt: the client's timestamp is kept, written in UTC.
        ({"timestamp": "2026-11-27T18:00:00.987654+02:00"}, {}, "2026-11-27T16:00:00.987Z"),
        # No sentAt, only originalTimestamp: kept.
        ({"originalTimestamp": "2026-11-27T12:00:00"}, {}, "2026-11-27T12:00:00.000Z"),
        # sentAt but no event time: the arrival time.
        ({"sentAt": "2026-11-27T12:00:00Z"}, {}, RECEIVED),
        # No client time at all: the arrival time.
        ({}, {}, RECEIVED),
    ],
)  # fmt: skip
def test_timestamp_is_corrected_for_client_clock_skew(
    producer: Producer, event: dict, batch_fields: dict, timestamp: str
):
    stored = stored_after(producer, event, **batch_fields)

    assert (stored["timestamp"], stored["receivedAt"]) == (timestamp, RECEIVED)


def test_the_client_fields_are_kept_as_sent(producer: Producer):
    sent = {"originalTimestamp": "2026-11-27T17:30:00+01:00", "sentAt": "2026-11-27T16:30:01Z"}

    stored = stored_after(producer, sent)

    assert (stored["originalTimestamp"], stored["sentAt"]) == (
        sent["originalTimestamp"],
        sent["sentAt"],
    )


def test_batch_context_is_merged_under_the_event_context(producer: Producer):
    batch_context = {"library": {"name": "batch-lib"}, "locale": "de-DE", "app": {"v": "1"}}
    event = {"context": {"library": {"name": "event-lib"}, "page": {"path": "/"}}}

    stored = stored_after(producer, event, context=batch_context)

    assert stored["context"] == {
        "library": {"name": "event-lib"},
        "locale": "de-DE",
        "app": {"v": "1"},
        "page": {"path": "/"},
        "ip": "203.0.113.0",  # SOURCE_IP, truncated by default
    }


def test_with_truncation_off_a_client_ip_is_kept_and_the_site_comes_from_the_write_key(
    make_producer,
):
    producer: Producer = make_producer(truncate_ip=False)
    stored = stored_after(producer, {"context": {"ip": "198.51.100.4"}, "site": "forged"})

    assert (stored["context"]["ip"], stored["site"]) == ("198.51.100.4", SITE)


@pytest.mark.parametrize(
    ("client_ip", "source_ip", "stored_ip"),
    [
        (None, "203.0.113.77", "203.0.113.0"),
        ("198.51.100.250", "203.0.113.77", "198.51.100.0"),
        (None, "2001:db8:85a3:1234:5678:8a2e:370:7334", "2001:db8:85a3::"),
        ("2001:db8:abcd:ffff::1", "203.0.113.77", "2001:db8:abcd::"),
        ("not-an-ip", "203.0.113.77", "203.0.113.0"),
    ],
)
def test_truncate_ip_zeroes_the_host_part(
    make_producer, client_ip: str | None, source_ip: str, stored_ip: str
):
    producer: Producer = make_producer(truncate_ip=True)
    context = {"ip": client_ip} if client_ip else {}

    answer = producer.post(
        "/v1/track",
        {"userId": "u", "event": "E", "context": context},
        source_ip=source_ip,
    )

    assert answer.status == 200
    [stored] = producer.stream()
    assert stored["context"]["ip"] == stored_ip
