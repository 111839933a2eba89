"""The users metric: accurate enough, mergeable, and in the bytes Druid's HLLSketchMerge reads."""

import base64

import pytest
from datasketches import hll_sketch, tgt_hll_type
from hypothesis import given
from hypothesis import strategies as st

from riptide.rollup.schema import Metric, MetricKind
from riptide.rollup.sketches import SketchCodec
from tests.rollup.factories import event, rollup_of

CODEC = SketchCodec(Metric("users", MetricKind.HLL_SKETCH, lg_k=12, tgt_hll_type="HLL_4"))


def sketch_of(keys):
    sketch = CODEC.new()
    for key in keys:
        sketch.update(key)
    return sketch


@pytest.mark.parametrize("distinct", [10, 1_000, 50_000])
def test_estimate_is_within_three_standard_errors(distinct):
    sketch = sketch_of(f"user-{n}" for n in range(distinct))

    assert sketch.get_lower_bound(3) <= distinct <= sketch.get_upper_bound(3)
    assert abs(sketch.get_estimate() - distinct) / distinct < 0.05


@given(
    st.sets(st.integers(0, 20_000), max_size=3_000),
    st.sets(st.integers(0, 20_000), max_size=3_000),
)
def test_merged_sketch_estimates_the_union(first, second):
    merged = CODEC.merged(sketch_of(map(str, first)), sketch_of(map(str, second)))
    of_union = CODEC.merged(sketch_of(map(str, first | second)), CODEC.new())

    assert merged.get_estimate() == of_union.get_estimate()


def test_rows_carry_druid_compatible_compact_sketches():
    (row,) = rollup_of([event(userId="u1"), event(userId="u2")]).rows()
    data = base64.b64decode(row["users"], validate=True)

    # DataSketches HLL preamble: preInts, serVer 1, family 7 (HLL), lgK, lgArr, flags, count, mode
    assert data[1:4] == bytes([1, 7, 12])
    assert data[5] & 0x08, "compact flag"
    assert data[7] & 0x03 == 0, "LIST mode for two users"
    assert (data[7] >> 2) & 0x03 == 0, "HLL_4 target type"
    restored = hll_sketch.deserialize(data)
    assert restored.lg_config_k == 12
    assert restored.tgt_type == tgt_hll_type.HLL_4
    assert round(restored.get_estimate()) == 2


def test_foreign_bytes_are_refused():
    with pytest.raises(ValueError, match="not an HLL sketch"):
        CODEC.decode(b"\x00" * 8)
    other_k = SketchCodec(Metric("u", MetricKind.HLL_SKETCH, lg_k=10))
    with pytest.raises(ValueError, match="lgK 10, expected 12"):
        CODEC.decode(other_k.new().serialize_updatable())
