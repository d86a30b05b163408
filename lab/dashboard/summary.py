"""What the dashboard computes from stored runs: seed groups, mean ± spread curves, cost rows,
the Runs table and its filter, and both as CSV.

Runs of one method whose configurations differ only in `seed` (or `device`) are repeats of one
experiment: a `Group`. Its curve, and every number of its cost row, is the mean over seeds with
the half-width of its 95% t-interval (`lab.core.stats.summary`) as the "±" (0 with one seed).
Names, units, axes and `timesteps_within` are `lab.core.metrics`'s.
"""

from __future__ import annotations

import json
import math
import operator
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ..core import metrics, stats
from ..core.operations import ENERGY_SOURCE
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
        return values.mean(0), np.array([half_width(column) for column in values.T])

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


@dataclass(frozen=True)
class CostRow:
    """One line of the cost table: a group's accuracy and what it cost."""

    label: str
    seeds: int
    ann_accuracy: Stat | None
    best_accuracy: Stat | None
    best_step: int | None  # the step (T or t) of the best mean accuracy
    steps_within_ann: int | None  # step from which the mean stays within 1 point of the ANN
    max_steps: int | None  # length of the headline curve
    step: str  # what a step is: "T" (timesteps) or "t" (frame steps, streaming)
    train_s: Stat | None  # wall-clock seconds
    train_cpu_s: Stat | None  # CPU seconds of the process, all threads
    threads: Stat | None  # torch threads the wall seconds were measured with
    load: Stat | None  # the machine's 1-minute load average when the runs started
    saved_mib: Stat | None  # bytes autograd saves for backward in one training step
    step_peak_mib: Stat | None  # parameters + gradients + optimizer state + saved
    sops: Stat | None
    macs: Stat | None
    operations: Stat | None  # input MACs + SOPs (`operations`)
    ann_macs: Stat | None  # the source ANN's MACs, for methods that train one
    energy_nj: Stat | None


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def half_width(values: Sequence[float]) -> float:
    """The half-width of the 95% t-interval of the mean of `values`; 0 for one value."""
    s = stats.summary(values)
    return 0.0 if s.n < 2 else s.ci_high - s.mean


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


def cost_row(group: Group) -> CostRow:
    """The group's accuracy on its headline curve (its stored `accuracy` without one) and
    every cost its runs store, mean and standard deviation over seeds."""
    ann = group.metric(ANN_ACCURACY)
    curve = group.curve(HEADLINE)
    best, best_step, within, steps = group.metric("accuracy"), None, None, None
    if curve is not None:
        mean, spread = curve
        i = int(np.argmax(mean))
        best, best_step, steps = (float(mean[i]), float(spread[i])), i + 1, len(mean)
        within = metrics.timesteps_within(mean, ann[0]) if ann else None
    return CostRow(
        label=group.label, seeds=len(group.runs), ann_accuracy=ann, best_accuracy=best,
        best_step=best_step, steps_within_ann=within, max_steps=steps,
        step=step_symbol(group.headline),
        train_s=group.timing("train_s"), train_cpu_s=group.timing("train_cpu_s"),
        threads=_stat(r.machine.get("torch_threads") for r in group.runs),
        load=_stat(r.machine.get("load_1min") for r in group.runs),
        saved_mib=_scaled(group.metric("saved_bytes"), 2**20),
        step_peak_mib=_scaled(group.metric("step_peak_bytes"), 2**20),
        sops=group.metric("sops"), macs=group.metric("macs"),
        operations=_stat(map(operations, group.runs)), ann_macs=group.metric("ann_macs"),
        energy_nj=_scaled(group.metric("energy_pj"), 1e3),
    )


def cost_rows(groups: Sequence[Group]) -> list[CostRow]:
    return [cost_row(g) for g in groups]


def _fmt(stat: Stat | None, digits: int = 1, prefixed: bool = False) -> str:
    if stat is None:
        return "—"
    mean, spread = stat
    if prefixed:
        return si(mean, spread)
    return f"{mean:.{digits}f}" + (f" ± {spread:.{digits}f}" if spread else "")


