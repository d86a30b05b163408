"""The three tabs of the dashboard — Compare, Launch, Runs — and `SpikeLab`, the app around them.

Each view is a `pn.viewable.Viewer` (a param object): its parameters are what a user picks, its
methods compute what is shown, and `refresh`/`poll` re-read the store and the running jobs.
Views build their widgets once and update them in place, so a store of hundreds of runs costs
one query, not hundreds of redraws.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sqlite3
import time
from typing import Any

import panel as pn
import param
import plotly.graph_objects as go

from .. import registry
from ..core.results import ResultsStore, Run
from . import summary
from .forms import ConfigForm
from .jobs import Job, JobManager, default_manager

EXTENSIONS = ("plotly", "tabulator")
ACCENT = "#2f6690"
DEMO_METHOD = "bptt"
_STATUS_COLORS = {"finished": "#2e7d32", "failed": "#c62828", "cancelled": "#8d6e63",
                  "interrupted": "#ef6c00", "running": "#1565c0", "queued": "#546e7a"}
_TABLE_CSS = [":host .tabulator {font-size: 13px;}",
              ":host .tabulator-row.tabulator-selected {background-color: #dce8f3 !important;"
              " color: #222 !important;}"]
_COST_CSS = """
table.cost-table {border-collapse: collapse; font-size: 13px; width: 100%;}
.cost-table th {text-align: left; font-weight: 600; border-bottom: 2px solid #ccc;
                padding: 5px 8px; vertical-align: bottom;}
