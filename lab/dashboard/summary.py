"""What the dashboard computes from stored runs: seed groups, mean ± spread curves, cost rows
and their CSV (the Runs table is `run_table`).

Runs of one method whose configurations differ only in `seed` (or `device`) are repeats of one
experiment: a `Group`. Its curve, and every number of its cost row, is the mean over seeds with
the half-width of its 95% t-interval (`lab.core.stats.summary`) as the "±" (0 with one seed).
Names, units, axes and `timesteps_within` are `lab.core.metrics`'s.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..core import metrics, stats
from ..core.results import Run

CURVE = "accuracy_per_timestep"
HEADLINE = "headline"  # in Compare's curve menu: each run's own headline curve
# A method's headline curve: its test accuracy against the steps it simulates — timesteps T
# for the image methods, frame steps t for streaming (which stores no per-T curve).
HEADLINES = (CURVE, "accuracy_per_step_snn")
ANN_ACCURACY = "ann_accuracy"  # metric a method stores when it trains a source ANN
REPEAT_FIELDS = ("seed", "device")  # fields that do not change the experiment
Stat = tuple[float, float]  # (mean, half-width of its 95% interval over seeds; 0 for one seed)


def headline(run: Run) -> str | None:
    """The run's headline curve (`HEADLINES`), None if it stores none of them."""
    return next((k for k in HEADLINES if run.curves.get(k)), None)


def operations(run: Run) -> float | None:
    """SNN operations per sample, input-layer MACs + SOPs (`snn_ops`'s definition): stored as
    `snn_ops` by streaming, the sum of the stored `macs` and `sops` by the other methods (their
    `macs` are the MACs of the layers fed analog input, so the sum is the same quantity)."""
    m = run.metrics
    if _finite(m.get("snn_ops")):
        return float(m["snn_ops"])
    if _finite(m.get("macs")) and _finite(m.get("sops")):
        return float(m["macs"]) + float(m["sops"])
    return None


def energy_nj(run: Run) -> float | None:
    """Estimated energy per sample in nJ (stored in pJ)."""
    value = run.metrics.get("energy_pj")
    return float(value) / 1e3 if _finite(value) else None


@dataclass(frozen=True)
class Group:
    """Finished runs of one method and configuration that differ only in their seed."""

    method: str
    dataset: str
    config: tuple[tuple[str, object], ...]
    runs: tuple[Run, ...]
    label: str

    @property
    def run_ids(self) -> list[int]:
        return [r.id for r in self.runs]

    @property
    def headline(self) -> str | None:
        """The group's headline curve: the first of `HEADLINES` its runs store."""
        return next((k for k in HEADLINES if any(r.curves.get(k) for r in self.runs)), None)

    def resolve(self, key: str) -> str | None:
        """`key`, or this group's headline curve for `HEADLINE`."""
        return self.headline if key == HEADLINE else key

    def curve(self, key: str = HEADLINE) -> tuple[np.ndarray, np.ndarray] | None:
        """Mean over seeds of curve `key` and the half-width of its 95% interval at each step,
        cut to the shortest run; None if absent."""
        key = self.resolve(key)
        curves = [r.curves[key] for r in self.runs if key and r.curves.get(key)]
        if not curves:
            return None
        length = min(len(c) for c in curves)
        values = np.array([c[:length] for c in curves], dtype=float)
        return values.mean(0), half_widths(values)

    def x(self, key: str, length: int) -> list[float] | None:
        """The x values of curve `key`, `length` of them: 1, 2, 3, ... or the stored curve its
        `Curve.x` names (None if a run lacks it)."""
        name = axes(self.resolve(key) or key).x
        if name is None:
            return list(range(1, length + 1))
        xs = [r.curves.get(name) or [] for r in self.runs]
        return list(xs[0][:length]) if min(map(len, xs)) >= length else None

    def metric(self, key: str) -> Stat | None:
        return _stat(r.metrics.get(key) for r in self.runs)

    def timing(self, key: str) -> Stat | None:
        return _stat(r.timings.get(key) for r in self.runs)

    def values(self, of: Callable[[Run], float | None]) -> list[float]:
        """`of(run)` for each seed, the missing and non-finite left out."""
        return [float(v) for v in map(of, self.runs) if _finite(v)]


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def half_width(values: Sequence[float]) -> float:
    """The half-width of the 95% t-interval of the mean of `values`; 0 for one value."""
    return float(half_widths(np.asarray(values, dtype=float)[:, None])[0])


