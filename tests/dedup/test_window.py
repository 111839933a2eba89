"""The deduplication window against the real store: which copy of a message counts, and that
the answer for a copy never changes, however often and in whatever company it is asked."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riptide.dedup import Copy, DedupWindow
from riptide.store import SiteKeys, StoreUnavailableError
from tests.dedup.conftest import LENGTH

ARRIVAL = 1_795_737_600.0


def copy(
    site: str, message_id: str, shard: int, sequence: int, sub: int = 0, *, after: float = 0
) -> Copy:
    return Copy(site, message_id, f"shardId-{shard:012d}", str(sequence), sub, ARRIVAL + after)


def test_the_first_copy_counts_and_every_replay_keeps_its_answer(
    window: DedupWindow, site: str
) -> None:
    original, resent = copy(site, "m1", 0, 100), copy(site, "m1", 1, 7, 2, after=30)

    assert window.duplicates([original, resent]) == [False, True]
    assert window.duplicates([resent]) == [True]
    assert window.duplicates([original]) == [False]
    assert window.duplicates([resent, original]) == [True, False]


def test_the_copy_asked_first_wins_whatever_its_place_or_arrival(
    window: DedupWindow, site: str
) -> None:
    """A lagging shard's original loses to a copy another shard showed the window first."""
    original, resent = copy(site, "m1", 0, 100), copy(site, "m1", 1, 7, after=30)

    assert window.duplicates([resent]) == [False]
    assert window.duplicates([original, resent]) == [True, False]


def test_two_copies_in_one_record_the_first_counts(window: DedupWindow, site: str) -> None:
    first, second = copy(site, "m1", 0, 100, 0), copy(site, "m1", 0, 100, 1)

    assert window.duplicates([first, second]) == [False, True]
    assert window.duplicates([second]) == [True]


def test_a_copy_arriving_a_whole_window_after_the_first_counts(
    window: DedupWindow, site: str
) -> None:
    window.duplicates([copy(site, "m1", 0, 1)])

    inside = copy(site, "m1", 0, 2, after=LENGTH.window_seconds - 1)
    beyond = copy(site, "m1", 0, 3, after=LENGTH.window_seconds)
    assert window.duplicates([inside, beyond]) == [True, False]


def test_sites_never_share_a_message(window: DedupWindow, site: str) -> None:
    other = f"{site}-other"

    assert window.duplicates([copy(site, "m1", 0, 1), copy(other, "m1", 1, 1)]) == [False, False]


def test_a_claim_lasts_the_window_and_the_retry_horizon_from_arrival_or_now(
    store_client: Any, site: str
) -> None:
    """A duplicate is retried at most `retry` after its arrival, so every retry of a copy that
    arrived inside the window still meets the claim."""
    now = time.time()
    window = DedupWindow(store_client, LENGTH, clock=lambda: now)
    late = Copy(site, "late", "shardId-0", "1", 0, now + 120)
    backlog = Copy(site, "backlog", "shardId-0", "2", 0, now - 86_400)

    window.duplicates([late, backlog])

    keep_ms = (LENGTH.window_seconds + LENGTH.retry_seconds) * 1000
    keys = SiteKeys(site)
    assert store_client.pexpiretime(keys.message("late")) == int((now + 120) * 1000) + keep_ms
    assert store_client.pexpiretime(keys.message("backlog")) == int(now * 1000) + keep_ms


copies = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 4), st.integers(0, 2), st.integers(0, 5)),
    min_size=1,
    max_size=30,
)
"""(site, message, shard, sequence) of copies; equal tuples are replays of one copy."""


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=copies, cuts=st.lists(st.integers(1, 8), min_size=1, max_size=10), chunk=st.integers(1, 4)
)
def test_exactly_one_copy_of_each_message_counts_however_it_is_asked(
    store_client: Any, plan: list[tuple[int, int, int, int]], cuts: list[int], chunk: int
) -> None:
    """Asked in batches of any size, each several times (retries and replays), in chunks of
    any size: every copy gets one answer throughout and each message counts exactly once."""
    run = uuid.uuid4().hex[:10]
    window = DedupWindow(store_client, LENGTH, chunk_copies=chunk)
    stream = [copy(f"{run}-{s}", f"m{m}", shard, seq) for s, m, shard, seq in plan]
    answers: dict[Copy, bool] = {}
    start, turn = 0, 0
    while start < len(stream):
        end = min(len(stream), start + cuts[turn % len(cuts)])
        for _ in range(2):  # every batch delivered twice, from an older checkpoint the 2nd time
            batch = stream[max(0, start - 1) : end]
            for asked, duplicate in zip(batch, window.duplicates(batch), strict=True):
                assert answers.setdefault(asked, duplicate) == duplicate
        start, turn = end, turn + 1

    counted = {(c.site, c.message_id) for c, duplicate in answers.items() if not duplicate}
    assert sorted(counted) == sorted({(c.site, c.message_id) for c in stream})
    assert sum(not duplicate for duplicate in answers.values()) == len(counted)


def test_a_store_outage_answers_nothing_and_the_answers_after_it_are_the_same(
    own_store: Any, own_window: DedupWindow, site: str
) -> None:
    original, resent = copy(site, "m1", 0, 100), copy(site, "m1", 1, 7)
    own_window.duplicates([original])
    own_store.stop()

    with pytest.raises(StoreUnavailableError):
        own_window.duplicates([resent])

    own_store.start()
    fresh = copy(site, "m2", 1, 8)
    assert own_window.duplicates([fresh, copy(site, "m2", 0, 101)]) == [False, True]
