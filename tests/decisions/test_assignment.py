"""Assignment by hash: the same experiment and shopper always give the same arm, and over many
shoppers each arm's share and the holdout's come out as the weights and holdout say."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from riptide.decisions.assignment import HOLDOUT, Arm, Experiment, ExperimentStatus, assign

UNITS = 20_000
SIGMAS = 5.0
"""Tolerance of an observed share, in binomial standard deviations: hashes behave as uniform
draws, so a share outside it means the split is wrong, not unlucky."""

experiments = st.builds(
    Experiment,
    id=st.text(min_size=1, max_size=20),
    placement=st.just("home-hero"),
    arms=st.lists(st.integers(1, 10), min_size=2, max_size=4).map(
        lambda weights: tuple(Arm(f"arm-{n}", weight) for n, weight in enumerate(weights))
    ),
    holdout=st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.5]),
)


@given(experiments, st.text(min_size=1), st.sampled_from(list(ExperimentStatus)))
def test_the_same_experiment_and_shopper_give_the_same_arm(
    experiment: Experiment, unit: str, status: ExperimentStatus
) -> None:
    variant = assign(experiment, unit)

    rebuilt = Experiment(
        experiment.id, "elsewhere", experiment.arms, experiment.holdout, status, started_at_ms=9
    )
    assert assign(rebuilt, unit) == variant == assign(experiment, unit)
    names = [arm.name for arm in experiment.arms]
    assert variant in names or (variant == HOLDOUT and experiment.holdout > 0)


def _near(observed: int, expected_share: float) -> bool:
    spread = SIGMAS * math.sqrt(expected_share * (1 - expected_share) / UNITS)
    return abs(observed / UNITS - expected_share) <= spread + 1 / UNITS


@settings(max_examples=25)
@given(experiments)
def test_shares_over_many_shoppers_follow_the_weights_and_the_holdout(
    experiment: Experiment,
) -> None:
    seen = Counter(assign(experiment, f"anon-{n}") for n in range(UNITS))

    total = sum(arm.weight for arm in experiment.arms)
    for arm in experiment.arms:
        expected = (1 - experiment.holdout) * arm.weight / total
        assert _near(seen[arm.name], expected), (arm.name, seen, expected)
    assert _near(seen[HOLDOUT], experiment.holdout), (seen, experiment.holdout)
