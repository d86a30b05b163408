"""Reading an anytime curve: accuracy at every step, and the first step better than chance.

"Better than chance" is a one-sided binomial test: with n test samples and p0 the rate of the
most frequent class (what a constant answer, such as the biases alone, can reach), step t
counts once its number of correct answers k has P(X ≥ k | X ~ Bin(n, p0)) ≤ α = 0.01.
"""

from __future__ import annotations

import torch
from torch import Tensor

SIGNIFICANCE = 0.01


def accuracy_per_step(outputs: Tensor, labels: Tensor) -> Tensor:
    """Accuracy (%) of argmax y[t] at every step: `[T, B, C]` → `[T]`."""
    return 100.0 * (outputs.argmax(-1) == labels).float().mean(1)


def running_mean(outputs: Tensor, start: int) -> Tensor:
    """ȳ[t] = mean of y[t'] over min(t0, t) ≤ t' ≤ t (t0 = `start`): `[T, B, C]` → `[T, B, C]`.

    The mean starts where the output can first have seen input; before that, ȳ[t] = y[t].
    """
    steps = torch.arange(len(outputs))
    begin = torch.clamp(steps, max=start)
    summed = torch.cat([outputs.new_zeros(1, *outputs.shape[1:]), outputs.cumsum(0)])
    count = (steps + 1 - begin).to(outputs.dtype).reshape(-1, *[1] * (outputs.dim() - 1))
    return (summed[steps + 1] - summed[begin]) / count


def chance_level(labels: Tensor, alpha: float = SIGNIFICANCE) -> tuple[float, float]:
    """(p0, bar) in %: the majority-class rate, and the smallest accuracy the test accepts."""
    from scipy.stats import binom

    n = len(labels)
    p0 = float(torch.bincount(labels).max()) / n
    needed = int(binom.isf(alpha, n, p0)) + 1  # the smallest k with P(X ≥ k) ≤ alpha
    return 100.0 * p0, 100.0 * needed / n


def first_better_than_chance(curve: Tensor | list[float], labels: Tensor,
                             alpha: float = SIGNIFICANCE) -> int:
    """The first step whose accuracy reaches `chance_level`'s bar; −1 if none does."""
    bar = chance_level(labels, alpha)[1]
    above = [t for t, acc in enumerate(torch.as_tensor(curve).tolist()) if acc >= bar - 1e-6]
    return above[0] if above else -1
