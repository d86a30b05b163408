"""Launch: pick a method, fill its Config, run it in the background and watch its card."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import panel as pn
import param

from ... import registry
from ...core.results import ResultsStore
from ..forms import ConfigForm
from ..jobs import Job, JobManager
from .style import ACCENT, badge, heading, summary_line

DEMO_METHOD = "bptt"


def demo_method() -> str:
    """The demo's method: `DEMO_METHOD` if registered, else the first method."""
    return DEMO_METHOD if DEMO_METHOD in registry.METHODS else next(iter(registry.METHODS))


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
                              f" · seed {getattr(config, 'seed', '—')} &nbsp;{badge(job.status)}"
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
        self.param.method.objects = list(registry.METHODS)
        params.setdefault("method", demo_method())
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
            self._about.object = f"**{self.method}** {summary_line(self.method)}"
            self._form_slot.objects, self._launch.disabled = [], True
            return
        defaults = inspect.getdoc(module.Config) or ""
        self._about.object = f"**{summary_line(self.method)}**" + (
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
        runs = pn.Column(heading("Your runs"), self._queue,
                         self._none, self._cards, sizing_mode="stretch_width")
        return pn.Row(pn.Column(form, width=640), runs, sizing_mode="stretch_width")
