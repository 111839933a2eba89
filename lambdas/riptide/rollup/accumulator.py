"""The per-minute rollup: events in, one row per minute and dimension values out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from riptide.rollup import state as state_codec
from riptide.rollup.arms import ExperimentArms
from riptide.rollup.exceptions import LateEventError, UnrollableEventError
from riptide.rollup.layout import layout_for
from riptide.rollup.schema import RollupSchema
from riptide.rollup.time_policy import FUTURE_CLAMPED, LATE_ACCEPTED, TimePolicy

Key = tuple[int, tuple[Any, ...]]
"""(minute, dimension values): text or None, and for a multi-value dimension a sorted tuple."""

MINUTES_PER_DAY = 1440
SECONDS_PER_DAY = 86_400
LATE_MINUTES_KEY = "lateMinutes"

INVALID = "invalid"
LATE_REJECTED = "late_rejected"
COUNTER_NAMES = (INVALID, LATE_REJECTED, LATE_ACCEPTED, FUTURE_CLAMPED)

_ndjson = msgspec.json.Encoder()


class Rollup:
    """Counts, sums and HLL sketches per (minute, dimension values) for one schema.

    Adding is all-or-nothing per event: every check runs before a row changes, so a rejected
    event leaves no trace but its counter.

    A minute is late when it holds an event received on a later UTC day than the event's own,
    more than DELAYED_AFTER_SECONDS after it: that day may already be compacted into one
    segment, so its rows are delivered apart (see `split_late`).
    """

    def __init__(
        self,
        schema: RollupSchema,
        time_policy: TimePolicy,
        arms: ExperimentArms | None = None,
    ) -> None:
        """`arms`: the experiments the derived `variant` dimension attributes events to; without
        them (or without such a dimension) it stays empty."""
        self.schema = schema
        self.time_policy = time_policy
        self._layout = layout_for(schema)
        inputs = self._layout.derivation_inputs
        self._arms = arms if arms and arms.by_site and inputs else None
        self._arm_inputs = inputs or (0, 0, 0)
        self._rows: dict[Key, list[Any]] = {}
        self._counters = dict.fromkeys(COUNTER_NAMES, 0)
        self._late_minutes: set[int] = set()
        self._quiet_ages = tuple(timedelta(seconds=age) for age in time_policy.quiet_ages)
        self._state: dict[str, Any] | None = None
        """The last `to_state`, kept until the rollup changes, so state_size costs one encode."""

    def add(self, payload: bytes, arrived_at: float | None = None) -> None:
        """Roll one JSON event up.

        `arrived_at` (epoch seconds, e.g. Kinesis' approximate arrival time) stands in for
        receivedAt when an event lacks it. Raises UnrollableEventError naming the field, or
        LateEventError when the time policy quarantines the event.
        """
        layout = self._layout
        self._state = None
        try:
            event = layout.decoder.decode(payload)
            timestamp = event.timestamp
            received_at = event.receivedAt
            if (
                timestamp is None
                or received_at is None
                or not (timestamp.tzinfo and received_at.tzinfo)
            ):
                event_time = self._event_time(timestamp, received_at, arrived_at)
            else:
                lowest, highest = self._quiet_ages
                if lowest <= received_at - timestamp <= highest:
                    event_time = timestamp.timestamp()
                else:
                    event_time = self._event_time(timestamp, received_at, arrived_at)
            minute = int(event_time // 60)
        except UnrollableEventError as error:
            self._counters[LATE_REJECTED if type(error) is LateEventError else INVALID] += 1
            raise
        values = layout.read(event)
        raw = values[: layout.dimension_inputs]
        dimensions = layout.dimensions_by_raw.get(raw)
        if dimensions is None:
            dimensions = layout.resolve_dimensions(raw)
        arms = self._arms
        if arms is not None:
            dimensions = self._with_arms(arms, dimensions, values, event_time)
        key = (minute, dimensions)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = layout.new_row()
        row[0] += 1
        layout.add_metrics(row, values)

    def _with_arms(
        self,
        arms: ExperimentArms,
        dimensions: tuple[Any, ...],
        values: tuple[Any, ...],
        event_time: float,
    ) -> tuple[Any, ...]:
        """The dimensions with the derived one (the last) set to the event's experiment arms."""
        site_at, anonymous_at, user_at = self._arm_inputs
        site = values[site_at]
        if site not in arms.by_site:
            return dimensions
        unit = values[anonymous_at] or values[user_at]  # assignment_unit, inlined
        if not unit:
            return dimensions
        labels = arms.labels(site, unit, event_time)
        return dimensions if labels is None else (*dimensions[:-1], labels)

    def _event_time(self, timestamp: Any, received_at: Any, arrived_at: float | None) -> float:
        """The event's time under the time policy (`add` inlines the common on-time case)."""
        if timestamp is None:
            raise UnrollableEventError("timestamp: missing")
        if received_at is not None:
            received_time = _epoch_seconds(received_at)
        elif arrived_at is not None:
            received_time = arrived_at
        else:
            raise UnrollableEventError(
                "receivedAt: missing, and no arrival time to stand in for it"
            )
        event_time, counter = self.time_policy.place(_epoch_seconds(timestamp), received_time)
        if counter is not None:
            self._counters[counter] += 1
        received_later_day = event_time // SECONDS_PER_DAY < received_time // SECONDS_PER_DAY
        if counter == LATE_ACCEPTED and received_later_day:
            self._late_minutes.add(int(event_time // 60))
        return event_time

    def merge(self, other: Rollup) -> None:
        """Fold another rollup of the same schema into this one; `other` is left as it was."""
        if other.schema != self.schema:
            raise ValueError("cannot merge rollups of different schemas")
        self._state = None
        codecs = self._layout.sketch_codecs
        first_sketch = self._layout.first_sketch_slot
        for key, theirs in other._rows.items():
            mine = self._rows.get(key)
            if mine is None:
                self._rows[key] = [
                    *theirs[:first_sketch],
                    *(
                        codec.copy(s)
                        for codec, s in zip(codecs, theirs[first_sketch:], strict=True)
                    ),
                ]
                continue
            for slot in range(first_sketch):
                mine[slot] += theirs[slot]
            for slot, codec in enumerate(codecs, start=first_sketch):
                mine[slot] = codec.merged(mine[slot], theirs[slot])
        for name, count in other._counters.items():
            self._counters[name] += count
        self._late_minutes |= other._late_minutes

    @property
    def event_count(self) -> int:
        """Events rolled up (rejected events excluded)."""
        return sum(row[0] for row in self._rows.values())

    @property
    def counters(self) -> dict[str, int]:
        """accepted, invalid, late_rejected, late_accepted, future_clamped: for metrics."""
        return {"accepted": self.event_count, **self._counters}

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self) -> list[dict[str, Any]]:
        """Druid input rows: ts (minute, ISO-8601 UTC), the dimensions, then the metrics."""
        return msgspec.to_builtins(self._output_rows())

    def to_ndjson(self) -> bytes:
        """The rows as newline-delimited JSON, for Druid's inline input source."""
        return _ndjson.encode_lines(self._output_rows())

    def _output_rows(self) -> list[msgspec.Struct]:
        layout = self._layout
        output_row = layout.output_row
        minute_text: dict[int, str] = {}
        out = []
        for (minute, dimensions), row in self._rows.items():
            ts = minute_text.get(minute)
            if ts is None:
                ts = minute_text[minute] = minute_iso(minute)
            out.append(output_row(ts, dimensions, row))
        return out

    def intervals(self, bucket_minutes: int = 1) -> list[str]:
        """ISO-8601 intervals covering every row's bucket of `bucket_minutes` (a minute, or a
        day for whole-day intervals), contiguous buckets joined."""
        buckets = sorted({minute // bucket_minutes for minute, _ in self._rows})
        if not buckets:
            return []

        def iso(bucket: int) -> str:
            return minute_iso(bucket * bucket_minutes)

        intervals = []
        start = previous = buckets[0]
        for bucket in buckets[1:]:
            if bucket != previous + 1:
                intervals.append(f"{iso(start)}/{iso(previous + 1)}")
                start = bucket
            previous = bucket
        intervals.append(f"{iso(start)}/{iso(previous + 1)}")
        return intervals

    def split_late(self) -> tuple[Rollup, Rollup]:
        """(on-time rows, late rows): the rows of late minutes apart, so the late ones can go in
        a task that locks whole days while the on-time ones never wait on or fail with it.
        Counters stay with this rollup."""
        on_time, late = Rollup(self.schema, self.time_policy), Rollup(self.schema, self.time_policy)
        for key, row in self._rows.items():
            (late if key[0] in self._late_minutes else on_time)._rows[key] = row
        late._late_minutes = set(self._late_minutes)
        return on_time, late

    def to_state(self) -> dict[str, Any]:
        """A compact JSON-safe form for the tumbling-window state (see riptide.rollup.state)."""
        if self._state is None:
            self._state = state_codec.encode(self._layout, self._rows, self._counters)
            if self._late_minutes:
                self._state[LATE_MINUTES_KEY] = sorted(self._late_minutes)
        return self._state

    @classmethod
    def from_state(
        cls,
        schema: RollupSchema,
        time_policy: TimePolicy,
        state: dict[str, Any],
        arms: ExperimentArms | None = None,
    ) -> Rollup:
        """Rebuild a rollup from `to_state`; ValueError if the state does not fit the schema.

        Rows keep the arms they were given; `arms` attribute the events added from now on."""
        rollup = cls(schema, time_policy, arms)
        rollup._rows, counters = state_codec.decode(rollup._layout, state)
        for name in COUNTER_NAMES:
            rollup._counters[name] = counters.get(name, 0)
        late_minutes = state.get(LATE_MINUTES_KEY, [])
        if not isinstance(late_minutes, list) or not all(type(m) is int for m in late_minutes):
            raise ValueError(f"state {LATE_MINUTES_KEY} must be a list of whole minutes")
        rollup._late_minutes = set(late_minutes)
        return rollup

    def state_size(self) -> int:
        """Bytes of json.dumps(to_state()), exactly; the encoding is kept for to_state."""
        return len(json.dumps(self.to_state()))


def minute_iso(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:00Z")


def _epoch_seconds(moment: datetime) -> float:
    """Seconds since the epoch; a timestamp without offset is UTC (never the machine's zone)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
