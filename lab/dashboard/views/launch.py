"""Launch: pick a method, fill its Config, run it in the background and watch its card."""

from __future__ import annotations

import dataclasses
import inspect
import uuid
from typing import Any

import panel as pn
import param

from ... import registry
from ...core import stats
from ...core.config import ConfigError
from ...core.results import ResultsStore, Run
from ...sweep import MAX_SEEDS
from ..engine import Engine, Job
from ..forms import ConfigForm
from .style import ACCENT, badge, escaped, heading, markdown_text, summary_line

DEMO_METHOD = "bptt"


def demo_method() -> str:
    """The demo's method: `DEMO_METHOD` if registered, else the first method."""
    return DEMO_METHOD if DEMO_METHOD in registry.METHODS else next(iter(registry.METHODS))


class JobCard(pn.viewable.Viewer):
    """One launch (a configuration over its seeds): progress bar, live metrics, cancel; its
    result when it ends."""

    show = param.Event(doc="'Show in Compare' was clicked")

    def __init__(self, job: Job, jobs: Engine, **params: Any) -> None:
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
        self._seen, self._thinned = 0, 0  # history points sent, and how often it was thinned
        self._first: dict[str, float] = {}  # each live metric's first value
        self.shown_active = True  # whether the job was active when last drawn
        self.update()
        self.shown_active = True  # so the first poll reports a job that ended before it

    def update(self) -> bool:
        """Copy the job's state (written by its waiting thread and the workers' reports) into
        the widgets; True if the job ended since the last update."""
        job = self.job
        ended = self.shown_active and not job.active
        self.shown_active = job.active
        config = job.config
        self._title.object = (f"<b>{escaped(job.method)}</b> on "
                              f"{escaped(getattr(config, 'dataset', '—'))}"
                              f" · {_seeds(job)} &nbsp;{badge(job.status)}"
                              f'<div style="color:#666;font-size:12px">{escaped(_what(job))}'
                              "</div>")
        self._bar.value = round(1000 * job.fraction)
        self._bar.bar_color = {"finished": "success", "failed": "danger",
                               "cancelled": "secondary"}.get(job.status, "primary")
        self._status.object = self._status_text()
        self._cancel.visible = job.active
        self._cancel.disabled = job.cancelling
        self._show.visible = job.status == "finished"
        self._error.object = (f"**The run failed:** <code>{markdown_text(job.error)}</code>"
                              if job.error else "")
        self._error.visible = job.error is not None
        self._update_trends()
        return ended

    def _status_text(self) -> str:
        job = self.job
        message = escaped(job.message)  # a method's progress line: may quote a file name
        if job.status == "queued":
            ahead = self.jobs.ahead_of(job)
            return (f"{message}: {ahead} run{'s' * (ahead != 1)} ahead of it" if ahead
                    else message)
        done, total = job.count("finished", "failed", "cancelled"), len(job.runs)
        text = f"{message} · {job.elapsed:.1f} s"
        if total > 1:
            text = f"{done}/{total} runs done · " + text
        if job.remaining is not None:
            text += f" · about {job.remaining:.0f} s left"
        if job.status == "finished" and job.run_ids:
            text = f"{_finished(job)} in {job.elapsed:.1f} s" + _accuracy(job)
        return text

    def _update_trends(self) -> None:
        """Send the live metrics reported since the last update (all of them once after the
        job thinned its history): a growing run costs each poll only its new points."""
        thinned, points = self.job.history_after(self._thinned, self._seen)
        whole = thinned != self._thinned
        if not points and not whole:
            return
        self._thinned = thinned
        self._seen = len(points) if whole else self._seen + len(points)
        series: dict[str, dict[str, list[float]]] = {}
        for fraction, metrics in points:
            for name, value in metrics.items():
                xy = series.setdefault(name, {"x": [], "y": []})
                xy["x"].append(round(100 * fraction, 1))
                xy["y"].append(value)
        trends = {t.label: t for t in self._trends}
        for name, xy in series.items():
            first = self._first.setdefault(name, xy["y"][0])
            last = xy["y"][-1]  # the small print under the value: the change since the first log
            change = {"value": last, "value_change": (last - first) / abs(first) if first else 0.0}
            if name not in trends:
                self._trends.append(pn.indicators.Trend(
                    label=name, data=xy, **change, plot_type="line",
                    height=110, width=240, plot_color=ACCENT, margin=(0, 10),
                    pos_color="#666", neg_color="#666"))
            elif whole:
                trends[name].param.update(data=xy, **change)
            else:
                trends[name].stream(xy)
                trends[name].param.update(**change)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._title, self._bar, self._status, self._trends, self._error,
                         pn.Row(self._cancel, self._show),
                         styles={"border": "1px solid #ddd", "border-radius": "6px"},
                         sizing_mode="stretch_width", margin=(0, 0, 10, 0))


