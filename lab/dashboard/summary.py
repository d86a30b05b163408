"""What the dashboard computes from stored runs: seed groups, mean ± spread curves, cost rows.

Runs of one method whose configurations differ only in `seed` (or `device`) are repeats of one
experiment: a `Group`. Its curve is the mean over seeds with ± one standard deviation
(ddof = 1) as the spread. Names, units, axes and `timesteps_within` are `lab.core.metrics`'s.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..core import metrics
from ..core.operations import ENERGY_SOURCE
from ..core.results import Run

CURVE = "accuracy_per_timestep"
ANN_ACCURACY = "ann_accuracy"  # metric a method stores when it trains a source ANN
REPEAT_FIELDS = ("seed", "device")  # fields that do not change the experiment
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")
Stat = tuple[float, float]  # (mean, standard deviation over seeds)


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

    def curve(self, key: str = CURVE) -> tuple[np.ndarray, np.ndarray] | None:
        """Mean and spread over seeds of curve `key`, cut to the shortest run; None if absent."""
        curves = [r.curves[key] for r in self.runs if r.curves.get(key)]
        if not curves:
            return None
        length = min(len(c) for c in curves)
        values = np.array([c[:length] for c in curves], dtype=float)
        spread = values.std(0, ddof=1) if len(values) > 1 else np.zeros(length)
        return values.mean(0), spread

    def x(self, key: str, length: int) -> list[float] | None:
        """The x values of curve `key`, `length` of them: 1, 2, 3, ... or the stored curve its
        `Curve.x` names (None if a run lacks it)."""
        name = axes(key).x
        if name is None:
            return list(range(1, length + 1))
        xs = [r.curves.get(name) or [] for r in self.runs]
        return list(xs[0][:length]) if min(map(len, xs)) >= length else None

    def metric(self, key: str) -> Stat | None:
        return _stat(r.metrics.get(key) for r in self.runs)

    def timing(self, key: str) -> Stat | None:
        return _stat(r.timings.get(key) for r in self.runs)


@dataclass(frozen=True)
class CostRow:
    """One line of the cost table: a group's accuracy and what it cost."""

    label: str
    seeds: int
    ann_accuracy: Stat | None
    best_accuracy: Stat | None
    best_timesteps: int | None
    timesteps_within_ann: int | None  # T from which the mean stays within 1 point of the ANN
    max_timesteps: int | None
    train_s: Stat | None  # wall-clock seconds
    train_cpu_s: Stat | None  # CPU seconds of the process, all threads
    saved_mib: Stat | None  # bytes autograd saves for backward in one training step
    step_peak_mib: Stat | None  # parameters + gradients + optimizer state + saved
    sops: Stat | None
    macs: Stat | None
    energy_nj: Stat | None


def _stat(values: Iterable[float | None]) -> Stat | None:
    xs = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    if not xs:
        return None
    return float(np.mean(xs)), float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0


def _scaled(stat: Stat | None, unit: float) -> Stat | None:
    return (stat[0] / unit, stat[1] / unit) if stat else None


def experiment(run: Run) -> tuple[str, str, str]:
    """The key that seeds of one experiment share: method, dataset, config without the seed."""
    config = {k: v for k, v in run.config.items() if k not in REPEAT_FIELDS}
    return run.method, run.dataset, json.dumps(config, sort_keys=True)


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
        siblings = [configs[k] for k in members if k[0] == key[0]]
        varying = [f for f in configs[key] if len({json.dumps(c.get(f)) for c in siblings}) > 1]
        shown = [f"{f}={configs[key][f]}" for f in varying[:3]] + ["…"] * (len(varying) > 3)
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


