"""Hypothesis strategies shared by the KPL property tests."""

from hypothesis import strategies as st


def sized_binary(max_size: int) -> st.SearchStrategy[bytes]:
    """Bytes of a length drawn evenly, so long payloads (multi-byte varints) are common."""
    return st.integers(0, max_size).flatmap(lambda size: st.binary(min_size=size, max_size=size))
