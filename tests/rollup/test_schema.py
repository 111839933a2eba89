import json

import pytest

from riptide.rollup import RollupSchema, RollupSettingsError
from riptide.rollup.schema import Alternative, Derivation, MetricKind, Source


def test_defaults_give_the_druid_schema():
    schema = RollupSchema.from_settings(None, "")

    assert schema.druid_dimensions() == [
        "site",
        "type",
        "event",
        "country",
        "device",
        "currency",
        "utm_source",
        "utm_campaign",
        "product",
        "category",
        "placement",
        "experiment",
        {"type": "string", "name": "variant", "multiValueHandling": "SORTED_ARRAY"},
    ]
    assert schema.druid_metrics_spec() == [
        {"type": "longSum", "name": "events", "fieldName": "events"},
        {"type": "doubleSum", "name": "revenue", "fieldName": "revenue"},
        {"type": "longSum", "name": "quantity", "fieldName": "quantity"},
        {
            "type": "HLLSketchMerge",
            "name": "users",
            "fieldName": "users",
            "lgK": 12,
            "tgtHllType": "HLL_4",
        },
    ]


def test_fallbacks_and_conditions_are_parsed():
    schema = RollupSchema.from_settings(None, None)
    event = next(d for d in schema.dimensions if d.name == "event")
    revenue = next(m for m in schema.metrics if m.name == "revenue")

    assert event.source == Source((Alternative(("event",)), Alternative(("name",))))
    assert revenue.kind is MetricKind.DOUBLE_SUM
    assert revenue.source == Source(
        (
            Alternative(("properties", "revenue")),
            Alternative(("properties", "total"), ((("event",), "Order Completed"),)),
        )
    )


def test_a_dimension_and_a_metric_are_added_without_code():
    schema = RollupSchema.from_settings(
        json.dumps({"site": "site", "page": "context.page.path"}),
        json.dumps(
            {
                "events": {"type": "count"},
                "items": {"type": "longSum", "field": "properties.items|properties.quantity"},
                "sessions": {"type": "hllSketch", "field": "context.sessionId", "lgK": 14},
            }
        ),
    )

    assert schema.druid_dimensions() == ["site", "page"]
    assert schema.druid_metrics_spec()[1:] == [
        {"type": "longSum", "name": "items", "fieldName": "items"},
        {
            "type": "HLLSketchMerge",
            "name": "sessions",
            "fieldName": "sessions",
            "lgK": 14,
            "tgtHllType": "HLL_4",
        },
    ]


def test_a_derived_dimension_is_multi_value_and_reads_the_assignment_fields():
    schema = RollupSchema.from_settings(
        json.dumps({"arms": {"derive": "experimentArms"}, "site": "site"}), None
    )

    arms = schema.dimensions[0]
    assert (arms.name, arms.derive, arms.source) == ("arms", Derivation.EXPERIMENT_ARMS, None)
    assert schema.druid_dimensions() == [
        {"type": "string", "name": "arms", "multiValueHandling": "SORTED_ARRAY"},
        "site",
    ]
    assert {("site",), ("anonymousId",), ("userId",)} <= set(schema.field_types)


COUNT = {"events": {"type": "count"}}


@pytest.mark.parametrize(
    ("dimensions", "metrics", "message"),
    [
        ("{", None, "dimensions: not valid JSON"),
        ('["site"]', None, "dimensions: expected a JSON object"),
        (None, "{}", "metrics: at least one metric is required"),
        ('{"site": ""}', None, "dimensions.site: '' is not a dotted field path"),
        ('{"site": "context..ip"}', None, "dimensions.site: 'context..ip' is not a dotted"),
        ('{"site": 7}', None, "dimensions.site: expected a path"),
        ('{"site": []}', None, "dimensions.site: expected a path"),
        ('{"site": [{"when": {}}]}', None, 'dimensions.site[0]: expected a path or {"path"'),
        ('{"site": [{"path": "a", "when": []}]}', None, "dimensions.site[0].when: expected an"),
        ('{"site": [{"path": "a", "when": {"b": null}}]}', None, "dimensions.site[0].when.b:"),
        ('{"t": "timestamp"}', None, "dimensions.t: 'timestamp' is read by the time policy"),
        ('{"r": "receivedAt"}', None, "dimensions.r: 'receivedAt' is read by the time policy"),
        ('{"ts": "site"}', None, "dimensions.ts: a name must be letters, digits and _"),
        ('{"my-site": "site"}', None, "dimensions.my-site: a name must be"),
        ('{"events": "site"}', None, "metrics.events: name used twice"),
        ('{"ctx": "context", "ip": "context.ip"}', None, "context is used both as a value"),
        ('{"v": {"derive": "arms"}}', None, "dimensions.v.derive: 'arms' is not one of exp"),
        ('{"v": {}}', None, 'dimensions.v: expected a path, a list of alternatives or {"derive"'),
        ('{"v": {"derive": "experimentArms", "path": "x"}}', None, "dimensions.v: expected a"),
        (
            '{"a": {"derive": "experimentArms"}, "b": {"derive": "experimentArms"}}',
            None,
            "dimensions.b: only one dimension may be derived, a already is",
        ),
        (None, '{"m": 1}', "metrics.m: expected an object"),
        (None, '{"m": {"type": "max"}}', "metrics.m.type: 'max' is not one of count, longSum"),
        (None, '{"m": {"type": "longSum"}}', "metrics.m.field: required for type longSum"),
        (None, '{"m": {"type": "count", "field": "x"}}', "metrics.m: unknown key 'field'"),
        (None, '{"m": {"type": "longSum", "field": "x", "lgK": 12}}', "unknown key 'lgK'"),
        (None, '{"u": {"type": "hllSketch", "field": "u", "lgK": 30}}', "metrics.u.lgK: 30"),
        (None, '{"u": {"type": "hllSketch", "field": "u", "lgK": true}}', "metrics.u.lgK: True"),
        (
            None,
            '{"u": {"type": "hllSketch", "field": "u", "tgtHllType": "HLL_5"}}',
            "metrics.u.tgtHllType: 'HLL_5' is not one of",
        ),
        (
            None,
            '{"a": {"type": "longSum", "field": "x"}, "b": {"type": "doubleSum", "field": "x"}}',
            "metrics.b: x is summed both as longSum and as doubleSum",
        ),
    ],
)
def test_bad_settings_name_the_entry(dimensions, metrics, message):
    with pytest.raises(RollupSettingsError) as raised:
        RollupSchema.from_settings(dimensions, metrics or json.dumps(COUNT))

    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)
