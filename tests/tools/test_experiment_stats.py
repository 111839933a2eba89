"""The conversion difference and its interval on fixed inputs, against figures worked by hand."""

import pytest

from tools.experiment_stats import Difference, Z, conversion_difference, sketch_relative_error


def test_z_is_the_two_sided_95_percent_quantile():
    assert round(Z, 6) == 1.959964


def test_exact_counts_give_the_two_proportion_normal_interval():
    # p1 = 150/1000 = 0.15, p0 = 100/1000 = 0.10, difference 0.05
    # variance = 0.15 * 0.85 / 1000 + 0.10 * 0.90 / 1000 = 0.0001275 + 0.00009 = 0.0002175
    # standard error = 0.0147479, half width = 1.959964 * 0.0147479 = 0.0289053
    found = conversion_difference(150, 1000, 100, 1000, relative_error=0.0)

    assert found.estimate == pytest.approx(0.05)
    assert found.low == pytest.approx(0.05 - 0.0289053, abs=1e-6)
    assert found.high == pytest.approx(0.05 + 0.0289053, abs=1e-6)
    assert found.excludes_zero


def test_sketch_error_widens_the_interval():
    # plus 2 * 0.016^2 * (0.15^2 + 0.10^2) = 0.000512 * 0.0325 = 0.00001664
    # variance 0.00023414, standard error 0.0153016, half width 0.0299907
    found = conversion_difference(150, 1000, 100, 1000, relative_error=0.016)

    assert found.high - found.estimate == pytest.approx(0.0299907, abs=1e-6)
    assert found.estimate - found.low == pytest.approx(0.0299907, abs=1e-6)


def test_a_small_difference_on_few_users_includes_zero():
    # p1 = 12/100, p0 = 10/100: variance 0.12 * 0.88 / 100 + 0.1 * 0.9 / 100 = 0.001956,
    # half width 1.959964 * 0.0442267 = 0.0866828
    found = conversion_difference(12, 100, 10, 100, relative_error=0.0)

    assert (found.low, found.high) == pytest.approx((0.02 - 0.0866827, 0.02 + 0.0866827), abs=1e-6)
    assert not found.excludes_zero


def test_a_lower_arm_has_an_interval_below_zero():
    found = conversion_difference(100, 1000, 150, 1000, relative_error=0.0)

    assert found.high == pytest.approx(-0.05 + 0.0289053, abs=1e-6)
    assert found.excludes_zero and found.high < 0


def test_an_arm_without_users_has_no_difference():
    assert conversion_difference(0, 0, 10, 100, relative_error=0.0) is None
    assert conversion_difference(3, 10, 0, 0, relative_error=0.0) is None


def test_more_buyers_than_exposed_users_count_as_all_in_the_sampling_variance():
    # p1 = 12/10 = 1.2 is bounded to 1 in p(1 - p): only control's 0.1 * 0.9 / 100 remains
    found = conversion_difference(12, 10, 10, 100, relative_error=0.0)

    assert found.estimate == pytest.approx(1.1)
    assert found.high - found.estimate == pytest.approx(1.959964 * 0.03, abs=1e-6)


def test_lgk_12_sketches_merged_by_druid_are_within_about_1_6_percent():
    assert sketch_relative_error(12) == pytest.approx(0.0162, abs=0.0002)
    assert sketch_relative_error(14) == pytest.approx(sketch_relative_error(12) / 2, rel=0.01)


def test_a_difference_touching_zero_does_not_exclude_it():
    assert not Difference(0.01, 0.0, 0.02).excludes_zero
    assert Difference(0.01, 0.001, 0.02).excludes_zero