.cost-table td {border-bottom: 1px solid #e5e5e5; padding: 5px 8px; white-space: nowrap;}
.cost-table tbody tr:hover {background: #f5f8fb;}
.title {font-size: 1.05rem; font-weight: 600; margin: 4px 0 6px;}
.notes {color: #555; font-size: 12px; margin-top: 8px;}
"""
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                  "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def extension() -> None:
    """Load Panel's extensions the way the app does (the benchmark's empty page shares it)."""
    pn.extension(*EXTENSIONS, notifications=True, design="bootstrap")


def template(main: list, title: str = "Spike Lab") -> pn.template.BaseTemplate:
    """The page: a header with the title, the content below it."""
    return pn.template.BootstrapTemplate(title=title, main=main, header_background=ACCENT,
                                         collapsed_sidebar=True, main_max_width="1500px",
                                         busy_indicator=None)  # the 0.5 s poll kept it busy


def _heading(text: str) -> pn.pane.HTML:
    return pn.pane.HTML(f'<div style="font-size:1.05rem;font-weight:600">{text}</div>',
                        margin=(5, 10, 0, 10))


def _summary_line(method: str) -> str:
    """The first line of a method module's docstring (or why it could not be imported)."""
    try:
        return (registry.method(method).__doc__ or method).strip().splitlines()[0]
    except Exception as err:  # noqa: BLE001  (a method still being written must not break the page)
        return f"could not be imported: {type(err).__name__}: {err}"


def _badge(status: str) -> str:
    color = _STATUS_COLORS.get(status, "#546e7a")
    return (f'<span style="background:{color};color:white;border-radius:10px;'
            f'padding:1px 9px;font-size:12px">{status}</span>')


class CompareView(pn.viewable.Viewer):
    """Accuracy against timesteps and the cost of every picked run of one dataset."""

    dataset = param.Selector(default=None, objects=[], doc="dataset whose runs are compared")
    selected = param.ListSelector(default=[], objects=[], doc="ids of the runs shown")
    curve = param.Selector(default=summary.CURVE, objects=[summary.CURVE],
                           doc="stored curve to plot")
    demo = param.Event(doc="the empty page's one-click demo run")

    def __init__(self, store: ResultsStore, **params: Any) -> None:
        super().__init__(**params)
        self.store = store
        self.groups: list[summary.Group] = []  # every finished run of `dataset`, grouped
        self._finished: list[Run] = []
        self._seen: set[int] = set()  # ids of the finished runs already offered
        self._figure = pn.pane.Plotly(None, config=_PLOTLY_CONFIG, height=440,
                                      sizing_mode="stretch_width")
        # The cost table with its heading and notes: one HTML pane (few rows need no widget,
        # and every component adds to the time a page takes to draw).
        self._cost = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[_COST_CSS])
        self._page = pn.Column(sizing_mode="stretch_width")
        self.refresh()

    # --- what the view computes -------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the store: datasets, runs to pick from, and the drawing."""
        self._finished = [r for r in self.store.runs() if r.status == "finished"]
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

    def cost_rows(self) -> list[summary.CostRow]:
        return summary.cost_rows(self.shown_groups())

    def figure(self) -> go.Figure:
        return summary.accuracy_figure(self.shown_groups(), self.curve)

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
        curves = sorted({k for r in runs for k, v in r.curves.items() if v} | {summary.CURVE})
        kept = [i for i in self.selected if i in group_of] if keep_selection else []
        shown = {summary.experiment(r) for r in runs if r.id in kept}
        kept += [r.id for r in runs  # a new seed of a shown experiment joins it
                 if r.id not in self._seen and r.id not in kept and summary.experiment(r) in shown]
        self._seen |= set(group_of)
        selected = kept or summary.default_selection(self.groups)
        unchanged = selected == self.selected
        with param.parameterized.batch_call_watchers(self):
            self.param.selected.objects = options
            self.param.curve.objects = curves
            self.selected = selected
        if unchanged:  # no event fired, but the runs behind the selection may have changed
            self._redraw()
        self._show_page()

    @param.depends("selected", "curve", watch=True)
    def _redraw(self) -> None:
        groups = self.shown_groups()
        self._figure.object = summary.accuracy_figure(groups, self.curve)
        table = summary.cost_frame(summary.cost_rows(groups)).to_html(
            index=False, border=0, classes="cost-table", na_rep="—")
        seeds = any(len(g.runs) > 1 for g in groups)
        notes = (
            ("Runs of one configuration with different seeds are drawn as their mean; the "
             "shaded band and the ± are one standard deviation across seeds. " if seeds else "")
            + "Dashed lines: the source ANN's accuracy, for methods that train one. "
            "<i>T within 1 pt of ANN</i>: the fewest timesteps whose accuracy is within 1 point "
            "of that ANN. " + summary.energy_note())
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
        picker = pn.Column(
            pn.widgets.Select.from_param(self.param.dataset, width=300),
            pn.widgets.Select.from_param(self.param.curve, width=300),
            # A native list box: a MultiChoice (Choices.js) next to the figure took 0.4 s more
            # to draw (benchmarks/dashboard.py).
            pn.widgets.MultiSelect.from_param(
                self.param.selected, label="runs (Ctrl/⌘-click to pick several)", size=12,
                width=300, stylesheets=[":host select {font-size: 12px; background-image: none;}"]),
            pn.widgets.Button(label="Newest of each method", width=300,
                              on_click=lambda _: self.select_newest()),
            width=330,
        )
        content = pn.Column(self._figure, self._cost, sizing_mode="stretch_width")
        return pn.Row(picker, content, sizing_mode="stretch_width")

    @functools.cached_property
    def _empty(self) -> pn.viewable.Viewable:
        methods = "\n".join(f"- **{name}**: {_summary_line(name)}" for name in registry.METHODS)
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


class JobCard(pn.viewable.Viewer):
    """One launched run: progress bar, live metrics, cancel; its result when it ends."""

    show = param.Event(doc="'Show in Compare' was clicked")

    def __init__(self, job: Job, jobs: JobManager, **params: Any) -> None:
        super().__init__(**params)
        self.job, self.jobs = job, jobs
        self._title = pn.pane.HTML("", margin=(5, 10, 0, 10))
        self._bar = pn.indicators.Progress(value=0, max=1000, sizing_mode="stretch_width",
                                           bar_color="primary", height=18, margin=(5, 10))
        self._status = pn.pane.HTML("", margin=(0, 10), styles={"color": "#444"})
        self._trends = pn.Row(margin=0)
        self._cancel = pn.widgets.Button(label="Cancel", color="warning",
                                         variant="outline", width=90,
                                         on_click=lambda _: self.job.cancel())
        self._show = pn.widgets.Button(label="Show in Compare", color="success",
                                       width=150, visible=False,
                                       on_click=lambda _: self.param.trigger("show"))
        self._error = pn.pane.Alert("", alert_type="danger", visible=False, margin=(5, 10))
        self._seen = 0
        self.shown_active = True  # whether the job was active when last drawn
        self.update()
        self.shown_active = True  # so the first poll reports a job that ended before it

    def update(self) -> bool:
        """Copy the job's state (written by the worker thread) into the widgets; True if the
        job ended since the last update."""
        job = self.job
        ended = self.shown_active and not job.active
        self.shown_active = job.active
        config = job.config
        self._title.object = (f"<b>{job.method}</b> on {getattr(config, 'dataset', '—')}"
                              f" · seed {getattr(config, 'seed', '—')} &nbsp;{_badge(job.status)}"
                              f'<div style="color:#666;font-size:12px">{_changes(config)}</div>')
        self._bar.value = round(1000 * job.fraction)
        self._bar.bar_color = {"finished": "success", "failed": "danger",
                               "cancelled": "secondary"}.get(job.status, "primary")
        self._status.object = self._status_text()
        self._cancel.visible = job.active
        self._cancel.disabled = job._cancel.is_set()
        self._show.visible = job.status == "finished"
        self._error.object = f"**The run failed:** `{job.error}`" if job.error else ""
        self._error.visible = job.error is not None
        self._update_trends()
        return ended

    def _status_text(self) -> str:
        job = self.job
        if job.status == "queued":
            ahead = self.jobs.ahead_of(job)
            return f"queued: {ahead} run{'s' * (ahead != 1)} ahead of it"
        text = f"{job.message} · {job.elapsed:.1f} s"
        if job.remaining is not None:
            text += f" · about {job.remaining:.0f} s left"
        if job.status == "finished" and job.run_id is not None:
            run = job.store.get(job.run_id)
            acc = run.metrics.get("accuracy")
            text = (f"run #{job.run_id} finished in {job.elapsed:.1f} s"
                    + (f" · accuracy <b>{acc:.1f} %</b>" if acc is not None else ""))
        return text

    def _update_trends(self) -> None:
        history = self.job.history
        if len(history) == self._seen:
            return
        self._seen = len(history)
        names = list(dict.fromkeys(k for _, m in history for k in m))
        data = {n: {"x": [round(100 * f, 1) for f, m in history if n in m],
                    "y": [m[n] for _, m in history if n in m]} for n in names}
        trends = {t.label: t for t in self._trends}
        for n in names:
            y = data[n]["y"]  # the small print under the value: the change since the first log
            change = {"value": y[-1], "value_change": (y[-1] - y[0]) / abs(y[0]) if y[0] else 0.0}
            if n in trends:
                trends[n].param.update(data=data[n], **change)
            else:
                self._trends.append(pn.indicators.Trend(
                    label=n, data=data[n], **change, plot_type="line",
                    height=110, width=240, plot_color=ACCENT, margin=(0, 10),
                    pos_color="#666", neg_color="#666"))

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._title, self._bar, self._status, self._trends, self._error,
                         pn.Row(self._cancel, self._show),
                         styles={"border": "1px solid #ddd", "border-radius": "6px"},
                         sizing_mode="stretch_width", margin=(0, 0, 10, 0))


