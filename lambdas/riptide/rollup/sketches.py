"""HLL sketches in the form Druid's HLLSketchMerge aggregator ingests.

Rows carry the DataSketches compact serialization, base64-encoded; Java, C++ and Python
DataSketches share that format, so Druid merges our sketches with its own. Merging goes through
a union, as Druid's does; the merged sketch then estimates with the union's composite
estimator, which is why merged sketches are compared by estimate, not by bytes.
"""

from __future__ import annotations

from datasketches import hll_sketch, hll_union, tgt_hll_type

from riptide.rollup.schema import Metric


class SketchCodec:
    """Makes, merges and (de)serializes the sketches of one hllSketch metric."""

    def __init__(self, metric: Metric) -> None:
        self.lg_k = metric.lg_k
        self.tgt_type = getattr(tgt_hll_type, metric.tgt_hll_type)

    def new(self) -> hll_sketch:
        return hll_sketch(self.lg_k, self.tgt_type)

    def merged(self, first: hll_sketch, second: hll_sketch) -> hll_sketch:
        union = hll_union(self.lg_k)
        union.update(first)
        union.update(second)
        return union.get_result(self.tgt_type)

    def copy(self, sketch: hll_sketch) -> hll_sketch:
        return hll_sketch.deserialize(sketch.serialize_updatable())

    def decode(self, data: bytes) -> hll_sketch:
        """Read a sketch's serialized bytes; ValueError if they are not an HLL sketch of ours."""
        try:
            sketch = hll_sketch.deserialize(data)
        except (RuntimeError, ValueError, TypeError) as error:
            raise ValueError(f"not an HLL sketch: {error}") from None
        if sketch.lg_config_k != self.lg_k:
            raise ValueError(f"sketch has lgK {sketch.lg_config_k}, expected {self.lg_k}")
        return sketch
