"""Difference: two configurations of one dataset over the seeds both ran — the mean paired
difference per step with its 95% interval, and the verdict (`lab.dashboard.paired`)."""

from __future__ import annotations

import html
import math
from typing import Any

import panel as pn
import param

from ...core.results import ResultsStore
from .. import figures, summary
from ..hidden import HiddenRuns
from ..paired import Difference, difference, matched
from .style import COST_CSS, PLOTLY_CONFIG


class PairedView(pn.viewable.Viewer):
    """Pick configurations `a` and `b` (labels of `summary.Group`s) of `dataset`; see a − b."""

    dataset = param.Selector(default=None, objects=[], doc="dataset whose runs are compared")
    a = param.Selector(default=None, objects=[], doc="the first configuration (a in a − b)")
    b = param.Selector(default=None, objects=[], doc="the second configuration (b in a − b)")

    def __init__(self, store: ResultsStore, hidden: HiddenRuns | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        self.store = store
        self.hidden = hidden or HiddenRuns(store.path)
        self.groups: dict[str, summary.Group] = {}
        self._runs: list = []
        self._figure = pn.pane.Plotly(None, config=PLOTLY_CONFIG, height=510,
                                      sizing_mode="stretch_width")
        self._verdict = pn.pane.HTML("", css_classes=["verdict"], sizing_mode="stretch_width",
                                     styles={"font-size": "15px"}, margin=(5, 10))
        self._table = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[COST_CSS])
        self.refresh()

    def refresh(self) -> None:
        """Re-read the store's finished, shown runs."""
        hidden = self.hidden.ids()
        self._runs = [r for r in self.store.runs() if r.status == "finished"
                      and r.id not in hidden]
        datasets = list(dict.fromkeys(r.dataset for r in self._runs))
        self.param.dataset.objects = datasets
        if self.dataset not in datasets:
            self.dataset = next(iter(datasets), None)
        else:
            self._on_dataset()

    @param.depends("dataset", watch=True)
    def _on_dataset(self) -> None:
        groups = summary.group_runs([r for r in self._runs if r.dataset == self.dataset])
        self.groups = {g.label: g for g in groups}
        labels = list(self.groups)
        a, b = self.a, self.b
        if a not in labels or b not in labels or a == b:
            a, b = _pair(groups)
        with param.parameterized.batch_call_watchers(self):
            self.param.a.objects = self.param.b.objects = labels
            self.param.update(a=a, b=b)
        self._redraw()

    def difference(self) -> Difference | None:
        """a − b, None until two configurations are picked."""
        if self.a not in self.groups or self.b not in self.groups or self.a == self.b:
            return None
        return difference(self.groups[self.a], self.groups[self.b])

    @param.depends("a", "b", watch=True)
    def _redraw(self) -> None:
        diff = self.difference()
        if diff is None:
            self._verdict.object = ("Pick two configurations of one dataset that ran the same "
                                    "seeds (launch one with several seeds in <b>Launch</b>, or "
                                    "a grid in <b>Sweeps</b>).")
            self._figure.object, self._table.object = None, ""
            return
        self._verdict.object = f"<b>Accuracy:</b> {html.escape(diff.verdict())}."
        self._figure.object = (figures.difference_figure(diff, self.groups[self.a].method)
                               if diff.steps else None)
        self._table.object = _table(diff)

    def __panel__(self) -> pn.viewable.Viewable:
        pickers = pn.Row(
            pn.widgets.Select.from_param(self.param.dataset, width=180),
            pn.widgets.Select.from_param(self.param.a, name="a", sizing_mode="stretch_width"),
            pn.widgets.Select.from_param(self.param.b, name="b", sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        note = pn.pane.HTML(
            "<p class='notes'>a − b over the seeds both configurations ran, seed s against "
            "seed s (paired: the initialisation is shared), by <code>scipy.stats.ttest_rel"
            "</code>. One seed gives no interval; the lab's rule is at least 5 for a claim "
            "(docs/methods.md §6, in the lab's repository).</p>", stylesheets=[COST_CSS],
            sizing_mode="stretch_width")
        return pn.Column(pickers, self._verdict, self._figure, self._table, note,
                         sizing_mode="stretch_width")


def _pair(groups: list[summary.Group]) -> tuple[str | None, str | None]:
    """The first two configurations that share the most seeds (at least one)."""
    best, pair = 0, (None, None)
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            shared = len(matched(a, b))
            if shared > best:
                best, pair = shared, (a.label, b.label)
    return pair


def _table(diff: Difference) -> str:
    """Per step: a − b, its 95% interval, p, n and what it says."""
    if not diff.steps:
        return ""
    symbol = "t" if diff.x_label.startswith("frame step") else "T"
    rows = []
    for x, d in zip(diff.x, diff.steps, strict=True):
        if math.isnan(d.ci_low):
            ci, p, says = "— (one seed)", "—", "not enough seeds"
        else:
            ci, p = f"[{d.ci_low:+.2f}, {d.ci_high:+.2f}]", f"{d.p_value:.2g}"
            says = ("no measurable difference" if d.ci_low <= 0 <= d.ci_high
                    else "a higher" if d.mean_diff > 0 else "b higher")
        rows.append(f"<tr><td>{symbol}={x:g}</td><td>{d.mean_diff:+.2f}</td><td>{ci}</td>"
                    f"<td>{p}</td><td>{d.n}</td><td>{says}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("step", "a − b (points)", "95% interval", "p",
                                              "n", "verdict"))
    return (f"<table class='cost-table paired-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")
