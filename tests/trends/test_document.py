"""Trend scores and the trends document, from product activity alone (no Druid)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import assume, given
from hypothesis import strategies as st

from riptide.trends import ProductActivity, TrendWindow, trend_score, trends_document
from riptide.trends.activity import activity_by_site
from riptide.trends.document import CATEGORY_LENGTH, TOP_LENGTH, TRENDING_LENGTH

WINDOW = TrendWindow.ending_at(datetime(2026, 12, 1, 15, 0, 40, tzinfo=UTC))
counts = st.integers(min_value=0, max_value=100_000)


@given(recent=counts, baseline=counts)
def test_a_product_rises_exactly_when_it_draws_more_than_its_baseline_rate(recent, baseline):
    # Events per minute compared without rounding: recent / 15 against baseline / 60.
    now_against_before = recent * WINDOW.baseline_minutes - baseline * WINDOW.recent_minutes

    score = trend_score(recent, baseline, WINDOW)

    assert (score > 1) == (now_against_before > 0)
    assert (score == 1) == (now_against_before == 0)


@given(recent=st.integers(1, 1_000), baseline=st.integers(0, 1_000), more=st.integers(2, 50))
def test_the_same_change_on_more_events_scores_further_from_no_change(recent, baseline, more):
    assume(recent * WINDOW.baseline_minutes != baseline * WINDOW.recent_minutes)

    few = trend_score(recent, baseline, WINDOW)
    many = trend_score(recent * more, baseline * more, WINDOW)

    assert abs(many - 1) > abs(few - 1)


products = st.lists(
    st.builds(
        ProductActivity,
        product_id=st.text("abc123", min_size=1, max_size=4),
        category=st.sampled_from([None, "Apparel", "Shoes"]),
        recent=st.integers(0, 50),
        baseline=st.integers(0, 200),
        last_hour=st.integers(0, 250),
    ),
    max_size=60,
    unique_by=lambda product: product.product_id,
)


@given(products)
def test_lists_are_best_first_bounded_and_hold_only_rising_products(activity):
    document = trends_document("shop", activity, WINDOW, WINDOW.end)

    trending = document["trending"]
    assert len(trending) <= TRENDING_LENGTH
    assert [entry["score"] for entry in trending] == sorted(
        (entry["score"] for entry in trending), reverse=True
    )
    assert all(entry["score"] > 1 for entry in trending)
    for category, entries in document["byCategory"].items():
        assert 0 < len(entries) <= CATEGORY_LENGTH
        assert {entry["category"] for entry in entries} == {category}
        assert [entry["score"] for entry in entries] == sorted(
            (entry["score"] for entry in entries), reverse=True
        )
    top = [entry["events"] for entry in document["top"]]
    assert len(top) <= TOP_LENGTH and top == sorted(top, reverse=True) and 0 not in top


def test_a_products_rows_are_summed_and_it_takes_the_category_most_events_named():
    rows = [
        {"site": "a", "product": "p1", "category": "Shoes", "recent": 3, "baseline": 1,
         "lastHour": 4},
        {"site": "a", "product": "p1", "category": None, "recent": 10, "baseline": None,
         "lastHour": 10},
        {"site": "a", "product": "p1", "category": "Boots", "recent": 1, "baseline": 2,
         "lastHour": None},
        {"site": "b", "product": "p1", "category": "Hats", "recent": None, "baseline": 7,
         "lastHour": 7},
    ]  # fmt: skip

    assert activity_by_site(rows) == {
        "a": [ProductActivity("p1", "Shoes", recent=14, baseline=3, last_hour=14)],
        "b": [ProductActivity("p1", "Hats", recent=0, baseline=7, last_hour=7)],
    }
