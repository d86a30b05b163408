"""`SpikeLab`: the tabs Compare / Difference / Launch / Sweeps / Runs over one store and the
shared engine, and `page`, what `panel serve` shows: the app, or why the results file cannot
be used."""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import panel as pn

from ...core.results import ResultsStore, Run, default_path
from ..engine import Engine, Job, default_engine
from ..hidden import HiddenRuns
from .compare import CompareView
from .launch import LaunchView, demo_method
from .owner import BrowserToken
from .paired import PairedView
from .runs import RunsView
from .style import ACCENT
from .sweeps import SweepsView

log = logging.getLogger(__name__)
STORE_ERRORS = (sqlite3.Error, OSError, ValueError)  # what an unusable results file raises
TABS = ("Compare", "Difference", "Launch", "Sweeps", "Runs")
COMPARE, DIFFERENCE, LAUNCH, SWEEPS, RUNS = range(len(TABS))


def template(main: list, title: str = "Spike Lab") -> pn.template.BaseTemplate:
    """The page: a header with the title, the content below it."""
    return pn.template.BootstrapTemplate(title=title, main=main, header_background=ACCENT,
                                         collapsed_sidebar=True, main_max_width="1500px",
                                         busy_indicator=None)  # the 0.5 s poll kept it busy


def page(results: str | os.PathLike | None = None, poll: bool = True) -> pn.template.BaseTemplate:
    """The app over `results` (default `$LAB_RESULTS`, else `results/lab.sqlite`), polling while
    the browser session lives; or, when that file cannot be used (not SQLite, unreadable, a
    newer schema), a page saying so instead of a blank one with the error in the server log."""
    path = Path(results) if results is not None else default_path()
    try:
        store = ResultsStore(path)
        store.runs()  # every row read once: a damaged file fails here, not in a view
    except STORE_ERRORS as err:
        log.error("results file %s cannot be used: %s", path, err)
        return template([error_panel(path, err)], title="Spike Lab: no results file")
    app = SpikeLab(store)
    if poll:
        app.start_polling()
    return app.template()


def error_panel(path: Path, err: Exception) -> pn.pane.Alert:
    """Why the results file cannot be used, and what to do about it."""
    return pn.pane.Alert(
        f"### The results file cannot be used\n\n`{path}`\n\n**{type(err).__name__}:** {err}"
        "\n\nPoint `LAB_RESULTS` at a SQLite results file of the lab (or unset it to use "
        "`results/lab.sqlite`) and restart the dashboard; a missing file is created. "
        "`python -m lab results --results FILE` reads the same file from a terminal.",
        alert_type="danger", css_classes=["results-error"], sizing_mode="stretch_width")


def _fingerprint(store: ResultsStore, hidden: HiddenRuns) -> tuple:
    """Changes whenever a run is added or ends, or one is hidden or restored: one cheap query
    instead of a full read. Raises what an unusable file raises (`STORE_ERRORS`)."""
    db = sqlite3.connect(store.path, timeout=5.0)
    try:
        return (*db.execute("SELECT count(*), max(id), sum(finished_at), sum(status='running')"
                            " FROM runs").fetchone(),
                *db.execute("SELECT count(*), sum(status='running') FROM sweeps").fetchone(),
                hidden.stamp())
    finally:
        db.close()


