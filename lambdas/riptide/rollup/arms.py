"""Experiment arms of events, for the derived `variant` dimension (Derivation.EXPERIMENT_ARMS).

Assignment is a hash of (experiment, shopper), so the rollup recomputes every shopper's arm
instead of trusting the event: an order counts towards the arm its shopper was put in, whether
or not the order's own event says so. The experiments come from a provider (the rules book in
the stack) once per batch; events of sites without experiments cost one dictionary miss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter

from riptide.decisions.assignment import HOLDOUT, Experiment, assign, variant_label

ExperimentsBySite = Mapping[str, Sequence[Experiment]]
ExperimentSource = Callable[[], ExperimentsBySite]
"""Gives every site's experiments as they stand now (e.g. RuleBook.experiments)."""

Labels = tuple[str, ...]


class ExperimentArms:
    """One snapshot of the experiments, and the arms of the shoppers seen so far.

    Made once per batch: the hash is then computed once per shopper and experiment however
    many of the shopper's events the batch holds, and an event inside every experiment's window
    (most are) takes its shopper's labels as they are.
    """

    def __init__(self, experiments: ExperimentsBySite) -> None:
        self.by_site: dict[str, tuple[Experiment, ...]] = {
            site: tuple(found) for site, found in experiments.items() if found
        }
        """Only sites with experiments: the hot path tests an event's site against it."""
        self._all_attribute = {site: _all_attribute(found) for site, found in self.by_site.items()}
        self._labels = {
            site: tuple(
                {
                    variant: variant_label(experiment.id, variant)
                    for variant in (HOLDOUT, *(arm.name for arm in experiment.arms))
                }
                for experiment in found
            )
            for site, found in self.by_site.items()
        }
        """Per site, each experiment's label of each variant, made once: rows of one arm share
        the very same strings."""
        self._shoppers: dict[tuple[str, str], tuple[Labels, tuple[tuple[Experiment, str], ...]]]
        self._shoppers = {}

    def labels(self, site: str, unit: str, event_time: float) -> Labels | None:
        """Sorted "<experiment>/<variant>" of every experiment of `site` that attributes an
        event at `event_time` (epoch seconds, compared to the millisecond) to `unit`'s arm;
        None when there is none."""
        shopper = self._shoppers.get((site, unit))
        if shopper is None:
            shopper = self._shoppers[(site, unit)] = self._assign(site, unit)
        every, arms = shopper
        start, end = self._all_attribute[site]
        if start <= event_time < end:
            return every
        at_ms = round(event_time * 1000)
        found = tuple(label for experiment, label in arms if experiment.attributes(at_ms))
        return found or None

    def _assign(self, site: str, unit: str) -> tuple[Labels, tuple[tuple[Experiment, str], ...]]:
        """The shopper's label in each experiment of the site, sorted by label."""
        arms = [
            (labels[assign(experiment, unit)], experiment)
            for experiment, labels in zip(self.by_site[site], self._labels[site], strict=True)
        ]
        arms.sort(key=itemgetter(0))
        return tuple(label for label, _ in arms), tuple((e, label) for label, e in arms)


_MARGIN_SECONDS = 0.002
"""Times this close to an experiment's start or end are compared in whole milliseconds."""


def _all_attribute(experiments: tuple[Experiment, ...]) -> tuple[float, float]:
    """A span of event times (epoch seconds) in which every experiment attributes events."""
    start = max(experiment.started_at_ms for experiment in experiments) / 1000
    ends = [e.ended_at_ms / 1000 for e in experiments if e.ended_at_ms is not None]
    return start + _MARGIN_SECONDS, min(ends, default=math.inf) - _MARGIN_SECONDS