def _changes(config: Any) -> str:
    """The fields of a Config that differ from its defaults, or 'defaults'."""
    try:
        default = type(config)()
    except Exception:  # noqa: BLE001  (a Config without defaults: show every field)
        default = None
    changed = [f"{f.name}={getattr(config, f.name)}" for f in dataclasses.fields(config)
               if default is None or getattr(config, f.name) != getattr(default, f.name)]
    return ", ".join(changed) or "default configuration"


class LaunchView(pn.viewable.Viewer):
    """Pick a method, fill its Config (checked as you type), launch it in the background."""

    method = param.Selector(default=None, objects=[], doc="registry name of the method")
    show_run = param.Integer(default=None, allow_None=True, doc="run to show in Compare")

    def __init__(self, store: ResultsStore, jobs: JobManager, **params: Any) -> None:
        names = list(registry.METHODS)
        self.param.method.objects = names
        params.setdefault("method", DEMO_METHOD if DEMO_METHOD in names else names[0])
        super().__init__(**params)
        self.store, self.jobs = store, jobs
        self.forms: dict[str, ConfigForm] = {}
        self.cards: list[JobCard] = []
        self._about = pn.pane.Markdown("", margin=(0, 10), styles={"color": "#444"})
        self._form_slot = pn.Column(sizing_mode="stretch_width")
        self._launch = pn.widgets.Button(label="▶ Launch run", color="primary", width=160,
                                         on_click=lambda _: self.launch())
        self._reset = pn.widgets.Button(label="Defaults", width=100,
                                        on_click=lambda _: self.form.reset())
        self._cards = pn.Column(sizing_mode="stretch_width")
        self._queue = pn.pane.Markdown("", styles={"color": "#555"})
        self._none = pn.pane.Markdown("Runs you launch show up here with their progress. "
                                      "The page stays usable while they run; finished runs "
                                      "appear in **Compare**.", styles={"color": "#555"})
        self._on_method()

    @property
    def form(self) -> ConfigForm:
        if self.method not in self.forms:
            form = ConfigForm(registry.method(self.method).Config)
            form.param.watch(lambda e: setattr(self._launch, "disabled", e.new is None),
                             "config")
            self.forms[self.method] = form
        return self.forms[self.method]

    @param.depends("method", watch=True)
    def _on_method(self) -> None:
        try:
            module = registry.method(self.method)
        except Exception:  # noqa: BLE001  (shown instead of the form)
            self._about.object = f"**{self.method}** {_summary_line(self.method)}"
            self._form_slot.objects, self._launch.disabled = [], True
            return
        defaults = inspect.getdoc(module.Config) or ""
        self._about.object = f"**{_summary_line(self.method)}**" + (
            f"\n\n{defaults}" if defaults else "")
        self._form_slot.objects = [self.form]
        self._launch.disabled = self.form.config is None

    def launch(self, **values: Any) -> Job | None:
        """Submit the form's config (after setting `values`); None if it is invalid."""
        self.form.set(**values)
        config = self.form.validate()
        if config is None:
            return None
        job = self.jobs.submit(self.method, config, self.store)
        card = JobCard(job, self.jobs)
        card.param.watch(lambda _: setattr(self, "show_run", job.run_id), "show")
        self.cards.insert(0, card)
        self._cards.insert(0, card)
        self._none.visible = False
        return job

    def poll(self) -> list[Job]:
        """Refresh the cards of active jobs; returns the jobs that ended since the last poll."""
        ended = [card.job for card in self.cards if card.shown_active and card.update()]
        others = sum(1 for j in self.jobs.jobs() if j.active) - sum(
            1 for c in self.cards if c.job.active)
        self._queue.object = (f"{others} run{'s' * (others != 1)} from other sessions "
                              "queued or running." if others else "")
        return ended

    def __panel__(self) -> pn.viewable.Viewable:
        form = pn.Column(
            pn.widgets.Select.from_param(self.param.method, width=260),
            self._about, self._form_slot, pn.Row(self._launch, self._reset),
            sizing_mode="stretch_width",
        )
        runs = pn.Column(_heading("Your runs"), self._queue,
                         self._none, self._cards, sizing_mode="stretch_width")
        return pn.Row(pn.Column(form, width=640), runs, sizing_mode="stretch_width")


