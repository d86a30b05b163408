"""Compare's cost table: one row per seed group (mean ± 95% half-width), as shown and as CSV."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ..core import metrics
from ..core.operations import ENERGY_SOURCE
from .summary import (
    ANN_ACCURACY,
    HEADLINE,
    Group,
    Stat,
    _scaled,
    _stat,
    operations,
    step_symbol,
)


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
    return spreadsheet_safe(pd.DataFrame(columns))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads such a cell as a formula


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula (`=HYPERLINK(…)`, `@SUM(…)`, `-2+3`)
    prefixed with `'`, which shows it as typed (OWASP's CSV injection advice); numbers, and
    text that reads as one ('-0.5'), unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _numeric(value):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `safe_cell` applied to every cell and column name."""
    out = frame.apply(lambda column: column.map(safe_cell)) if len(frame) else frame.copy()
    out.columns = [safe_cell(c) for c in frame.columns]
    return out


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _typed(frame: pd.DataFrame, numeric: dict[str, str]) -> pd.DataFrame:
    """Fixed column types, also when empty: the table widget keeps the first frame's formats."""
    return frame.astype({c: numeric.get(c, str) for c in frame.columns})


def energy_note() -> str:
    return f"Energy is an estimate from {ENERGY_SOURCE.split(' — ')[0]}."
