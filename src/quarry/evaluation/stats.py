"""Uncertainty for retrieval scores: bootstrap confidence intervals and a paired significance test.

Methods (all seeded, so the same inputs always give the same numbers):

* :func:`bootstrap_ci` — percentile bootstrap of the mean: draw ``resamples`` (10,000) samples of
  the ``n`` per-query scores with replacement, take each sample's mean, and report the 2.5th and
  97.5th percentiles of those means as the 95% interval (Efron & Tibshirani, 1993).
* :func:`paired_test` — for two systems scored on the same queries, the per-query differences
  ``d = b - a``. The mean difference gets a percentile-bootstrap CI as above. The two-sided
  p-value comes from a paired randomization test (sign-flip permutation test; Smucker, Allan &
  Carterette, CIKM 2007): under the null hypothesis that the systems are exchangeable, each
  ``d_i`` is equally likely to have either sign, so we flip signs at random ``permutations``
  (10,000) times and count how often ``|mean(±d)| ≥ |mean(d)|``. The estimate is
  ``(1 + count) / (1 + permutations)`` (never 0; Phipson & Smyth, 2010). When ``2**n`` is no more
  than ``permutations`` all sign patterns are enumerated and the p-value is exact.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from quarry.errors import ConfigError

__all__ = ["ConfidenceInterval", "PairedTest", "bootstrap_ci", "paired_test"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

RESAMPLES = 10_000
PERMUTATIONS = 10_000
SEED = 0
_BATCH = 1 << 22  # draw about this many indices at a time, to bound memory on large query sets
_TOLERANCE = 1e-12  # permuted statistics this close to the observed one count as "as extreme"


@dataclass(frozen=True, slots=True)
class ConfidenceInterval:
    """A mean and its ``level`` (e.g. 0.95) confidence interval ``[low, high]``."""

    mean: float
    low: float
    high: float
    level: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "level": self.level}


@dataclass(frozen=True, slots=True)
class PairedTest:
    """``b`` versus ``a`` on the same ``n`` queries: the mean of ``b - a`` with its CI, and p."""

    difference: ConfidenceInterval
    p_value: float
    n: int

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def _as_vector(values: ArrayLike, what: str) -> FloatArray:
    vector = np.asarray(values, dtype=np.float64).ravel()
    if vector.size == 0:
        raise ConfigError(f"cannot compute {what} of no values", key="values", hint="evaluate at least one query")
    if not np.all(np.isfinite(vector)):
        raise ConfigError(f"cannot compute {what} of non-finite values", key="values")
    return vector


def _bootstrap_means(values: FloatArray, resamples: int, rng: np.random.Generator) -> FloatArray:
    n = values.size
    batch = max(1, _BATCH // n)
    means = np.empty(resamples, dtype=np.float64)
    for start in range(0, resamples, batch):
        stop = min(start + batch, resamples)
        indices = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[indices].mean(axis=1)
    return means


def bootstrap_ci(
    values: ArrayLike, *, level: float = 0.95, resamples: int = RESAMPLES, seed: int = SEED
) -> ConfidenceInterval:
    """The mean of ``values`` with its percentile-bootstrap confidence interval."""
    if not 0 < level < 1:
        raise ConfigError(f"confidence level must be in (0, 1), got {level}", key="level")
    if resamples < 1:
        raise ConfigError(f"resamples must be at least 1, got {resamples}", key="resamples")
    vector = _as_vector(values, "a confidence interval")
    mean = float(vector.mean())
    means = _bootstrap_means(vector, resamples, np.random.default_rng(seed))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    # The interval always holds the sample mean (it may not when every resample ties).
    return ConfidenceInterval(mean=mean, low=min(float(low), mean), high=max(float(high), mean), level=level)


def _exact_sign_flip(diffs: FloatArray, observed: float) -> float:
    patterns = np.array(list(itertools.product((1.0, -1.0), repeat=diffs.size)), dtype=np.float64)
    stats = np.abs(patterns @ diffs) / diffs.size
    return float(np.mean(stats >= observed - _TOLERANCE))


def _sampled_sign_flip(diffs: FloatArray, observed: float, permutations: int, rng: np.random.Generator) -> float:
    n = diffs.size
    batch = max(1, _BATCH // n)
    extreme = 0
    for start in range(0, permutations, batch):
        count = min(batch, permutations - start)
        signs = rng.integers(0, 2, size=(count, n)) * 2.0 - 1.0
        stats = np.abs(signs @ diffs) / n
        extreme += int(np.count_nonzero(stats >= observed - _TOLERANCE))
    return (1 + extreme) / (1 + permutations)


def paired_test(
    a: ArrayLike,
    b: ArrayLike,
    *,
    level: float = 0.95,
    resamples: int = RESAMPLES,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> PairedTest:
    """Compare per-query scores ``b`` against ``a`` (aligned: same queries, same order)."""
    first = _as_vector(a, "a paired test")
    second = _as_vector(b, "a paired test")
    if first.shape != second.shape:
        raise ConfigError(
            f"paired scores must cover the same queries, got {first.size} and {second.size}",
            key="values",
        )
    if permutations < 1:
        raise ConfigError(f"permutations must be at least 1, got {permutations}", key="permutations")
    diffs = second - first
    difference = bootstrap_ci(diffs, level=level, resamples=resamples, seed=seed)
    observed = abs(float(diffs.mean()))
    if 2**diffs.size <= permutations:
        p_value = _exact_sign_flip(diffs, observed)
    else:
        p_value = _sampled_sign_flip(diffs, observed, permutations, np.random.default_rng(seed + 1))
    return PairedTest(difference=difference, p_value=min(1.0, p_value), n=int(diffs.size))
