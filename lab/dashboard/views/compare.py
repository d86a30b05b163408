"""Compare: the picked runs of one dataset — a curve over steps or accuracy against cost, and
the cost table (also as CSV)."""

from __future__ import annotations

import functools
import io
from typing import Any

import panel as pn
import param
import plotly.graph_objects as go

from ... import registry
from ...core.results import ResultsStore, Run
from .. import cost_table, figures, summary
from ..hidden import HiddenRuns
from .style import COST_CSS, PLOTLY_CONFIG, PlotlyResizeOnce, summary_line

PLOTS = {"accuracy over steps": "curve", "accuracy vs operations": "operations",
         "accuracy vs energy": "energy"}
HEADLINE_LABEL = "each method's accuracy over its steps"


class CompareView(pn.viewable.Viewer):
    """A curve over steps, or accuracy against cost, and the cost of every picked run of one
    dataset; hidden runs (`HiddenRuns`) are left out."""

    dataset = param.Selector(default=None, objects=[], doc="dataset whose runs are compared")
    selected = param.ListSelector(default=[], objects=[], doc="ids of the runs shown")
    curve = param.Selector(default=summary.HEADLINE, objects=[summary.HEADLINE],
                           doc="stored curve to plot; `headline`: each method's own")
    plot = param.Selector(default="curve", objects=list(PLOTS.values()),
                          doc="a curve over steps, or accuracy against operations or energy")
    log_x = param.Boolean(default=False, doc="logarithmic x axis")
    demo = param.Event(doc="the empty page's one-click demo run")

    def __init__(self, store: ResultsStore, hidden: HiddenRuns | None = None,
                 load: bool = True, **params: Any) -> None:
        """`load=False` leaves the page empty until the first `refresh()` (`SpikeLab` calls
        it once the served page has been sent)."""
        super().__init__(**params)
        self.store = store
        self.hidden = hidden or HiddenRuns(store.path)
        self.groups: list[summary.Group] = []  # every finished run of `dataset`, grouped
        self._finished: list[Run] = []
        self._seen: set[int] = set()  # ids of the finished runs already offered
        self._figure = pn.pane.Plotly(None, config=PLOTLY_CONFIG, height=470,
                                      sizing_mode="stretch_width")
        # The cost table with its heading and notes: one HTML pane (few rows need no widget,
        # and every component adds to the time a page takes to draw).
        self._cost = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[COST_CSS])
        # Options and value of the two pickers change together (`_load_dataset`): a widget
        # linked to the parameter got the new options first, dropped the old selection as
        # invalid and sent that empty selection back, leaving the page blank.
        self._curves = pn.widgets.Select(label="curve", width=300)
        self._runs = pn.widgets.MultiSelect(
            label="runs (Ctrl/⌘-click to pick several)", size=8, sizing_mode="stretch_width",
            stylesheets=[":host select {font-size: 12px; background-image: none;}"])
        self._curves.param.watch(lambda e: setattr(self, "curve", e.new), "value")
        self._runs.param.watch(lambda e: setattr(self, "selected", e.new), "value")
        self._page = pn.Column(sizing_mode="stretch_width")
        if load:
            self.refresh()

    # --- what the view computes -------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the store: datasets, runs to pick from, and the drawing."""
        hidden = self.hidden.ids()
        self._finished = [r for r in self.store.runs()
                          if r.status == "finished" and r.id not in hidden]
        self._seen -= hidden  # a restored run comes back as new: it rejoins a shown experiment
        datasets = list(dict.fromkeys(r.dataset for r in self._finished))  # newest first
        self.param.dataset.objects = datasets
        dataset = self.dataset if self.dataset in datasets else next(iter(datasets), None)
        if dataset != self.dataset:
            self.dataset = dataset  # `_on_dataset` loads its runs
        else:
            self._load_dataset(keep_selection=True)

    def shown_groups(self) -> list[summary.Group]:
        """The picked runs, grouped by experiment (seeds together)."""
        return summary.restrict(self.groups, self.selected)

    def cost_rows(self) -> list[cost_table.CostRow]:
        return cost_table.cost_rows(self.shown_groups())

    def figure(self) -> go.Figure:
        return self._figure_of(self.shown_groups())

    def _figure_of(self, groups: list[summary.Group]) -> go.Figure:
        if self.plot == "curve":
            return figures.accuracy_figure(groups, self.curve, self.log_x)
        return figures.cost_figure(groups, self.plot, self.log_x)

    def cost_csv(self) -> io.StringIO:
        """The cost table of the picked runs as numbers (`cost_table.cost_csv`)."""
        return io.StringIO(cost_table.cost_csv(self.shown_groups()).to_csv(index=False))

    def include(self, run_id: int) -> None:
        """Show run `run_id` (switching to its dataset if needed), e.g. one just launched."""
        self.refresh()
        run = next((r for r in self._finished if r.id == run_id), None)
        if run is None:
            return
        if run.dataset != self.dataset:
            self.dataset = run.dataset
        if run_id not in self.selected:
            self.selected = [*self.selected, run_id]

    def select_newest(self) -> None:
        self.selected = summary.default_selection(self.groups)

    # --- keeping widgets in step ------------------------------------------------------------
    @param.depends("dataset", watch=True)
    def _on_dataset(self) -> None:
        self._load_dataset(keep_selection=False)

    def _load_dataset(self, keep_selection: bool) -> None:
        runs = [r for r in self._finished if r.dataset == self.dataset]
        self.groups = summary.group_runs(runs)
        group_of = {r.id: g for g in self.groups for r in g.runs}
        options = {summary.run_label(r, group_of[r.id]): r.id for r in runs}
        stored = sorted({k for r in runs for k, v in r.curves.items() if v})
        curves = {HEADLINE_LABEL: summary.HEADLINE, **{k: k for k in stored}}
        kept = [i for i in self.selected if i in group_of] if keep_selection else []
        shown = {summary.experiment(r) for r in runs if r.id in kept}
        kept += [r.id for r in runs  # a new seed of a shown experiment joins it
                 if r.id not in self._seen and r.id not in kept and summary.experiment(r) in shown]
        self._seen |= set(group_of)
        selected = kept or summary.default_selection(self.groups)
        curve = self.curve if self.curve in curves.values() else summary.HEADLINE
        unchanged = selected == self.selected and curve == self.curve
        self.param.selected.objects = list(options.values())
        self.param.curve.objects = list(curves.values())
        with param.parameterized.batch_call_watchers(self):  # one redraw; the widgets set both
            self._runs.param.update(options=options, value=selected)
            self._curves.param.update(options=curves, value=curve)
        if unchanged:  # no event fired, but the runs behind the selection may have changed
            self._redraw()
        self._show_page()

    @param.depends("selected", watch=True)
    def _on_selected(self) -> None:
        self._runs.value = self.selected

    @param.depends("selected", "curve", "plot", "log_x", watch=True)
    def _redraw(self) -> None:
        groups = self.shown_groups()
        self._curves.disabled = self.plot != "curve"
        self._figure.object = self._figure_of(groups)
        table = cost_table.cost_frame(cost_table.cost_rows(groups)).to_html(
            index=False, border=0, classes="cost-table", na_rep="—")
        seeds = any(len(g.runs) > 1 for g in groups)
        notes = (
            ("Runs of one configuration with different seeds are drawn as their mean; the "
             "shaded band, the bars and the ± are its 95% interval (t-interval over the n seeds "
             "of <i>seeds (n)</i>; for a difference between two configurations, see "
             "<b>Difference</b>). " if seeds else "")
            + "Dashed lines: the source ANN's accuracy, for methods that train one. "
            "<i>Within 1 pt of ANN from</i>: the first step (T: timesteps; t: frame steps, for "
            "streaming) from which the mean accuracy stays within 1 point of that ANN's up to "
            "the last step. <i>Train CPU</i>: seconds of the process's CPU time (all threads), "
            "which other load on the machine does not inflate; <i>train wall</i>: seconds on "
            "the clock, measured with the torch threads and under the machine's 1-minute load "
            "of <i>wall at threads · load</i>. <i>Saved for backward</i>: what autograd holds "
            "for backward in one training step; <i>step peak</i>: that plus parameters, "
            "gradients and optimizer state. <i>SNN ops</i>: MACs of the layers fed analog input "
            "plus synaptic operations (SOPs). " + cost_table.energy_note())
        self._cost.object = (f'<div class="title">Cost of each experiment</div>'
                             f'<div style="overflow-x: auto">{table}</div>'
                             f'<p class="notes">{notes}</p>')

    # --- layout ------------------------------------------------------------------------------
    def _show_page(self) -> None:
        """The comparison, or (no finished run yet) what to do first; each built when needed."""
        page = self._main if self.dataset is not None else self._empty
        if self._page.objects != [page]:
            self._page.objects = [page]

    @functools.cached_property
    def _main(self) -> pn.viewable.Viewable:
        controls = pn.Row(
            pn.widgets.Select.from_param(self.param.dataset, width=180),
            pn.widgets.RadioButtonGroup.from_param(self.param.plot, options=PLOTS, label="plot",
                                                   margin=(27, 10, 5, 10)),
            self._curves,
            pn.widgets.Checkbox.from_param(self.param.log_x, label="log x axis",
                                           margin=(34, 10, 5, 10)),
            pn.widgets.Button(label="Newest of each method", width=200, margin=(27, 10, 5, 10),
                              on_click=lambda _: self.select_newest()),
            sizing_mode="stretch_width",
        )
        download = pn.widgets.FileDownload(callback=self.cost_csv, filename="cost.csv",
                                           label="Cost table (CSV)", width=180,
                                           css_classes=["cost-csv"])
        return pn.Column(controls, self._runs, PlotlyResizeOnce(), self._figure, self._cost,
                         download, sizing_mode="stretch_width")

    @functools.cached_property
    def _empty(self) -> pn.viewable.Viewable:
        methods = "\n".join(f"- **{name}**: {summary_line(name)}" for name in registry.METHODS)
        return pn.Column(
            pn.pane.Markdown(
                "### No runs yet\n"
                "Results appear here once a run has finished. Launch one from the **Launch** "
                "tab, run `python -m lab run bptt` in a terminal, or start the demo: "
                "surrogate-gradient BPTT on the 8×8 digits (a few seconds).\n\n"
                f"Methods in this lab:\n\n{methods}"),
            pn.widgets.Button(label="▶ Run the demo", color="primary", width=180,
                              on_click=lambda _: self.param.trigger("demo")),
            margin=(10, 20),
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return self._page
