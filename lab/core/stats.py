"""Statistics for comparisons over model seeds (METHODS.md §6), computed by scipy.stats.

`summary(values)` is the mean with its 95% t-interval, mean ± t_{0.975, n−1}·s/√n;
`paired(a, b)` the mean of the differences a[i] − b[i] over matched seeds with the interval and
p-value of the paired t-test (`scipy.stats.ttest_rel`); `verdict` says it in words, and says
"no measurable difference" whenever the interval contains 0.

Example:
    >>> s = summary([97.1, 97.8, 96.9, 97.5, 97.3])
    >>> round(s.mean, 2), round(s.ci_low, 2), round(s.ci_high, 2)
    (97.32, 96.89, 97.75)
    >>> verdict(paired([97.1, 97.8, 96.9], [95.0, 95.9, 94.6]), "QCFS", "threshold balancing")
    'QCFS is higher than threshold balancing by 2.1 points (95% CI [1.6, 2.6], p = 0.003, n = 3)'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (ddof = 1), n and the 95% t-interval of the mean.

    With n = 1 the spread is unknown: `std`, `ci_low` and `ci_high` are NaN.
    """

    mean: float
    std: float
    n: int
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Paired:
    """The mean of a[i] − b[i] over matched seeds, its 95% t-interval and the two-sided p-value.

    With n = 1 the interval and p are NaN. When every difference is the same the interval is
    that one value and p is 1 if it is 0, else 0 (the t statistic's limit).
    """

    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int


def summary(values: Sequence[float], confidence: float = CONFIDENCE) -> Summary:
    """The mean of `values` with its t-interval (`scipy.stats.ttest_1samp`)."""
    x = _array(values, "values")
    mean = float(x.mean())
    if len(x) == 1:
        return Summary(mean, math.nan, 1, math.nan, math.nan)
    std = float(x.std(ddof=1))
    if np.ptp(x) == 0:  # scipy's moments lose precision on identical values; the interval is exact
        return Summary(mean, 0.0, len(x), mean, mean)
    low, high = stats.ttest_1samp(x, 0.0).confidence_interval(confidence)
    return Summary(mean, std, len(x), float(low), float(high))


def paired(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Paired:
    """a − b over matched seeds (a[i] and b[i] share seed i), by `scipy.stats.ttest_rel`."""
    x, y = _array(a, "a"), _array(b, "b")
    if len(x) != len(y):
        raise ValueError(f"paired values need one a and one b per seed, got {len(x)} and {len(y)}")
    diff = x - y
    mean = float(diff.mean())
    if len(diff) == 1:
        return Paired(mean, math.nan, math.nan, math.nan, 1)
    if np.ptp(diff) == 0:
        return Paired(mean, mean, mean, 1.0 if mean == 0 else 0.0, len(diff))
    test = stats.ttest_rel(x, y)
    low, high = test.confidence_interval(confidence)
    return Paired(mean, float(low), float(high), float(test.pvalue), len(diff))


def verdict(result: Paired, a: str = "a", b: str = "b", unit: str = "points") -> str:
    """One sentence: which is higher and by how much, or 'no measurable difference'."""
    if math.isnan(result.ci_low):
        return f"not enough seeds to compare {a} with {b} (n = {result.n}; at least 2 needed)"
    if result.ci_low <= 0 <= result.ci_high:
        return (f"no measurable difference between {a} and {b} (difference "
                f"{result.mean_diff:+.1f} {unit}, 95% CI [{result.ci_low:.1f}, "
                f"{result.ci_high:.1f}], n = {result.n})")
    higher, lower = (a, b) if result.mean_diff > 0 else (b, a)
    sign = 1 if result.mean_diff > 0 else -1  # the interval of higher − lower
    low, high = sorted((sign * result.ci_low, sign * result.ci_high))
    return (f"{higher} is higher than {lower} by {abs(result.mean_diff):.1f} {unit} "
            f"(95% CI [{low:.1f}, {high:.1f}], p = {result.p_value:.2g}, n = {result.n})")


def _array(values: Sequence[float], name: str) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty list of numbers, got {values!r}")
    return x
