"""A sweep's numbers as a student should read them: per grid point the mean over seeds with its
95% interval, and each point against the first, paired over matched seeds (docs/methods.md §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import config as cfg
from ..core import stats
from ..core.results import ResultsStore
from .spec import Spec, key


@dataclass(frozen=True)
class Point:
    """One grid point: its label (the fields that vary), and `metric` per finished seed."""

    label: str
    values: dict[int, float]  # seed → metric

    def summary(self) -> stats.Summary | None:
        """The mean over seeds with its 95% interval; None while no seed has finished."""
        return stats.summary(list(self.values.values())) if self.values else None


def points(spec: Spec, store: ResultsStore, metric: str = "accuracy") -> list[Point]:
    """Every grid point of `spec` with `metric` of its newest finished run per seed."""
    names = varying(spec)
    where: dict[str, tuple[int, int]] = {}  # config key → (point, seed)
    grid = spec.points()
    for index, config in enumerate(spec.configs()):
        where[key(cfg.as_dict(config))] = (index // spec.seeds, config.seed)
    values: list[dict[int, float]] = [{} for _ in grid]
    for run in store.runs(spec.method, status="finished"):  # newest first
        found = where.get(key(run.config))
        if found and metric in run.metrics and found[1] not in values[found[0]]:
            values[found[0]][found[1]] = float(run.metrics[metric])
    return [Point(_label(point, names, spec.method), v) for point, v in zip(grid, values,
                                                                              strict=True)]


def varying(spec: Spec) -> list[str]:
    """The grid's fields with more than one value."""
    return [name for name, values in spec.grid.items() if len(values) > 1]


def comparisons(found: list[Point], unit: str = "points") -> list[str]:
    """Each point against the first, over the seeds both have: one verdict line each."""
    lines = []
    for other in found[1:]:
        seeds = sorted(set(found[0].values) & set(other.values))
        if not seeds:
            continue
        result = stats.paired([other.values[s] for s in seeds], [found[0].values[s] for s in seeds])
        lines.append(stats.verdict(result, other.label, found[0].label, unit))
    return lines


def _label(point: dict[str, Any], names: list[str], method: str) -> str:
    """'variant=qcfs', 'timesteps=4 epochs=3': the fields that vary; else the method."""
    return " ".join(f"{name}={point[name]}" for name in names) or method


def finished_keys(store: ResultsStore, method: str) -> set[str]:
    """The config keys (`spec.key`) of `method`'s finished runs in `store`."""
    return {key(run.config) for run in store.runs(method, status="finished")}


def done(spec: Spec, finished: set[str]) -> int:
    """How many of `spec`'s (config, seed) pairs are among the `finished` keys."""
    return len({key(cfg.as_dict(c)) for c in spec.configs()} & finished)