class SpikeLab(pn.viewable.Viewer):
    """The app: tabs Compare / Difference / Launch / Sweeps / Runs over one results store and
    the shared engine (`TABS`).

    The tabs after Compare are built the first time they are needed, so a first visit pays
    only for Compare (measured in benchmarks/dashboard.py). Served, even Compare reads the
    store and draws on the tick after the page's HTML has gone out: the browser spends the next
    second or two loading Panel's scripts before it asks for the document (which waits for
    Compare), so that work no longer delays the page's first byte. Outside a server, and in
    tests, it happens in the constructor.
    """

    def __init__(self, store: ResultsStore | None = None, jobs: Engine | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        self.store = store or ResultsStore()
        self.jobs = jobs or default_engine()
        self.hidden = HiddenRuns(self.store.path)
        self.owner = uuid.uuid4().hex  # this session's, until the browser's token arrives
        self.compare = CompareView(self.store, self.hidden, load=False)
        self._slots = {tab: pn.Column(sizing_mode="stretch_width")
                       for tab in range(DIFFERENCE, len(TABS))}
        # Not `dynamic`: Panel (1.9) redraws a pane of a hidden dynamic tab outside its
        # document and points the stylesheet every component shares at its CDN, so the page
        # then fetched loading.css from cdn.holoviz.org (tests/test_dashboard_browser.py).
        # The empty slots keep the first visit as light as a dynamic tab did.
        self.tabs = pn.Tabs(("Compare", self.compare),
                            *((TABS[tab], slot) for tab, slot in self._slots.items()),
                            sizing_mode="stretch_width")
        self.tabs.param.watch(lambda e: self._open(e.new), "active")
        self.compare.param.watch(lambda _: self.demo(), "demo")
        self.browser = BrowserToken()
        self.browser.param.watch(lambda e: self.adopt(e.new), "token")
        self._banner = pn.pane.Alert("", alert_type="danger", visible=False,
                                     css_classes=["store-error"], sizing_mode="stretch_width")
        self._fingerprint = _fingerprint(self.store, self.hidden)
        self._last_check = time.monotonic()
        pn.state.execute(self._load_compare, schedule=True)  # now, unless served

    def _load_compare(self) -> None:
        try:
            self.compare.refresh()
        except STORE_ERRORS as err:
            self._unreadable(err)

    @functools.cached_property
    def launch(self) -> LaunchView:
        view = LaunchView(self.store, self.jobs, owner=self.owner)
        view.param.watch(lambda e: self.show(e.new), "show_runs")
        return view

    @functools.cached_property
    def sweeps(self) -> SweepsView:
        return SweepsView(self.store, self.jobs, owner=self.owner)

    @functools.cached_property
    def paired(self) -> PairedView:
        return PairedView(self.store, self.hidden)

    @functools.cached_property
    def runs(self) -> RunsView:
        view = RunsView(self.store, self.hidden)
        view.param.watch(lambda _: self.relaunch(view.selected, now=True), "rerun")
        view.param.watch(lambda _: self.relaunch(view.selected, now=False), "edit")
        view.param.watch(lambda _: self.compare.refresh(), "changed")
        return view

    def _open(self, tab: int) -> None:
        # The browser's token is asked for with Launch, the first tab that needs it, so the
        # first visit (Compare) pays nothing for it.
        if tab in (LAUNCH, SWEEPS):
            self.jobs.warm()
        if tab in self._slots and not self._slots[tab].objects:
            self._slots[tab].objects = {DIFFERENCE: lambda: [self.paired],
                                        LAUNCH: lambda: [self.launch, self.browser],
                                        SWEEPS: lambda: [self.sweeps],
                                        RUNS: lambda: [self.runs]}[tab]()

    def adopt(self, token: str) -> None:
        """Take the browser's token as the owner of the runs launched here, and show its runs
        launched before a reload."""
        if token:
            self.owner = token
            for name in ("launch", "sweeps"):
                if name in self.__dict__:
                    getattr(self, name).owner = token

    def demo(self) -> Job | None:
        """Launch the demo (the default Config of bptt, else the first method) in Launch."""
        self.launch.method = demo_method()
        self.launch.form.reset()
        self.tabs.active = LAUNCH
        return self.launch.launch()

    def relaunch(self, run: Run | None, now: bool) -> Job | None:
        """Fill Launch with `run`'s method and configuration, and launch it if `now`."""
        if run is None:
            return None
        self.launch.load(run)
        self.tabs.active = LAUNCH
        return self.launch.launch() if now else None

    def show(self, run_ids: list[int]) -> None:
        for run_id in run_ids:
            self.compare.include(run_id)
        if run_ids:
            self.tabs.active = COMPARE

    def poll(self, check_store_every: float = 2.0) -> None:
        """Update running jobs; re-read the store when a run ends here or elsewhere (CLI). A
        results file that became unusable shows a banner (and the last good tables) instead of
        failing every poll."""
        launched = self.launch.poll() if "launch" in self.__dict__ else []
        ended = launched + (self.sweeps.poll() if "sweeps" in self.__dict__ else [])
        now = time.monotonic()
        changed = False
        try:
            if ended or now - self._last_check >= check_store_every:
                self._last_check = now
                fingerprint = _fingerprint(self.store, self.hidden)
                changed, self._fingerprint = fingerprint != self._fingerprint, fingerprint
            if changed:
                self.compare.refresh()
                for name in ("runs", "sweeps", "paired"):
                    if name in self.__dict__:
                        getattr(self, name).refresh()
        except STORE_ERRORS as err:
            self._unreadable(err)
        else:
            self._banner.visible = False
        for job in ended:
            if job in launched:  # a sweep's runs are many: Compare shows them when picked
                for run_id in job.run_ids:
                    self.compare.include(run_id)
            _notify(job)

    def _unreadable(self, err: Exception) -> None:
        """The banner saying the results file cannot be read (and why)."""
        if not self._banner.visible:
            log.error("results file %s cannot be read: %s", self.store.path, err)
        self._banner.object = (f"**The results file cannot be read:** `{self.store.path}`"
                               f" ({type(err).__name__}: {err}). Tables show what was "
                               "last read; this clears once the file reads again.")
        self._banner.visible = True

    def start_polling(self, period_ms: int = 500) -> None:
        """Poll while this browser session lives (call it inside `panel serve`)."""
        callback = pn.state.add_periodic_callback(self.poll, period=period_ms)
        pn.state.on_session_destroyed(lambda _: callback.stop())

    def template(self) -> pn.template.BaseTemplate:
        return template([self._banner, self.tabs])

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._banner, self.tabs, sizing_mode="stretch_width")


def _notify(job: Job) -> None:
    """A toast in the browser (only inside a served session)."""
    if pn.state.notifications is None:
        return
    notify = {"finished": pn.state.notifications.success,
              "failed": pn.state.notifications.error}.get(job.status,
                                                          pn.state.notifications.info)
    what = "run" if len(job.runs) == 1 else f"sweep of {len(job.runs)} runs"
    notify(f"{job.method}: {what} {job.status}", duration=4000)