def si(mean: float, spread: float = 0.0) -> str:
    """Three significant digits of the mean, and the spread to the same decimal, one unit:
    33 000 ± 648 → '33.0 ± 0.6 k'."""
    scale, suffix = next(((s, x) for s, x in ((1e9, " G"), (1e6, " M"), (1e3, " k"))
                          if abs(mean) >= s), (1.0, ""))
    m = mean / scale
    decimals = max(0, 2 - math.floor(math.log10(abs(m)))) if m else 0
    text = f"{m:.{decimals}f}" + (f" ± {spread / scale:.{decimals}f}" if spread else "")
    return text + suffix


def _within(r: CostRow) -> str:
    if r.ann_accuracy is None:
        return "— (no ANN)"
    if r.max_steps is None:
        return "— (no curve)"
    return f"{r.step}={r.steps_within_ann}" if r.steps_within_ann else f"> {r.max_steps}"


def cost_frame(rows: Sequence[CostRow]) -> pd.DataFrame:
    """The cost table as text, mean ± the half-width of its 95% interval over seeds (n)."""
    frame = pd.DataFrame({
        "experiment": [r.label for r in rows],
        "seeds (n)": [r.seeds for r in rows],
        "ANN acc. (%)": [_fmt(r.ann_accuracy) for r in rows],
        "best SNN acc. (%)": [_fmt(r.best_accuracy) + (f" @ {r.step}={r.best_step}"
                                                       if r.best_step else "")
                              for r in rows],
        "within 1 pt of ANN from": [_within(r) for r in rows],
        "train CPU (s)": [_fmt(r.train_cpu_s) for r in rows],
        "train wall (s)": [_fmt(r.train_s) for r in rows],
        "wall at threads · load": [_machine(r) for r in rows],
        "saved for backward (MiB)": [_fmt(r.saved_mib, 2) for r in rows],
        "step peak (MiB)": [_fmt(r.step_peak_mib, 2) for r in rows],
        "SNN ops / sample": [_fmt(r.operations, prefixed=True) for r in rows],
        "SOPs / sample": [_fmt(r.sops, prefixed=True) for r in rows],
        "MACs / sample": [_fmt(r.macs, prefixed=True) for r in rows],
        "ANN MACs / sample": [_fmt(r.ann_macs, prefixed=True) for r in rows],
        "energy / sample (nJ)": [_fmt(r.energy_nj, prefixed=True) for r in rows],
    })
    return _typed(frame, {"seeds (n)": "int64"})


def _machine(r: CostRow) -> str:
    """'1 · 0.42': the torch threads and the load the wall seconds were measured under."""
    if r.threads is None:
        return "—"
    load = f"{r.load[0]:.2f}" if r.load else "—"
    return f"{r.threads[0]:.3g} · {load}"


def cost_csv(groups: Sequence[Group]) -> pd.DataFrame:
    """The cost table as numbers, one row per experiment: each quantity's mean and the
    half-width of its 95% interval over seeds as two columns, the run ids and the configuration."""
    columns: dict[str, list] = {}
    for group, row in zip(groups, cost_rows(groups), strict=True):
        cells: dict[str, object] = {"experiment": row.label, "method": group.method,
                                    "dataset": group.dataset,
                                    "run_ids": " ".join(map(str, group.run_ids)),
                                    "config": json.dumps(dict(group.config))}
        for f in fields(CostRow)[1:]:
            value = getattr(row, f.name)
            if f.type == "Stat | None":
                cells[f"{f.name}_mean"], cells[f"{f.name}_ci95"] = value or (None, None)
            else:
                cells[f.name] = value
        for name, value in cells.items():
            columns.setdefault(name, []).append(value)
    return pd.DataFrame(columns)


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


def run_label(run: Run, group: Group | None = None) -> str:
    """`#12 · seed 1 · 95.8% · bptt · timesteps=4`: how a run is named in pickers (what tells
    runs apart first, so a narrow list cuts the least useful part)."""
    acc = run.metrics.get("accuracy")
    parts = [f"#{run.id}", f"seed {run.seed}"] + ([f"{acc:.1f}%"] if _finite(acc) else [])
    return " · ".join([*parts, group.label if group else run.method])


