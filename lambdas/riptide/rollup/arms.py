"""Experiment arms of events, for the derived `variant` dimension (Derivation.EXPERIMENT_ARMS).

Assignment is a hash of (experiment, shopper), so the rollup recomputes every shopper's arm
instead of trusting the event: an order counts towards the arm its shopper was put in, whether
or not the order's own event says so. The experiments come from a provider (the rules book in
the stack) once per batch; events of sites without experiments cost one dictionary miss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from riptide.decisions.assignment import Experiment, assign, variant_label

ExperimentsBySite = Mapping[str, Sequence[Experiment]]
ExperimentSource = Callable[[], ExperimentsBySite]
"""Gives every site's experiments as they stand now (e.g. RuleBook.experiments)."""

Labels = tuple[str, ...]


class ExperimentArms:
    """One snapshot of the experiments, and the arms of the shoppers seen so far.

    Made once per batch: the hash is then computed once per shopper and experiment however
    many of the shopper's events the batch holds.
    """

    def __init__(self, experiments: ExperimentsBySite) -> None:
        self.by_site: dict[str, tuple[Experiment, ...]] = {
            site: tuple(found) for site, found in experiments.items() if found
        }
        """Only sites with experiments: the hot path tests an event's site against it."""
        self._arms: dict[tuple[str, str], tuple[tuple[Experiment, str], ...]] = {}

    def labels(self, site: str, unit: str, at_ms: int) -> Labels | None:
        """Sorted "<experiment>/<variant>" of every experiment of `site` that attributes an
        event at `at_ms` (event time) to `unit`'s arm; None when there is none."""
        arms = self._arms.get((site, unit))
        if arms is None:
            labelled = [
                (experiment, variant_label(experiment.id, assign(experiment, unit)))
                for experiment in self.by_site[site]
            ]
            arms = self._arms[(site, unit)] = tuple(sorted(labelled, key=lambda arm: arm[1]))
        found = tuple(label for experiment, label in arms if experiment.attributes(at_ms))
        return found or None


NO_EXPERIMENTS = ExperimentArms({})
