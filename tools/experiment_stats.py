"""The difference of an arm's conversion to control's, with a 95% confidence interval.

Why a two-proportion normal interval is valid here: the unit is the shopper, not the event.
Each shopper's arm is a hash of (experiment, shopper), independent of anything they do, so the
arms are independent random samples, and each exposed shopper either buys or does not: one
Bernoulli trial per shopper (hence unique buyers over unique exposed users, never orders over
exposures, whose repeats from one shopper are not independent). With a few dozen buyers and
non-buyers in each arm, the difference of the two sample proportions is close to normal, with
variance p1(1-p1)/n1 + p0(1-p0)/n0 (Wald, unpooled: the interval is about the difference, not
a test of "no difference").

What the HLL estimate adds: users and buyers are not counts but estimates from the rollups'
HLL sketches, each with a relative standard error e (about 1.6% at lgK 12, as merged by
Druid; exact while a sketch holds few values, so e is an upper bound). A ratio of two such
estimates is off by about e * sqrt(2) relatively, independently of the sampling, so each arm
adds 2 e^2 p^2 to the variance. At a few thousand shoppers per arm that widens the interval
by a tenth or so; at hundreds of thousands it dominates, and only a larger lgK narrows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from datasketches import hll_sketch

CONFIDENCE = 0.95
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
"""1.96: the normal quantile of a two-sided 95% interval."""


def sketch_relative_error(lg_k: int) -> float:
    """One standard error, relative, of a unique count from HLL sketches merged by Druid."""
    return max(abs(hll_sketch.get_rel_err(upper, True, lg_k, 1)) for upper in (True, False))


@dataclass(frozen=True, slots=True)
class Difference:
    """An arm's figure minus control's, with its 95% confidence interval."""

    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def conversion_difference(
    buyers: float,
    users: float,
    control_buyers: float,
    control_users: float,
    relative_error: float,
) -> Difference | None:
    """buyers/users minus control_buyers/control_users, with the interval of the module's
    docstring; None when an arm has no users. A proportion above 1 (more buyers than exposed
    users: shoppers who bought without being exposed) counts as 1 in the variance."""
    if users <= 0 or control_users <= 0:
        return None
    arm, control = buyers / users, control_buyers / control_users
    variance = _variance(arm, users, relative_error) + _variance(
        control, control_users, relative_error
    )
    half_width = Z * math.sqrt(variance)
    estimate = arm - control
    return Difference(estimate, estimate - half_width, estimate + half_width)


def _variance(proportion: float, users: float, relative_error: float) -> float:
    bounded = min(proportion, 1.0)
    sampling = bounded * (1 - bounded) / users
    sketch = 2 * (relative_error * proportion) ** 2
    return sampling + sketch
