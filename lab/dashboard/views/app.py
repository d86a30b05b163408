"""`SpikeLab`: the tabs Compare / Launch / Runs over one store and the shared job queue."""

from __future__ import annotations

import functools
import sqlite3
import time
from typing import Any

import panel as pn

from ...core.results import ResultsStore
from ..jobs import Job, JobManager, default_manager
from .compare import CompareView
from .launch import LaunchView, demo_method
from .runs import RunsView
from .style import ACCENT


def template(main: list, title: str = "Spike Lab") -> pn.template.BaseTemplate:
    """The page: a header with the title, the content below it."""
    return pn.template.BootstrapTemplate(title=title, main=main, header_background=ACCENT,
                                         collapsed_sidebar=True, main_max_width="1500px",
                                         busy_indicator=None)  # the 0.5 s poll kept it busy


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
        self.launch.method = demo_method()
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
