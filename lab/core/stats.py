"""Statistics for comparisons over model seeds, computed by scipy.stats.

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

Asserting a claim (a notebook cell, a test, `benchmarks/claims.py`) is one rule, written here:
the assert fails by chance at a rate chosen in advance, `ASSERT_ALPHA` for the whole family of
comparisons a sentence makes, never one discovered afterwards. k separate 95% intervals that
must all cover 0 hold together only 0.95^k of the time (six: 74%), so

- `no_difference(diffs)`: "no measurable difference" over k comparisons, tested jointly: every
  difference's (1 − α/k) interval covers 0 (Bonferroni). If every true difference is 0, it
  fails with probability ≤ α.
- `equivalent(diffs, margin)`: "within ±margin", two one-sided tests per comparison with the
  family's α split over them: every (1 − 2α/k) interval lies inside (−margin, +margin).
- `exceeds(diff, margin)`: "a is higher than b by more than margin": the one-sided lower bound
  at 1 − α/k is above margin (k: how many such claims the sentence makes).
- `below(values, bound)` / `above(values, bound)`: a mean over seeds is below / above a bound,
  by the one-sided (1 − α/k) bound of its t-interval.

Each returns a `Claim` (`holds`, and the numbers it rests on in words); `check(claim)` asserts it.
Under `benchmarks/claims.py` (the environment variable `LAB_CLAIMS_LOG` names a file), `check`
records the claim there instead of raising, so one run reports every claim of a notebook.

    >>> d = [paired([97.1, 97.8, 96.9], [97.0, 97.9, 96.7]), paired([90.1, 91.0], [90.3, 90.9])]
    >>> no_difference(d).holds, equivalent(d, margin=5.0).holds
    (True, False)
    >>> exceeds(paired([97.1, 97.8, 96.9, 97.5], [95.0, 95.9, 94.6, 95.1]), margin=1.0).holds
    True
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ASSERT_ALPHA = 0.01  # the chance an asserted claim fails when its premise holds (whole family)
CLAIMS_LOG = "LAB_CLAIMS_LOG"  # benchmarks/claims.py: record claims in this file, do not raise


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


@dataclass(frozen=True)
class Claim:
    """A sentence about measured numbers, whether the intervals support it, and why."""

    text: str
    holds: bool
    detail: str

    def __bool__(self) -> bool:
        return self.holds


def _bound(result: Paired, confidence: float, side: str) -> float:
    """The one-sided `confidence` bound of a paired mean difference (its t-interval rescaled)."""
    if result.n < 2 or math.isnan(result.ci_low):
        return math.nan
    half = (result.ci_high - result.ci_low) / 2
    se = half / stats.t.ppf(0.5 + CONFIDENCE / 2, result.n - 1)
    t = stats.t.ppf(confidence, result.n - 1)
    return result.mean_diff - t * se if side == "low" else result.mean_diff + t * se


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, float | int) and 0 < alpha < 0.5):
        raise ValueError(f"alpha must be a number in (0, 0.5), got {alpha!r}")


def _family(diffs: Paired | Sequence[Paired]) -> list[Paired]:
    found = [diffs] if isinstance(diffs, Paired) else list(diffs)
    if not found or not all(isinstance(d, Paired) for d in found):
        raise ValueError("claims are made about one or more `Paired` differences")
    return found


def _interval(d: Paired, low: float, high: float, unit: str) -> str:
    return f"{d.mean_diff:+.2f} {unit} [{low:+.2f}, {high:+.2f}] (n = {d.n})"


def no_difference(diffs: Paired | Sequence[Paired], text: str = "no measurable difference",
                  alpha: float = ASSERT_ALPHA, unit: str = "points") -> Claim:
    """Every difference's (1 − α/k) interval covers 0: a joint "no measurable difference" that
    fails with probability ≤ α when every true difference is 0 (Bonferroni over k)."""
    _check_alpha(alpha)
    family = _family(diffs)
    one_sided = 1 - alpha / (2 * len(family))
    parts, holds = [], True
    for d in family:
        low, high = _bound(d, one_sided, "low"), _bound(d, one_sided, "high")
        holds &= bool(low <= 0 <= high)
        parts.append(_interval(d, low, high, unit))
    level = 100 * (1 - alpha / len(family))
    return Claim(text, holds, f"{level:.4g}% intervals (k = {len(family)}): " + "; ".join(parts))


def equivalent(diffs: Paired | Sequence[Paired], margin: float, text: str = "",
               alpha: float = ASSERT_ALPHA, unit: str = "points") -> Claim:
    """Every difference lies within ±margin by two one-sided tests at α/k each: its (1 − 2α/k)
    interval lies inside (−margin, margin)."""
    _check_alpha(alpha)
    if not (math.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be a finite number > 0, got {margin!r}")
    family = _family(diffs)
    one_sided = 1 - alpha / len(family)
    parts, holds = [], True
    for d in family:
        low, high = _bound(d, one_sided, "low"), _bound(d, one_sided, "high")
        holds &= bool(-margin < low and high < margin)
        parts.append(_interval(d, low, high, unit))
    return Claim(text or f"equivalent within ±{margin:g} {unit}", holds,
                 f"{100 * (1 - 2 * alpha / len(family)):.4g}% intervals inside ±{margin:g}: "
                 + "; ".join(parts))


def exceeds(diff: Paired, margin: float = 0.0, text: str = "", alpha: float = ASSERT_ALPHA,
            family: int = 1, unit: str = "points") -> Claim:
    """a − b > margin: the one-sided lower bound at 1 − α/family is above `margin`."""
    _check_alpha(alpha)
    if not math.isfinite(margin):
        raise ValueError(f"margin must be finite, got {margin!r}")
    (d,) = _family(diff)
    low = _bound(d, 1 - alpha / family, "low")
    return Claim(text or f"higher by more than {margin:g} {unit}", bool(low > margin),
                 f"difference {d.mean_diff:+.2f} {unit}, one-sided "
                 f"{100 * (1 - alpha / family):.4g}% lower bound {low:+.2f} vs {margin:+g} "
                 f"(n = {d.n})")


def below(values: Sequence[float], bound: float, text: str = "", alpha: float = ASSERT_ALPHA,
          family: int = 1) -> Claim:
    """mean(values) < bound: the one-sided upper bound at 1 − α/family is below `bound`."""
    return _one_sample(values, bound, text, alpha, family, "high")


def above(values: Sequence[float], bound: float, text: str = "", alpha: float = ASSERT_ALPHA,
          family: int = 1) -> Claim:
    """mean(values) > bound: the one-sided lower bound at 1 − α/family is above `bound`."""
    return _one_sample(values, bound, text, alpha, family, "low")


def _one_sample(values, bound, text, alpha, family, side) -> Claim:
    _check_alpha(alpha)
    x = _array(values, "values")
    d = paired(x, np.zeros_like(x))
    limit = _bound(d, 1 - alpha / family, side) if np.ptp(x) else float(x.mean())
    holds = limit < bound if side == "high" else limit > bound
    word = "upper" if side == "high" else "lower"
    return Claim(text or f"mean {'below' if side == 'high' else 'above'} {bound:g}",
                 bool(holds), f"mean {d.mean_diff:.2f}, one-sided {100 * (1 - alpha / family):.4g}%"
                 f" {word} bound {limit:.2f} vs {bound:g} (n = {d.n})")


def check(claim: Claim | bool, text: str = "") -> Claim:
    """Assert `claim` (a `Claim`, or a bool for an exact fact with its `text`).

    With `LAB_CLAIMS_LOG` set, the claim is appended to that file as one JSON line instead,
    and nothing is raised (`benchmarks/claims.py` re-runs notebooks over shifted seeds)."""
    if not isinstance(claim, Claim):
        claim = Claim(text or "exact check", bool(claim), "")
    log = os.environ.get(CLAIMS_LOG)
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"text": claim.text, "holds": claim.holds,
                                "detail": claim.detail}) + "\n")
        return claim
    if not claim.holds:
        raise AssertionError(f"claim does not hold: {claim.text} ({claim.detail})")
    return claim


def half_widths(values: np.ndarray, confidence: float = CONFIDENCE) -> np.ndarray:
    """The half-width of `summary`'s t-interval for each column of `values` `[n, k]` (one row
    per seed) at once: t_{(1+c)/2, n−1}·s/√n, for the k steps of a curve in one call.

    NaN for every column when n = 1 (as `summary`), 0 for a column of identical values.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"values must be a [seeds, columns] array, got shape {x.shape}")
    n = x.shape[0]
    if n < 2:
        return np.full(x.shape[1], math.nan)
    t = stats.t.ppf(0.5 + confidence / 2, n - 1)
    out = t * x.std(0, ddof=1) / math.sqrt(n)
    out[np.ptp(x, 0) == 0] = 0.0
    return out