class RunsView(pn.viewable.Viewer):
    """Every run in the store with its status; a failed run's error is in its row and below."""

    status = param.Selector(default="all", objects=["all", "finished", "failed", "cancelled",
                                                   "interrupted", "running"])
    method = param.Selector(default="all", objects=["all"])

    def __init__(self, store: ResultsStore, **params: Any) -> None:
        super().__init__(**params)
        self.store = store
        self.runs: list[Run] = []
        self._table = pn.widgets.Tabulator(
            summary.runs_frame([]), show_index=False, disabled=True, selectable=1,
            pagination="remote", page_size=20, sizing_mode="stretch_width",
            layout="fit_data_table", widths={"error": 420}, stylesheets=_TABLE_CSS)
        self._table.style.map(lambda s: f"color: {_STATUS_COLORS.get(s, '#333')}; "
                              "font-weight: 600", subset=["status"])
        self._table.param.watch(lambda _: self._show_details(), "selection")
        self._details = pn.pane.Markdown("Click a row to see its configuration and results.",
                                         sizing_mode="stretch_width", styles={"color": "#333"})
        self._error = pn.pane.Alert("", alert_type="danger", visible=False)
        self.refresh()

    def refresh(self) -> None:
        self.runs = self.store.runs()
        self.param.method.objects = ["all", *dict.fromkeys([*registry.METHODS,
                                                            *(r.method for r in self.runs)])]
        self._fill()

    def shown(self) -> list[Run]:
        return [r for r in self.runs if self.status in ("all", r.status)
                and self.method in ("all", r.method)]

    @param.depends("status", "method", watch=True)
    def _fill(self) -> None:
        frame = summary.runs_frame(self.shown())
        self._table.value = frame

    def _show_details(self) -> None:
        rows = self._table.selection
        shown = self.shown()
        if not rows or rows[0] >= len(shown):
            return
        run = shown[rows[0]]
        lines = [f"#### Run #{run.id}: {run.method} on {run.dataset} {_badge(run.status)}",
                 "**config** " + ", ".join(f"`{k}={v}`" for k, v in run.config.items())]
        if run.metrics:
            lines.append("**metrics** " + ", ".join(f"`{k}={_short(v)}`"
                                                    for k, v in run.metrics.items()))
        if run.timings:
            lines.append("**timings** " + ", ".join(f"`{k}={v:.2f} s`"
                                                    for k, v in run.timings.items()))
        self._details.object = "\n\n".join(lines)
        self._error.object = f"**Error:** `{run.error}`" if run.error else ""
        self._error.visible = bool(run.error)

    def __panel__(self) -> pn.viewable.Viewable:
        filters = pn.Row(pn.widgets.Select.from_param(self.param.method, width=180),
                         pn.widgets.Select.from_param(self.param.status, width=180))
        return pn.Column(filters, self._table, self._error, self._details,
                         sizing_mode="stretch_width")


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _fingerprint(store: ResultsStore) -> tuple:
    """Changes whenever a run is added or ends, for one cheap query instead of a full read."""
    db = sqlite3.connect(store.path, timeout=5.0)
    try:
        return db.execute("SELECT count(*), max(id), sum(finished_at), sum(status='running')"
                          " FROM runs").fetchone()
    except sqlite3.Error:
        return ()
    finally:
        db.close()


