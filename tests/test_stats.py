"""Seed statistics against scipy.stats and against a hand-worked example."""

import doctest
import json
import math

import numpy as np
import pytest
from scipy import stats as sp

from lab.core import stats
from lab.core.stats import paired, summary, verdict

# For 2 degrees of freedom Student's t has a closed form, F(t) = 1/2 + t / (2·√(t² + 2)):
# the 97.5% quantile solves q / √(q² + 2) = 0.95, so q² = 2·0.95² / (1 − 0.95²).
T_975_DF2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))


def test_hand_worked_paired_example():
    # a − b = [1, 2, 3]: mean 2, s = 1, standard error 1/√3, t = 2√3 on 2 degrees of freedom.
    result = paired([3.0, 5.0, 7.0], [2.0, 3.0, 4.0])
    assert result.n == 3 and result.mean_diff == pytest.approx(2.0)
    half = T_975_DF2 / math.sqrt(3)
    assert (result.ci_low, result.ci_high) == pytest.approx((2 - half, 2 + half))
    # two-sided p = 2·(1 − F(2√3)) = 1 − 2√3/√14 = 1 − √(6/7)
    assert result.p_value == pytest.approx(1 - math.sqrt(6 / 7))
    assert T_975_DF2 == pytest.approx(4.302652729911275)


def test_hand_worked_summary_example():
    result = summary([1.0, 2.0, 3.0])
    half = T_975_DF2 / math.sqrt(3)
    assert (result.mean, result.std, result.n) == (2.0, 1.0, 3)
    assert (result.ci_low, result.ci_high) == pytest.approx((2 - half, 2 + half))


@pytest.mark.parametrize("seed", range(5))
def test_paired_matches_scipy_ttest_rel(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(95, 1, size=5)
    b = a - rng.normal(0.5, 1, size=5)
    reference = sp.ttest_rel(a, b)
    result = paired(a.tolist(), b.tolist())
    assert result.p_value == pytest.approx(reference.pvalue)
    assert (result.ci_low, result.ci_high) == pytest.approx(tuple(reference.confidence_interval()))
    assert result.mean_diff == pytest.approx(float(np.mean(a - b)))


def test_summary_matches_scipy_t_interval():
    x = np.random.default_rng(1).normal(90, 2, size=7)
    low, high = sp.t.interval(0.95, 6, loc=x.mean(), scale=sp.sem(x))
    result = summary(x)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
    assert result.std == pytest.approx(x.std(ddof=1))


def test_one_value_has_no_interval_and_identical_values_an_exact_one():
    one = summary([97.0])
    assert one.mean == 97.0 and one.n == 1
    assert math.isnan(one.std) and math.isnan(one.ci_low) and math.isnan(one.ci_high)
    assert math.isnan(paired([1.0], [2.0]).ci_low)
    assert "not enough seeds" in verdict(paired([1.0], [2.0]))
    same = summary([5.0, 5.0, 5.0])
    assert (same.ci_low, same.ci_high, same.std) == (5.0, 5.0, 0.0)
    equal = paired([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (equal.ci_low, equal.ci_high, equal.p_value) == (0.0, 0.0, 1.0)
    shifted = paired([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert (shifted.ci_low, shifted.ci_high, shifted.p_value) == (1.0, 1.0, 0.0)


def test_verdict_words():
    assert verdict(paired([3.0, 5.0, 7.0], [2.0, 3.0, 4.0]), "A", "B").startswith(
        "no measurable difference between A and B (difference +2.0 points, 95% CI [-0.5, 4.5]")
    lower = verdict(paired([1.0, 1.1, 0.9, 1.0], [2.0, 2.2, 2.0, 2.1]), "A", "B")
    assert lower.startswith("B is higher than A by 1.1 points (95% CI [1.0, 1.2], p = ")
    assert "no measurable difference" in verdict(paired([1.0, 2.0], [1.0, 2.0]))


def test_bad_input():
    with pytest.raises(ValueError, match="one a and one b per seed"):
        paired([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-empty"):
        summary([])


def test_docstring_example():
    assert doctest.testmod(stats).failed == 0


def _null_differences(rng, n, k):
    """k paired differences over n seeds whose true value is 0."""
    return [stats.paired(rng.normal(0, 1, n), np.zeros(n)) for _ in range(k)]


def test_no_difference_fails_by_chance_at_most_alpha_over_the_family():
    rng = np.random.default_rng(0)  # numpy's generator: the same draws on every CPU
    trials = [_null_differences(rng, 3, 6) for _ in range(1500)]
    joint = np.mean([not stats.no_difference(d).holds for d in trials])
    naive = np.mean([not all(x.ci_low <= 0 <= x.ci_high for x in d) for d in trials])
    assert joint <= 0.02           # α = 0.01 for the whole family, with Monte Carlo slack
    assert 0.2 < naive < 0.32      # six 95% intervals that must all cover 0: 1 − 0.95^6 = 0.26


def test_exceeds_and_equivalent_read_the_corrected_bounds():
    rng = np.random.default_rng(1)
    null = [stats.paired(rng.normal(0, 1, 5), np.zeros(5)) for _ in range(1500)]
    assert np.mean([stats.exceeds(d).holds for d in null]) <= 0.02   # false "a beats b"
    assert np.mean([stats.equivalent(d, 0.01).holds for d in null]) == 0  # margin too tight
    big = stats.paired([10.0, 11.0, 10.5, 9.8, 10.2], [0.0, 0.1, 0.2, 0.0, 0.1])
    assert stats.exceeds(big, margin=5).holds and not stats.exceeds(big, margin=12).holds
    assert not stats.no_difference(big).holds
    assert stats.equivalent(stats.paired([1.0, 1.1, 0.9], [1.0, 1.0, 1.0]), 1.0).holds


def test_one_sample_bounds_and_degenerate_values():
    assert stats.below([10.0, 11.0, 12.0], 20).holds and not stats.below([10.0, 11, 12], 12).holds
    assert stats.above([50.0, 50.0], 40).holds  # identical values: the bound is the value
    with pytest.raises(ValueError, match="alpha"):
        stats.no_difference(stats.paired([1.0, 2.0], [1.0, 1.5]), alpha=0.7)
    with pytest.raises(ValueError, match="margin"):
        stats.equivalent(stats.paired([1.0, 2.0], [1.0, 1.5]), margin=float("nan"))


def test_check_raises_or_records(tmp_path, monkeypatch):
    failing = stats.Claim("a beats b", False, "bound -1.0")
    with pytest.raises(AssertionError, match="a beats b"):
        stats.check(failing)
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(stats.CLAIMS_LOG, str(log))
    stats.check(failing)
    stats.check(True, "exact")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["text"], r["holds"]) for r in rows] == [("a beats b", False), ("exact", True)]
