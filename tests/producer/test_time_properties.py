"""Properties of the server's clock arithmetic, over any instants in range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from riptide.ingest.enrichment import Enricher, iso_utc
from riptide.ingest.validation import check_event, parse_time

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets
)
RECEIVED_AT = datetime(2026, 11, 27, 16, 35, 46, 123_456, tzinfo=UTC)


def stored_timestamp(event: dict, enricher: Enricher | None = None) -> str:
    enricher = enricher or Enricher(
        site="s", received_at=RECEIVED_AT, source_ip=None, truncate_ip=False
    )
    event = {"type": "page", "userId": "u", **event}
    enricher.enrich(event, check_event(event))
    return event["timestamp"]


@given(original=instants, delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)))
def test_the_corrected_timestamp_is_arrival_minus_the_clients_own_delay(original, delay):
    sent_at = original + delay
    event = {"originalTimestamp": original.isoformat(), "sentAt": sent_at.isoformat()}

    assert stored_timestamp(event) == iso_utc(RECEIVED_AT - delay)


@given(moment=instants)
def test_a_timestamp_without_sent_at_is_kept_as_the_same_instant_in_utc(moment):
    text = stored_timestamp({"timestamp": moment.isoformat()})

    assert text.endswith("Z")
    assert parse_time(text, "timestamp") == moment.replace(
        microsecond=moment.microsecond // 1000 * 1000
    )


@given(moments=st.lists(instants, min_size=1, max_size=50))
def test_many_events_of_one_request_are_written_as_isoformat_writes_them(moments):
    """One Enricher serves a whole request and caches the text per second; hits must not lie."""
    enricher = Enricher(site="s", received_at=RECEIVED_AT, source_ip=None, truncate_ip=False)
    for moment in moments + moments:
        # With sentAt equal to the arrival time, the correction leaves the instant unchanged.
        event = {"originalTimestamp": moment.isoformat(), "sentAt": RECEIVED_AT.isoformat()}
        assert stored_timestamp(event, enricher) == iso_utc(moment)