def cost_row(group: Group) -> CostRow:
    ann = group.metric(ANN_ACCURACY)
    curve = group.curve(CURVE)
    best, best_t, within, t_max = group.metric("accuracy"), None, None, None
    if curve is not None:
        mean, spread = curve
        i = int(np.argmax(mean))
        best, best_t, t_max = (float(mean[i]), float(spread[i])), i + 1, len(mean)
        within = metrics.timesteps_within(mean, ann[0]) if ann else None
    return CostRow(
        label=group.label, seeds=len(group.runs), ann_accuracy=ann, best_accuracy=best,
        best_timesteps=best_t, timesteps_within_ann=within, max_timesteps=t_max,
        train_s=group.timing("train_s"), train_cpu_s=group.timing("train_cpu_s"),
        saved_mib=_scaled(group.metric("saved_bytes"), 2**20),
        step_peak_mib=_scaled(group.metric("step_peak_bytes"), 2**20),
        sops=group.metric("sops"), macs=group.metric("macs"),
        energy_nj=_scaled(group.metric("energy_pj"), 1e3),
    )


def cost_rows(groups: Sequence[Group]) -> list[CostRow]:
    return [cost_row(g) for g in groups]


def _fmt(stat: Stat | None, digits: int = 1, si: bool = False) -> str:
    if stat is None:
        return "—"
    mean, spread = stat
    if si:
        return _si(mean, spread)
    return f"{mean:.{digits}f}" + (f" ± {spread:.{digits}f}" if spread else "")


def _si(mean: float, spread: float = 0.0) -> str:
    """Three significant digits of the mean, and the spread to the same decimal, one unit:
    33 000 ± 648 → '33.0 ± 0.6 k'."""
    scale, suffix = next(((s, x) for s, x in ((1e9, " G"), (1e6, " M"), (1e3, " k"))
                          if abs(mean) >= s), (1.0, ""))
    m = mean / scale
    decimals = max(0, 2 - math.floor(math.log10(abs(m)))) if m else 0
    text = f"{m:.{decimals}f}" + (f" ± {spread / scale:.{decimals}f}" if spread else "")
    return text + suffix


def cost_frame(rows: Sequence[CostRow]) -> pd.DataFrame:
    """The cost table as text, mean ± standard deviation over seeds."""

    def within(r: CostRow) -> str:
        if r.ann_accuracy is None:
            return "— (no ANN)"
        return str(r.timesteps_within_ann) if r.timesteps_within_ann else f"> {r.max_timesteps}"

    frame = pd.DataFrame({
        "experiment": [r.label for r in rows],
        "seeds": [r.seeds for r in rows],
        "ANN acc. (%)": [_fmt(r.ann_accuracy) for r in rows],
        "best SNN acc. (%)": [_fmt(r.best_accuracy) + (f" @ T={r.best_timesteps}"
                                                       if r.best_timesteps else "")
                              for r in rows],
        "T within 1 pt of ANN": [within(r) for r in rows],
        "train wall (s)": [_fmt(r.train_s) for r in rows],
        "train CPU (s)": [_fmt(r.train_cpu_s) for r in rows],
        "saved for backward (MiB)": [_fmt(r.saved_mib, 2) for r in rows],
        "step peak (MiB)": [_fmt(r.step_peak_mib, 2) for r in rows],
        "SOPs / sample": [_fmt(r.sops, si=True) for r in rows],
        "MACs / sample": [_fmt(r.macs, si=True) for r in rows],
        "energy / sample (nJ)": [_fmt(r.energy_nj, si=True) for r in rows],
    })
    return _typed(frame, {"seeds": "int64"})


def _typed(frame: pd.DataFrame, numeric: dict[str, str]) -> pd.DataFrame:
    """Fixed column types, also when empty: the table widget keeps the first frame's formats."""
    return frame.astype({c: numeric.get(c, str) for c in frame.columns})


def energy_note() -> str:
    return f"Energy is an estimate from {ENERGY_SOURCE.split(' — ')[0]}."


def axes(key: str) -> metrics.Curve:
    """What stored curve `key` holds and what it is plotted against (`lab.core.metrics`); a
    name the lab no longer lists (a run stored by an older version) is drawn against its index.
    """
    try:
        return metrics.curve(key)
    except KeyError:
        return metrics.Curve(metrics.Metric(key.replace("_", " ")), "index")


