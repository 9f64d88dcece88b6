"""Bootstrap CIs and the paired randomization test: properties, reproducibility, and scipy as a check."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from quarry.errors import ConfigError
from quarry.evaluation import bootstrap_ci, paired_test


def scores(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, n)


def test_ci_contains_the_mean_and_is_reproducible() -> None:
    values = scores(300)
    ci = bootstrap_ci(values)
    assert ci.mean == pytest.approx(values.mean())
    assert ci.low < ci.mean < ci.high
    assert ci.level == 0.95
    assert bootstrap_ci(values) == ci
    assert bootstrap_ci(values, seed=1) != ci


def test_ci_narrows_with_more_queries() -> None:
    small, large = bootstrap_ci(scores(30)), bootstrap_ci(scores(3000))
    assert large.half_width < small.half_width / 5  # ~ 1 / sqrt(n): sqrt(100) = 10
    assert bootstrap_ci(scores(300), level=0.99).half_width > bootstrap_ci(scores(300), level=0.9).half_width


def test_ci_agrees_with_scipy_percentile_bootstrap() -> None:
    values = scores(200, seed=3)
    ours = bootstrap_ci(values)
    theirs = scipy_stats.bootstrap(
        (values,), np.mean, n_resamples=10_000, method="percentile", random_state=np.random.default_rng(9)
    ).confidence_interval
    assert ours.low == pytest.approx(theirs.low, abs=0.005)
    assert ours.high == pytest.approx(theirs.high, abs=0.005)


def test_ci_of_constant_or_single_values_is_a_point() -> None:
    assert bootstrap_ci([0.5] * 10).half_width == 0.0
    single = bootstrap_ci([0.25])
    assert (single.low, single.mean, single.high) == (0.25, 0.25, 0.25)


def test_identical_systems_have_p_one_and_no_difference() -> None:
    values = scores(300)
    result = paired_test(values, values.copy())
    assert result.p_value == 1.0
    assert result.difference.mean == 0.0
    assert result.difference.low == result.difference.high == 0.0
    assert not result.significant()
    assert result.n == 300


def test_a_clearly_better_system_is_significant() -> None:
    a = scores(100)
    b = np.clip(a + 0.08 + np.random.default_rng(2).normal(0, 0.05, 100), 0, 1)
    result = paired_test(a, b)
    assert result.p_value < 0.01
    assert 0 < result.difference.low < result.difference.mean < result.difference.high
    assert paired_test(b, a).difference.mean == pytest.approx(-result.difference.mean)


def test_noise_is_not_significant_and_the_test_is_reproducible() -> None:
    a = scores(200)
    b = a + np.random.default_rng(5).normal(0, 0.1, 200)
    result = paired_test(a, b)
    assert result.p_value > 0.05
    assert result.difference.low < 0 < result.difference.high
    assert paired_test(a, b) == result


def test_p_value_agrees_with_scipy_permutation_test() -> None:
    rng = np.random.default_rng(11)
    a = rng.uniform(0, 1, 40)
    b = a + rng.normal(0.05, 0.15, 40)
    ours = paired_test(a, b).p_value
    theirs = scipy_stats.permutation_test(
        (b - a,),
        np.mean,
        permutation_type="samples",
        n_resamples=10_000,
        alternative="two-sided",
        random_state=np.random.default_rng(4),
    ).pvalue
    assert 0.001 < ours < 0.5
    assert ours == pytest.approx(theirs, abs=0.015)


def test_small_sets_enumerate_every_sign_pattern() -> None:
    # d = (1, 1, 1): only all-plus and all-minus reach |mean| = 1, so p = 2 / 8 exactly.
    assert paired_test([0, 0, 0], [1, 1, 1]).p_value == 0.25
    assert paired_test([0.0] * 13, [1.0] * 13).p_value == pytest.approx(2 / 2**13)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [([], [], "no values"), ([1.0, 2.0], [1.0], "same queries"), ([np.nan], [1.0], "non-finite")],
)
def test_bad_inputs_are_config_errors(a: list[float], b: list[float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        paired_test(a, b)


def test_bad_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="level"):
        bootstrap_ci([1.0], level=1.5)
    with pytest.raises(ConfigError, match="resamples"):
        bootstrap_ci([1.0], resamples=0)
    with pytest.raises(ConfigError, match="permutations"):
        paired_test([1.0], [2.0], permutations=0)
