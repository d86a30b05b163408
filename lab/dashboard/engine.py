"""Runs launched from the dashboard: sweeps on the lab's one engine (`lab.sweep`), on Dask.

A launch is a sweep of one configuration over `seeds` model seeds (one by default), submitted
to a Dask client that every browser session of this server shares (`Engine`): a `LocalCluster`
started on the first launch (one worker process per core but one, which is left to the web
server; each worker one thread, torch on one thread), or the scheduler at `$LAB_SCHEDULER`.
Workers train; this process only waits for their results and writes the store, as
`python -m lab sweep` does, in one waiting thread per launch (`runs.Running.collect`), so the
web server's event loop never trains and never blocks.

Each run reports its progress as Dask events (`lab.sweep.live`): the `Job` keeps the latest
fraction and message of each of its runs, and the numbers named in the messages (`history`)
for the card's live trends. A job belongs to an `owner`: a token the browser keeps (its
localStorage), so a reloaded page finds the runs it launched and can still cancel them.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import re
import threading
import time
import traceback
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from distributed import Client

from ..core import config as cfg
from ..core.results import ResultsStore
from ..sweep import cluster, live, runs
from ..sweep.spec import Spec, key, of_config

log = logging.getLogger(__name__)
CLOSE_WAIT_S = 20.0  # at exit, how long the active jobs get to store their runs as cancelled
MAX_HISTORY = 512  # points of live metrics kept per job; thinned by half beyond it
ENDED = ("finished", "failed", "cancelled")
_NUMBER = re.compile(r"([A-Za-z_]\w*)[ =:]+(-?\d*\.\d+(?:[eE][-+]?\d+)?)")


def live_metrics(message: str) -> dict[str, float]:
    """Decimal numbers named in a progress message: 'epoch 2/3 loss 0.412' → {'loss': 0.412}."""
    return {name: float(value) for name, value in _NUMBER.findall(message)}


@dataclass
class RunState:
    """One run of a job as last reported: queued → running → finished | failed | cancelled."""

    seed: int
    status: str = "queued"
    fraction: float = 0.0
    message: str = "waiting for a worker"
    run_id: int | None = None


@dataclass
class Job:
    """One sweep launched from the dashboard, as its waiting thread and the workers update it."""

    id: int
    spec: Spec
    store: ResultsStore
    owner: str = ""
    resume: bool = False  # True: skip (config, seed) pairs already finished (the CLI's way)
    kind: str = "launch"  # from the Launch tab, or "sweep" from the Sweeps tab
    status: str = "queued"  # queued → running → finished | failed | cancelled
    message: str = "waiting for the workers"
    error: str | None = None
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    runs: dict[str, RunState] = field(default_factory=dict)  # by config key, in seed order
    topic: str = field(default_factory=lambda: f"lab-live-{uuid.uuid4().hex}")
    _history: list[tuple[float, dict[str, float]]] = field(default_factory=list, repr=False)
    _thinned: int = 0  # how many times the history was thinned
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cancelled: bool = False
    _running: runs.Running | None = field(default=None, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self.runs = {key(cfg.as_dict(c)): RunState(c.seed) for c in self.spec.configs()}

    @property
    def method(self) -> str:
        return self.spec.method

    @property
    def config(self) -> Any:
        """The first seed's Config (what the card shows)."""
        return self.spec.configs()[0]

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def cancelling(self) -> bool:
        return self._cancelled

    @property
    def run_ids(self) -> list[int]:
        """The stored ids of the finished runs, in seed order."""
        return [r.run_id for r in self.runs.values() if r.status == "finished"]

    @property
    def run_id(self) -> int | None:
        return next(iter(self.run_ids), None)

    @property
    def fraction(self) -> float:
        """How much of the job is done: its runs' fractions, an ended run counting whole."""
        states = list(self.runs.values())
        return sum(1.0 if r.status in ENDED else r.fraction for r in states) / len(states)

    def count(self, *statuses: str) -> int:
        return sum(r.status in statuses for r in self.runs.values())

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at

    @property
    def remaining(self) -> float | None:
        """Seconds left, extrapolated from the fraction done (None until 5 % is done)."""
        fraction = self.fraction
        if self.status != "running" or fraction < 0.05:
            return None
        return self.elapsed * (1 - fraction) / fraction

    def cancel(self) -> None:
        """Cancel the runs not back yet; those under way stop at their next progress report."""
        with self._lock:
            self._cancelled, running = True, self._running
        if running is not None:
            running.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended; False on timeout."""
        return self._done.wait(timeout)

    @property
    def history(self) -> list[tuple[float, dict[str, float]]]:
        """A copy of the live metrics so far: (fraction done, {name: value}) per report."""
        with self._lock:
            return list(self._history)

    def history_after(self, thinned: int, seen: int) -> tuple[int, list]:
        """`(thinned, points)`: the points after the first `seen` while the history has been
        thinned `thinned` times, else (it was thinned since) all of them; read under the lock."""
        with self._lock:
            if thinned != self._thinned:
                return self._thinned, list(self._history)
            return thinned, self._history[seen:]

    def report(self, event: dict[str, Any]) -> None:
        """A worker's progress report (`lab.sweep.live`) on one of this job's runs."""
        state = self.runs.get(event.get("run", ""))
        if state is None or state.status in ENDED:
            return
        if self.started_at is None:
            self.started_at = time.time()
        self.status = "running"
        state.status, state.fraction, state.message = "running", event["fraction"], \
            event["message"]
        self.message = state.message
        metrics = live_metrics(state.message)
        if metrics:
            with self._lock:
                self._history.append((self.fraction, metrics))
                if len(self._history) > MAX_HISTORY:
                    self._history[1:] = self._history[2::2]
                    self._thinned += 1

    def stored(self, run_id: int, config: Any) -> None:
        """A run's row is in the store (`runs.Running.collect`'s `on_done`)."""
        state = self.runs[key(cfg.as_dict(config))]
        run = self.store.get(run_id)
        state.status, state.run_id, state.fraction = run.status, run_id, 1.0
        if run.status == "failed":
            self.error = run.error


class Engine:
    """Submit launches to a Dask client shared by every session; `jobs` lists them."""

    def __init__(self, address: str | None = None, workers: int | None = None,
                 client: Client | None = None) -> None:
        """`client`: one to use (a test's in-process cluster); else one to `address` (default
        `$LAB_SCHEDULER`), else a local cluster of `workers` (default: cores − 1) on first use."""
        self.address, self.workers = address, workers
        self._client, self._exit = client, ExitStack()
        self._jobs: list[Job] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._starting = threading.Lock()

    def client(self) -> Client:
        """The shared client, started on first use (seconds for a local cluster)."""
        with self._starting:
            if self._client is None:
                workers = self.workers or max(1, cluster.cores() - 1)
                self._client = self._exit.enter_context(cluster.connect(self.address, workers))
                atexit.register(self.close)
            return self._client

    def warm(self) -> None:
        """Start the client in the background now (the page opened Launch or Sweeps), so a
        first launch does not wait for the workers to start."""
        if self._client is None:
            threading.Thread(target=lambda: _quietly(self.client), name="lab-engine-start",
                             daemon=True).start()

    def close(self, wait: float = CLOSE_WAIT_S) -> None:
        """Cancel the jobs still active and give them `wait` seconds to store their runs
        `cancelled`, then stop the local cluster this engine started (if any).

        Called at interpreter exit: `panel serve` stops its event loop on SIGTERM as on Ctrl-C
        and exits, so a terminated server stores its jobs' runs as `cancelled` instead of
        leaving their sweeps `running`. The workers' client has its own thread, so it still
        answers here; if not, the workers go with the process."""
        active = [job for job in self.jobs() if job.active]
        for job in active:
            _quietly(job.cancel)
        deadline = time.monotonic() + wait
        for job in active:
            job.wait(max(0.0, deadline - time.monotonic()))
        _quietly(self._exit.close)

    def launch(self, method: str, config: Any, store: ResultsStore, owner: str = "",
               seeds: int = 1) -> Job:
        """Run `config` with `seeds` model seeds from its own: a sweep of one configuration."""
        return self.sweep(of_config(method, config, seeds), store, owner, resume=False,
                          kind="launch")

    def sweep(self, spec: Spec, store: ResultsStore, owner: str = "", resume: bool = True,
              kind: str = "sweep") -> Job:
        """Submit `spec` (with `resume`, only its pairs not yet finished in the store);
        returns at once with the job to watch."""
        with self._lock:
            job = Job(next(self._ids), spec, store, owner, resume, kind)
            self._jobs.append(job)
        threading.Thread(target=self._serve, args=(job,), name=f"lab-sweep-{job.id}",
                         daemon=True).start()
        return job

    def jobs(self, owner: str | None = None) -> list[Job]:
        """Every job in the order submitted, or only those of `owner`."""
        with self._lock:
            return [j for j in self._jobs if owner is None or j.owner == owner]

    def ahead_of(self, job: Job) -> int:
        """How many runs of jobs submitted before `job` have not ended: they go first."""
        return sum(j.count("queued", "running") for j in self.jobs() if j.id < job.id)

    def _serve(self, job: Job) -> None:
        """Submit `job`'s runs, wait for them, store each; runs in the job's own thread."""
        client = None
        try:
            if self._client is None:
                job.message = "starting the workers (a few seconds, the first time)"
            client = self.client()
            job.message = "waiting for a worker"
            live.listen(client, job.topic, job.report)
            running = runs.start(job.spec, job.store, client, job.topic, keep_models=True,
                                 resume=job.resume)
            with job._lock:
                job._running = running
            if job._cancelled:
                running.cancel()
            for config in job.spec.configs():  # skipped: already finished in the store
                state = job.runs[key(cfg.as_dict(config))]
                if config not in running.futures.values():
                    state.status, state.fraction, state.message = "finished", 1.0, "already done"
            outcome = running.collect(progress=False, on_done=job.stored)
            job.status = ("cancelled" if outcome.cancelled else
                          "failed" if outcome.failed else "finished")
            job.message = job.status
        except Exception as err:  # noqa: BLE001  (the launch's error belongs to its card)
            log.exception("launch %s of %s failed", job.id, job.method)
            job.error = traceback.format_exception_only(type(err), err)[-1].strip()
            job.status, job.message = "failed", job.error
        finally:
            job.finished_at = time.time()
            if job.started_at is None:
                job.started_at = job.finished_at
            if client is not None:
                _quietly(live.close, client, job.topic)
            job._done.set()


def _quietly(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except Exception:  # noqa: BLE001  (a closed client at shutdown: nothing left to tidy)
        log.debug("could not tidy up after a launch", exc_info=True)


_default: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    """The engine every session of this server process shares."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Engine()
        return _default