def accuracy_figure(groups: Sequence[Group], key: str = CURVE) -> go.Figure:
    """Curve `key` against its x (`axes(key)`) for each group: the mean over seeds as a line,
    ± one standard deviation as a shaded band, the group's source ANN (if any) as a dashed level.

    One trace per group; bands and ANN levels are layout shapes. Traces are plain dicts
    (plotly.js's schema) without plotly.py's validation: both keep a page of hundreds of runs
    as quick to draw as an empty one.
    """
    spec = axes(key)
    traces: list[dict] = []
    shapes: list[dict] = []
    for i, g in enumerate(groups):
        curve = g.curve(key)
        if curve is None:
            continue
        mean, spread = curve
        x = g.x(key, len(mean))
        if x is None:  # its runs lack the curve of x values: nothing true to draw it against
            continue
        color = COLORS[i % len(COLORS)]
        name = g.label + (f" ({len(g.runs)} seeds)" if len(g.runs) > 1 else "")
        if spread.any():
            upper = [f"{t},{y:.3f}" for t, y in zip(x, mean + spread, strict=True)]
            lower = [f"{t},{y:.3f}" for t, y in zip(x, mean - spread, strict=True)][::-1]
            shapes.append({"type": "path", "path": "M " + " L ".join(upper + lower) + " Z",
                           "xref": "x", "yref": "y", "fillcolor": _rgba(color, 0.18),
                           "line": {"width": 0}, "layer": "below"})
        traces.append({
            "type": "scatter", "x": x, "y": mean.round(3).tolist(), "name": name,
            "mode": "lines+markers", "line": {"color": color, "width": 2},
            "marker": {"size": 5}, "customdata": spread.round(3).tolist(),
            "hovertemplate": "%{y:.2f} ± %{customdata:.2f}<extra>" + name + "</extra>"})
        ann = g.metric(ANN_ACCURACY)
        if ann and key == CURVE:
            shapes.append({"type": "line", "xref": "x", "yref": "y", "x0": x[0], "x1": x[-1],
                           "y0": ann[0], "y1": ann[0], "layer": "below",
                           "line": {"color": color, "dash": "dash", "width": 1}})
    axis = {"gridcolor": "#e5e5e5", "zeroline": False, "linecolor": "#999", "ticks": "outside"}
    longest = max((len(t["x"]) for t in traces), default=0)
    whole_steps = spec.x is None and longest <= 16
    layout = {
        "height": 420, "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"size": 12},
        "xaxis": {**axis, "title": {"text": spec.x_label},
                  **({"dtick": 1} if whole_steps else {})},  # x is 1, 2, 3, ...
        "yaxis": {**axis, "title": {"text": spec.y.axis}},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "showlegend": True, "hovermode": "x unified", "shapes": shapes}
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def run_label(run: Run, group: Group | None = None) -> str:
    """`#12 bptt · timesteps=4 · seed 1 · 95.8%`: how a run is named in pickers."""
    acc = run.metrics.get("accuracy")
    parts = [f"#{run.id} {group.label if group else run.method}", f"seed {run.seed}"]
    return " · ".join(parts + ([f"{acc:.1f}%"] if isinstance(acc, int | float) else []))


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """Every run as one table row: status, headline accuracy, times, and the error if any."""

    def duration(r: Run) -> float | None:
        return round(r.finished_at - r.started_at, 1) if r.finished_at else None

    frame = pd.DataFrame({
        "id": [r.id for r in runs],
        "method": [r.method for r in runs],
        "dataset": [r.dataset for r in runs],
        "seed": [r.seed for r in runs],
        "status": [r.status for r in runs],
        "accuracy (%)": [_round(r.metrics.get("accuracy")) for r in runs],
        "duration (s)": [duration(r) for r in runs],
        "started": [time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at))
                    for r in runs],
        "error": [r.error or "" for r in runs],
    })
    return _typed(frame, {"id": "int64", "seed": "int64", "accuracy (%)": "float64",
                          "duration (s)": "float64"})


def _round(value: object) -> float | None:
    return round(float(value), 2) if isinstance(value, int | float) else None