class SpikeLab(pn.viewable.Viewer):
    """The app: tabs Compare / Launch / Runs over one results store and the shared job queue.

    Launch and Runs are built the first time they are needed, so a first visit pays only for
    Compare (measured in benchmarks/dashboard.py).
    """

    def __init__(self, store: ResultsStore | None = None, jobs: JobManager | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        self.store = store or ResultsStore()
        self.jobs = jobs or default_manager()
        self.compare = CompareView(self.store)
        self._slots = {1: pn.Column(sizing_mode="stretch_width"),
                       2: pn.Column(sizing_mode="stretch_width")}
        self.tabs = pn.Tabs(("Compare", self.compare), ("Launch", self._slots[1]),
                            ("Runs", self._slots[2]), dynamic=True, sizing_mode="stretch_width")
        self.tabs.param.watch(lambda e: self._open(e.new), "active")
        self.compare.param.watch(lambda _: self.demo(), "demo")
        self._fingerprint = _fingerprint(self.store)
        self._last_check = time.monotonic()

    @functools.cached_property
    def launch(self) -> LaunchView:
        view = LaunchView(self.store, self.jobs)
        view.param.watch(lambda e: self.show(e.new), "show_run")
        return view

    @functools.cached_property
    def runs(self) -> RunsView:
        return RunsView(self.store)

    def _open(self, tab: int) -> None:
        if tab in self._slots and not self._slots[tab].objects:
            self._slots[tab].objects = [self.launch if tab == 1 else self.runs]

    def demo(self) -> Job | None:
        """Launch the demo (the default Config of bptt, else the first method) in Launch."""
        self.launch.method = DEMO_METHOD if DEMO_METHOD in registry.METHODS else next(
            iter(registry.METHODS))
        self.launch.form.reset()
        self.tabs.active = 1
        return self.launch.launch()

    def show(self, run_id: int | None) -> None:
        if run_id is not None:
            self.compare.include(run_id)
            self.tabs.active = 0

    def poll(self, check_store_every: float = 2.0) -> None:
        """Update running jobs; re-read the store when a run ends here or elsewhere (CLI)."""
        ended = self.launch.poll() if "launch" in self.__dict__ else []
        now = time.monotonic()
        changed = False
        if ended or now - self._last_check >= check_store_every:
            self._last_check = now
            fingerprint = _fingerprint(self.store)
            changed, self._fingerprint = fingerprint != self._fingerprint, fingerprint
        if changed:
            self.compare.refresh()
            if "runs" in self.__dict__:
                self.runs.refresh()
        for job in ended:
            if job.status == "finished":
                self.compare.include(job.run_id)
            _notify(job)

    def start_polling(self, period_ms: int = 500) -> None:
        """Poll while this browser session lives (call it inside `panel serve`)."""
        callback = pn.state.add_periodic_callback(self.poll, period=period_ms)
        pn.state.on_session_destroyed(lambda _: callback.stop())

    def template(self) -> pn.template.BaseTemplate:
        return template([self.tabs])

    def __panel__(self) -> pn.viewable.Viewable:
        return self.tabs


def _notify(job: Job) -> None:
    """A toast in the browser (only inside a served session)."""
    if pn.state.notifications is None:
        return
    notify = {"finished": pn.state.notifications.success,
              "failed": pn.state.notifications.error}.get(job.status,
                                                          pn.state.notifications.info)
    notify(f"{job.method}: run {job.status}", duration=4000)