def half_widths(values: np.ndarray) -> np.ndarray:
    """`half_width` of each column of `values` (one row per seed) at once: `lab.core.stats`'s
    vectorised t-interval (a t-test per step, for each of the hundreds of steps a page draws,
    was a third of the time the page took to build); 0 for one row (no band drawn)."""
    if values.shape[0] < 2:
        return np.zeros(values.shape[1])
    return stats.half_widths(values)


def _stat(values: Iterable[float | None]) -> Stat | None:
    xs = [float(v) for v in values if _finite(v)]
    if not xs:
        return None
    return float(np.mean(xs)), half_width(xs)


def _scaled(stat: Stat | None, unit: float) -> Stat | None:
    return (stat[0] / unit, stat[1] / unit) if stat else None


def experiment(run: Run) -> tuple[str, str, str]:
    """The key that seeds of one experiment share: method, dataset, config without the seed."""
    config = {k: v for k, v in run.config.items() if k not in REPEAT_FIELDS}
    return run.method, run.dataset, json.dumps(config, sort_keys=True)


def varying(configs: Sequence[dict]) -> list[str]:
    """The fields whose values differ between `configs`, in first-seen order."""
    names = dict.fromkeys(f for c in configs for f in c)
    return [f for f in names if len({json.dumps(c.get(f)) for c in configs}) > 1]


def group_runs(runs: Sequence[Run]) -> list[Group]:
    """Group runs by experiment, in order of first appearance, labelled by what tells them apart.

    A label is the method, then the config fields whose values differ between that method's
    groups (at most three), e.g. `bptt · timesteps=4`.
    """
    members: dict[tuple[str, str, str], list[Run]] = {}
    for run in runs:
        members.setdefault(experiment(run), []).append(run)
    configs = {key: json.loads(key[2]) for key in members}
    labels = {}
    for key in members:
        fields_ = varying([configs[k] for k in members if k[0] == key[0]])
        shown = [f"{f}={configs[key].get(f)}" for f in fields_[:3]] + ["…"] * (len(fields_) > 3)
        labels[key] = " · ".join([key[0], ", ".join(shown)]) if shown else key[0]
    return [Group(key[0], key[1], tuple(sorted(configs[key].items())), tuple(rs), labels[key])
            for key, rs in members.items()]


def restrict(groups: Sequence[Group], run_ids: Iterable[int]) -> list[Group]:
    """The groups keeping only the runs in `run_ids` (labels unchanged), empty ones dropped."""
    keep = set(run_ids)
    out = []
    for g in groups:
        runs = tuple(r for r in g.runs if r.id in keep)
        if runs:
            out.append(Group(g.method, g.dataset, g.config, runs, g.label))
    return out


def default_selection(groups: Sequence[Group]) -> list[int]:
    """Every seed of the newest experiment of each method: all methods, side by side."""
    newest: dict[str, Group] = {}
    for g in groups:
        newest.setdefault(g.method, g)
    return [i for g in newest.values() for i in g.run_ids]


def step_symbol(key: str | None) -> str:
    """'t' for a curve over frame steps (streaming), else 'T' (timesteps)."""
    return "t" if key and axes(key).x_label.startswith("frame step") else "T"


def axes(key: str) -> metrics.Curve:
    """What stored curve `key` holds and what it is plotted against (`lab.core.metrics`); a
    name the lab no longer lists (a run stored by an older version) is drawn against its index.
    """
    try:
        return metrics.curve(key)
    except KeyError:
        # a stored name: escaped, as it becomes an axis title (Plotly draws HTML in titles)
        return metrics.Curve(metrics.Metric(html.escape(key.replace("_", " "))), "index")


def run_label(run: Run, group: Group | None = None) -> str:
    """`#12 · seed 1 · 95.8% · bptt · timesteps=4`: how a run is named in pickers (what tells
    runs apart first, so a narrow list cuts the least useful part)."""
    acc = run.metrics.get("accuracy")
    parts = [f"#{run.id}", f"seed {run.seed}"] + ([f"{acc:.1f}%"] if _finite(acc) else [])
    return " · ".join([*parts, group.label if group else run.method])
