"""Runs launched from the dashboard: a queue served by one background thread per server.

Every browser session submits to the same `JobManager`, so two sessions can launch at once and
both results land in the store. Runs execute one after another, never overlapping: PyTorch's
random generator is global to the process, so two runs seeding it at once would not be
reproducible, and on 2 cores two trainings side by side finish no sooner than in a row.

A job belongs to an `owner`: a token the browser keeps (its localStorage), not the session, so a
reloaded page finds the runs it launched (`JobManager.jobs(owner)`) and can still cancel them.
A job's live metrics (`history`) are written by the worker and read by the page: both go
through one lock, and the history is thinned to at most `MAX_HISTORY` points (every other point
dropped, the first kept) so a long run costs the page a bounded series.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import re
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import torch

from .. import registry
from ..core.results import ResultsStore
from ..core.training import RunCancelled

log = logging.getLogger(__name__)
MAX_HISTORY = 512  # points of live metrics kept per job; thinned by half beyond it
_NUMBER = re.compile(r"([A-Za-z_]\w*)[ =:]+(-?\d*\.\d+(?:[eE][-+]?\d+)?)")


def live_metrics(message: str) -> dict[str, float]:
    """Decimal numbers named in a progress message: 'epoch 2/3 loss 0.412' → {'loss': 0.412}."""
    return {name: float(value) for name, value in _NUMBER.findall(message)}


@dataclass
class Job:
    """One run submitted from the dashboard, as the worker thread updates it."""

    id: int
    method: str
    config: Any
    store: ResultsStore
    owner: str = ""  # the browser's token (see the module docstring)
    status: str = "queued"  # queued → running → finished | failed | cancelled
    fraction: float = 0.0
    message: str = "waiting for the worker"
    run_id: int | None = None
    error: str | None = None
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    _history: list[tuple[float, dict[str, float]]] = field(default_factory=list, repr=False)
    _thinned: int = 0  # how many times the history was thinned
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at

    @property
    def remaining(self) -> float | None:
        """Seconds left, extrapolated from the fraction done (None until 5 % is done)."""
        if self.status != "running" or self.fraction < 0.05:
            return None
        return self.elapsed * (1 - self.fraction) / self.fraction

    def cancel(self) -> None:
        """Stop at the next progress report (or before starting, if still queued)."""
        self._cancel.set()

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

    def _progress(self, fraction: float, message: str) -> None:
        if self._cancel.is_set():
            raise RunCancelled("cancelled from the dashboard")
        self.fraction, self.message = fraction, message
        metrics = live_metrics(message)
        if metrics:
            with self._lock:
                self._history.append((fraction, metrics))
                if len(self._history) > MAX_HISTORY:
                    self._history[1:] = self._history[2::2]
                    self._thinned += 1


class JobManager:
    """Submit runs; a daemon thread executes them in order with `registry.execute`."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._queue: queue.Queue[Job] = queue.Queue()
        self._jobs: list[Job] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def submit(self, method: str, config: Any, store: ResultsStore, owner: str = "") -> Job:
        """Queue `config` of `method` for `owner`; returns at once with the job to watch."""
        registry.method(method)  # an unknown name fails here, in the caller's thread
        with self._lock:
            job = Job(next(self._ids), method, config, store, owner)
            self._jobs.append(job)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, name="lab-runs", daemon=True)
                self._worker.start()
        self._queue.put(job)
        return job

    def jobs(self, owner: str | None = None) -> list[Job]:
        """Every job in the order submitted, or only those of `owner`."""
        with self._lock:
            return [j for j in self._jobs if owner is None or j.owner == owner]

    def ahead_of(self, job: Job) -> int:
        """How many active jobs were submitted before `job`."""
        return sum(1 for j in self.jobs() if j.active and j.id < job.id)

    def _serve(self) -> None:
        # One intra-op thread: measured 7× faster than 2 on a busy 2-core laptop, and it
        # leaves a core to the web server so the page stays responsive.
        torch.set_num_threads(self.threads)
        while True:
            self._execute(self._queue.get())

    def _execute(self, job: Job) -> None:
        try:
            if job._cancel.is_set():
                job.status, job.message = "cancelled", "cancelled before it started"
                return
            job.status, job.started_at = "running", time.time()
            job.message = "loading the data, building the model"
            job.run_id = registry.execute(job.method, job.config, job.store, job._progress)
            job.status, job.fraction, job.message = "finished", 1.0, "finished"
        except RunCancelled:
            job.status, job.message = "cancelled", "cancelled"
        except Exception as err:  # noqa: BLE001  (the run's error belongs to the job, not here)
            log.exception("run %s of %s failed", job.id, job.method)
            job.error = traceback.format_exception_only(type(err), err)[-1].strip()
            job.status, job.message = "failed", job.error
        finally:
            job.finished_at = time.time()
            job._done.set()


_default: JobManager | None = None
_default_lock = threading.Lock()


def default_manager() -> JobManager:
    """The manager every session of this server process shares."""
    global _default
    with _default_lock:
        if _default is None:
            _default = JobManager(threads=max(1, (os.cpu_count() or 2) // 2))
        return _default
