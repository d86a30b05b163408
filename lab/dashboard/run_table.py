"""The Runs view's table: its filter (`timesteps>=4, lr=0.001`), its rows and its CSV."""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from ..core.results import Run
from .cost_table import _typed, spreadsheet_safe
from .summary import _finite, varying

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
    frame = pd.DataFrame(rows, columns=None if rows else ["id", "method", "dataset", "seed",
                                                           "status"])
    return spreadsheet_safe(frame)


def _round(value: object) -> float | None:
    return round(float(value), 2) if _finite(value) else None


def _text(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
