"""Two configurations compared over the seeds both ran (docs/methods.md §6): at each step of their
curve, the mean of the paired differences a − b with its 95% interval (`lab.core.stats.paired`),
and one verdict on their stored accuracy — "no measurable difference" when the interval holds 0.

Seeds are matched by number: seed s of `a` against seed s of `b` (the newest run of each), so the
model's initialisation is shared and only the configuration differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core import stats
from ..core.results import Run
from .summary import HEADLINE, Group, axes


@dataclass(frozen=True)
class Difference:
    """a − b per step (`x`, `steps`), and on the stored accuracy (`final`), over `seeds`."""

    a: str
    b: str
    seeds: list[int]
    x: list[float]
    x_label: str
    steps: list[stats.Paired]
    final: stats.Paired | None

    def verdict(self) -> str:
        """`stats.verdict` on the stored accuracy, else on the curve's last step."""
        result = self.final or (self.steps[-1] if self.steps else None)
        if result is None:
            return f"{self.a} and {self.b} share no seed with a result: nothing to compare"
        return stats.verdict(result, self.a, self.b)


def matched(a: Group, b: Group) -> dict[int, tuple[Run, Run]]:
    """The seeds both groups ran, each with its newest run of `a` and of `b`."""
    newest_a = {r.seed: r for r in sorted(a.runs, key=lambda r: r.id)}
    newest_b = {r.seed: r for r in sorted(b.runs, key=lambda r: r.id)}
    return {s: (newest_a[s], newest_b[s]) for s in sorted(newest_a.keys() & newest_b.keys())}


def difference(a: Group, b: Group, key: str = HEADLINE) -> Difference:
    """a − b over their matched seeds, per step of curve `key` (each group's headline curve by
    default; none when the two curves differ in kind or a seed lacks one)."""
    pairs = matched(a, b)
    own_a, own_b = a.resolve(key), b.resolve(key)
    curves = [(ra.curves.get(own_a or ""), rb.curves.get(own_b or ""))
              for ra, rb in pairs.values()]
    steps: list[stats.Paired] = []
    x: list[float] = []
    if pairs and own_a and own_a == own_b and all(ca and cb for ca, cb in curves):
        length = min(min(len(ca), len(cb)) for ca, cb in curves)
        steps = [stats.paired([ca[j] for ca, _ in curves], [cb[j] for _, cb in curves])
                 for j in range(length)]
        x = a.x(own_a, length) or list(range(1, length + 1))
    final_a = [ra.metrics.get("accuracy") for ra, _ in pairs.values()]
    final_b = [rb.metrics.get("accuracy") for _, rb in pairs.values()]
    usable = pairs and all(_number(v) for v in final_a + final_b)
    return Difference(a.label, b.label, list(pairs), x,
                      axes(own_a).x_label if own_a else "step", steps,
                      stats.paired(final_a, final_b) if usable else None)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