# --- the Runs table -------------------------------------------------------------------------
_CONDITION = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<=|>=|!=|==|=|<|>)\s*(\S.*?)\s*$")
_OPERATORS = {"=": operator.eq, "==": operator.eq, "!=": operator.ne, "<": operator.lt,
              "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class Condition:
    """One term of the Runs filter: a config field, a comparison and a value as typed."""

    field: str
    op: str
    value: str

    def __call__(self, run: Run) -> bool:
        if self.field not in run.config:
            return False
        stored, wanted = run.config[self.field], self.value
        number = _number(wanted)
        if _finite(stored) and number is not None:  # compare numbers as numbers: 1e-3 = 0.001
            return _OPERATORS[self.op](float(stored), number)
        if isinstance(stored, bool):
            stored = str(stored).lower()
        return self.op in ("=", "==", "!=") and (str(stored) == wanted) == (self.op != "!=")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_filter(text: str) -> list[Condition]:
    """`'timesteps>=4, lr=0.001'` → one Condition per comma-separated term.

    Raises ValueError naming the term that is not `field OP value` (OP one of = != < <= > >=).
    """
    terms = [t for t in text.split(",") if t.strip()]
    conditions = []
    for term in terms:
        m = _CONDITION.match(term)
        if not m:
            raise ValueError(f"{term.strip()!r} is not field=value (or !=, <, <=, >, >=)")
        conditions.append(Condition(*m.groups()))
    return conditions


def config_columns(runs: Sequence[Run]) -> list[str]:
    """Config fields whose values differ between `runs` (dataset and seed have their own
    columns): the ones that tell these runs apart."""
    return [f for f in varying([r.config for r in runs]) if f not in ("dataset", "seed")]


def runs_frame(runs: Sequence[Run], hidden: Iterable[int] = (),
               config: Sequence[str] = ()) -> pd.DataFrame:
    """Every run as one table row: status (`hidden` marked), headline accuracy, the `config`
    fields (as text, '' where a run has none), times, and the error if any."""
    hidden = set(hidden)

    def duration(r: Run) -> float | None:
        return round(r.finished_at - r.started_at, 1) if r.finished_at else None

    frame = pd.DataFrame({
        "id": [r.id for r in runs],
        "method": [r.method for r in runs],
        "dataset": [r.dataset for r in runs],
        "seed": [r.seed for r in runs],
        "status": [r.status + (" (hidden)" if r.id in hidden else "") for r in runs],
        "accuracy (%)": [_round(r.metrics.get("accuracy")) for r in runs],
        **{f: [_text(r.config[f]) if f in r.config else "" for r in runs] for f in config},
        "duration (s)": [duration(r) for r in runs],
        "started": [time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at))
                    for r in runs],
        "error": [r.error or "" for r in runs],
    })
    return _typed(frame, {"id": "int64", "seed": "int64", "accuracy (%)": "float64",
                          "duration (s)": "float64"})


def runs_csv(runs: Sequence[Run]) -> pd.DataFrame:
    """Every run with all it stores as flat columns: `config.*`, `metrics.*` (scalars) and
    `timings.*`, for pandas or a spreadsheet."""
    rows = []
    for r in runs:
        row = {"id": r.id, "method": r.method, "dataset": r.dataset, "seed": r.seed,
               "status": r.status, "started_at": r.started_at, "finished_at": r.finished_at,
               "version": r.version, "error": r.error or ""}
        row |= {f"config.{k}": v for k, v in r.config.items()}
        row |= {f"metrics.{k}": v for k, v in r.metrics.items() if not isinstance(v, list)}
        row |= {f"timings.{k}": v for k, v in r.timings.items()}
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["id", "method", "dataset", "seed",
                                                          "status"])


def _round(value: object) -> float | None:
    return round(float(value), 2) if _finite(value) else None


def _text(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