def _what(job: Job) -> str:
    """A launch's changes from the defaults, or a sweep's grid."""
    if len(job.spec.points()) == 1:
        return _changes(job.config)
    return "grid " + " · ".join(f"{k}={','.join(map(str, v))}" for k, v in job.spec.grid.items()
                                if len(v) > 1)


def _seeds(job: Job) -> str:
    seeds = [state.seed for state in job.runs.values()]
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"


def _finished(job: Job) -> str:
    ids = job.run_ids
    return f"run #{ids[0]} finished" if len(ids) == 1 else \
        f"{len(ids)} runs (#{ids[0]}–#{ids[-1]}) finished"


def _accuracy(job: Job) -> str:
    """' · accuracy 93.1 %', or over seeds ' · accuracy 93.1 ± 0.8 % (95% CI, n = 3)'; for a
    grid of several configurations nothing (their seeds are not repeats of one experiment)."""
    if len(job.spec.points()) > 1:
        return " · compare its configurations in <b>Compare</b> and <b>Difference</b>"
    values = [v for v in (job.store.get(i).metrics.get("accuracy") for i in job.run_ids)
              if isinstance(v, int | float)]
    if not values:
        return ""
    s = stats.summary(values)
    if s.n == 1:
        return f" · accuracy <b>{s.mean:.1f} %</b>"
    return (f" · accuracy <b>{s.mean:.1f} ± {s.ci_high - s.mean:.1f} %</b> "
            f"(mean ± 95% interval, n = {s.n})")


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
    """Pick a method, fill its Config (checked as you type), launch it on the engine's workers
    with `seeds` model seeds from the form's seed on (a sweep of one configuration).

    The cards are the jobs of `owner`, the browser's token: a reloaded page shows the runs it
    launched, still running or ended, each with its Cancel while it runs.
    """

    method = param.Selector(default=None, objects=[], doc="registry name of the method")
    show_runs = param.List(default=[], item_type=int, doc="runs to show in Compare")
    owner = param.String(default="", doc="whose jobs the cards show: the browser's token; "
                         "a token of this view's own until the browser's arrives")

    seeds = param.Integer(default=1, bounds=(1, MAX_SEEDS),
                          doc="model seeds to run: the form's seed and the next ones")

    def __init__(self, store: ResultsStore, jobs: Engine, **params: Any) -> None:
        self.param.method.objects = list(registry.METHODS)
        params.setdefault("method", demo_method())
        params["owner"] = params.get("owner") or uuid.uuid4().hex
        super().__init__(**params)
        self.store, self.jobs = store, jobs
        self.forms: dict[str, ConfigForm] = {}
        self.cards: list[JobCard] = []
        self._about = pn.pane.Markdown("", margin=(0, 10), styles={"color": "#444"})
        self._loaded = pn.pane.Markdown("", margin=(0, 10), visible=False,
                                        styles={"color": "#444"})
        self._form_slot = pn.Column(sizing_mode="stretch_width")
        self._launch = pn.widgets.Button(label="▶ Launch run", color="primary", width=160,
                                         on_click=lambda _: self.launch(),
                                         margin=(27, 10, 5, 10))  # level with `seeds`' box
        self._reset = pn.widgets.Button(label="Defaults", width=100, margin=(27, 10, 5, 10),
                                        on_click=lambda _: self.form.reset())
        self._cards = pn.Column(sizing_mode="stretch_width")
        self._queue = pn.pane.Markdown("", styles={"color": "#555"})
        self._none = pn.pane.Markdown("Runs you launch show up here with their progress. "
                                      "They train on the lab's Dask workers (as `python -m "
                                      "lab sweep` does), so the page stays usable while they "
                                      "run; finished runs appear in **Compare**.",
                                      styles={"color": "#555"})
        self._on_method()
        self._adopt()

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
        self._loaded.visible = False
        try:
            module = registry.method(self.method)
        except Exception:  # noqa: BLE001  (shown instead of the form)
            self._about.object = f"**{self.method}** {summary_line(self.method)}"
            self._form_slot.objects, self._launch.disabled = [], True
            return
        defaults = inspect.getdoc(module.Config) or ""
        self._about.object = f"**{summary_line(self.method)}**" + (
            f"\n\n{defaults}" if defaults else "")
        self._form_slot.objects = [self.form]
        self._launch.disabled = self.form.config is None

    @param.depends("owner", watch=True)
    def _adopt(self) -> None:
        """Make this view's jobs the owner's, and show a card for every job of the owner."""
        for card in self.cards:  # launched before the browser's token arrived
            card.job.owner = self.owner
        carded = {card.job.id for card in self.cards}
        for job in self.jobs.jobs(self.owner):
            if job.id not in carded and job.kind == "launch":  # Sweeps shows the sweeps
                card = self._add_card(job)
                card.shown_active = job.active  # an ended one was reported before the reload
        self._order_cards()

    def load(self, run: Run) -> list[str]:
        """Fill the form with `run`'s method and configuration; returns the stored fields the
        Config no longer has (left out)."""
        self.method = run.method
        self.form.reset()
        known = {k: v for k, v in run.config.items() if k in self.form.widgets}
        self.form.set(**known)
        dropped = [k for k in run.config if k not in known]
        self._loaded.object = (f"Filled from run #{run.id}"
                               + ("; left out (no longer in the Config): "
                                  f"{markdown_text(', '.join(dropped))}"
                                  if dropped else "") + ".")
        self._loaded.visible = True
        return dropped

    def launch(self, **values: Any) -> Job | None:
        """Submit the form's config over `seeds` seeds (after setting `values`); None if it is
        invalid."""
        self.form.set(**values)
        config = self.form.validate()
        if config is None:
            return None
        try:
            job = self.jobs.launch(self.method, config, self.store, self.owner, self.seeds)
        except ConfigError as err:  # over the memory limit (`lab.budget`): one line
            self.form._form_message.object = markdown_text(str(err))
            self.form._form_message.visible = True
            return None
        self._add_card(job)
        self._order_cards()
        return job

    def _add_card(self, job: Job) -> JobCard:
        card = JobCard(job, self.jobs)
        card.param.watch(lambda _: setattr(self, "show_runs", list(job.run_ids)), "show")
        self.cards.append(card)
        return card

    def _order_cards(self) -> None:
        """Newest first."""
        drawn = [c.job.id for c in self.cards]
        self.cards.sort(key=lambda card: -card.job.id)
        if len(self._cards.objects) != len(self.cards) or drawn != [c.job.id for c in self.cards]:
            self._cards.objects = list(self.cards)
        self._none.visible = not self.cards

    def poll(self) -> list[Job]:
        """Refresh the cards of active jobs; returns the jobs that ended since the last poll."""
        ended = [card.job for card in self.cards if card.shown_active and card.update()]
        others = sum(1 for j in self.jobs.jobs() if j.active and j.owner != self.owner)
        self._queue.object = (f"{others} run{'s' * (others != 1)} from other browsers "
                              "queued or running." if others else "")
        return ended

    def __panel__(self) -> pn.viewable.Viewable:
        form = pn.Column(
            pn.widgets.Select.from_param(self.param.method, width=260),
            self._about, self._loaded, self._form_slot,
            pn.Row(self._launch, pn.widgets.IntInput.from_param(
                self.param.seeds, width=110, name="seeds", css_classes=["field-seeds"],
                description="model seeds: the form's seed and the next ones; the card shows "
                "their mean with its 95% interval"), self._reset),
            sizing_mode="stretch_width",
        )
        runs = pn.Column(heading("Your runs"), self._queue,
                         self._none, self._cards, sizing_mode="stretch_width")
        return pn.Row(pn.Column(form, width=640), runs, sizing_mode="stretch_width")
