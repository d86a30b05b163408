"""Run a sweep on a Dask cluster; only this process (the client) writes the results store.

Each (config, seed) is one task; its row is written once its result is back, by the lifecycle
every run has (`registry.execute`: row, weights, finished) — so a worker that dies mid-run loses
nothing (the scheduler gives its task to another worker, and the row is written once, by
whichever result arrives) and no row is left `running`. Pairs already
finished in the store (same method, same config JSON) are skipped: a sweep resumes where it
stopped. Ctrl-C cancels what is pending and stores those runs as `cancelled`.

`run` is what the CLI calls; the dashboard calls its two halves, `start` (submit, return at
once) and `Running.collect` (in a thread that only waits and writes), and `Running.cancel`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, Future, as_completed
from tqdm.auto import tqdm

from .. import registry
from ..core import config as cfg
from ..core import signals
from ..core.results import ResultsStore
from ..core.training import RunCancelled
from ..version import __version__
from . import live
from .cluster import VersionMismatch, compute
from .spec import Spec, key


@dataclass
class Outcome:
    """What one sweep did: its id (None when nothing was left to run) and its runs by status."""

    sweep_id: int | None
    skipped: int  # finished in the store before this sweep
    finished: list[int] = field(default_factory=list)  # run ids
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


class Cancelled(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during a sweep, after the pending runs were cancelled and stored as
    such; `exit_code` is 130 for Ctrl-C, 143 for SIGTERM (`lab.core.signals`)."""

    def __init__(self, outcome: Outcome, exit_code: int = signals.EXIT_INTERRUPTED) -> None:
        super().__init__("sweep cancelled")
        self.outcome, self.exit_code = outcome, exit_code


def pending(spec: Spec, store: ResultsStore) -> list[Any]:
    """The spec's configs that have no finished run in `store` yet."""
    done = {key(r.config) for r in store.runs(spec.method, status="finished")}
    todo = {key(cfg.as_dict(c)): c for c in spec.configs()}
    return [c for k, c in todo.items() if k not in done]


def run(spec: Spec, store: ResultsStore, client: Client, progress: bool = True,
        on_done: Callable[[int, Any], None] | None = None) -> Outcome:
    """Run every pending config of `spec` on `client`'s workers, storing each as it returns;
    `on_done(run_id, config)` is called after each row is stored.

    Ctrl-C cancels the rest and raises `Cancelled`; a VersionMismatch cancels the rest and
    propagates.
    """
    return start(spec, store, client).collect(progress, on_done)


def start(spec: Spec, store: ResultsStore, client: Client, topic: str | None = None,
          keep_models: bool = True, resume: bool = True) -> Running:
    """Submit `spec`'s pending configs (all of them if not `resume`); returns at once.

    With a `topic` each run reports its progress there and `Running.cancel` also stops the runs
    under way (`live`). Finished runs' models are sent back and saved next to the store, as
    for a run from `python -m lab run`; `keep_models=False` leaves them on the workers.
    """
    todo = pending(spec, store) if resume else spec.configs()
    outcome = Outcome(None, len(spec.configs()) - len(todo))
    if todo:
        outcome.sweep_id = store.start_sweep(spec.method, spec.as_dict())
    futures = {client.submit(compute, spec.method, cfg.as_dict(c), __version__, topic,
                             keep_models, pure=False): c for c in todo}
    return Running(spec, store, client, futures, outcome, topic)


class Running:
    """A submitted sweep: `collect` stores each run as it returns, `cancel` stops the rest."""

    def __init__(self, spec: Spec, store: ResultsStore, client: Client,
                 futures: dict[Future, Any], outcome: Outcome, topic: str | None) -> None:
        self.spec, self.store, self.client, self.outcome = spec, store, client, outcome
        self.futures, self.topic = futures, topic
        self._lock = threading.Lock()  # `cancel` comes from another thread than `collect`

    def collect(self, progress: bool = True,
                on_done: Callable[[int, Any], None] | None = None) -> Outcome:
        """Store each run as it returns (finished, failed or cancelled); see `run`."""
        spec, store, outcome = self.spec, self.store, self.outcome
        if outcome.sweep_id is None:
            return outcome
        with store.heartbeat(sweep_id=outcome.sweep_id), \
                tqdm(total=len(self.futures), desc=f"{spec.method} sweep", unit="run",
                     disable=not progress) as bar:
            try:
                for future in as_completed(list(self.futures)):
                    config = self.futures[future]
                    with signals.deferred():  # Ctrl-C waits for the whole row (not half one)
                        run_id = _store(future, config, spec, store, outcome)
                        with self._lock:
                            del self.futures[future]  # after its row: Ctrl-C finds it stored
                    if on_done:
                        on_done(run_id, config)
                    bar.update()
                    if outcome.failed:
                        bar.set_postfix_str(f"{len(outcome.failed)} failed")
            except VersionMismatch:
                _cancel(self.client, self.futures, spec, store, outcome)
                store.end_sweep(outcome.sweep_id, "failed")
                raise
            except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (`signals.Terminated`)
                _cancel(self.client, self.futures, spec, store, outcome)
                store.end_sweep(outcome.sweep_id, "cancelled")
                raise Cancelled(outcome, signals.exit_code(stop)) from None
        store.end_sweep(outcome.sweep_id, "cancelled" if outcome.cancelled
                        else "failed" if outcome.failed else "finished")
        return outcome

    def cancel(self) -> None:
        """Cancel the runs not back yet: `collect` stores them `cancelled`. Runs under way stop
        at their next progress report if the sweep has a topic, else run on, unused."""
        if self.topic:
            live.stop(self.client, self.topic)
        with self._lock:
            waiting = [f for f in self.futures if not f.done()]
        self.client.cancel(waiting)


def _store(future: Future, config: Any, spec: Spec, store: ResultsStore,
           outcome: Outcome) -> int:
    """Store `future`'s run as every run is stored (`registry.execute`, given what the worker
    sent back): finished with its weights, failed or cancelled; returns its id. A
    VersionMismatch is re-raised."""
    return _through_lifecycle(lambda *_: _result(future), config, spec, store, outcome)


def _cancelled(config: Any, spec: Spec, store: ResultsStore, outcome: Outcome) -> int:
    """Store a run that never ran as `cancelled`, through the same lifecycle."""

    def never_ran(*_: Any) -> dict[str, Any]:
        raise RunCancelled(registry.CANCELLED)

    return _through_lifecycle(never_ran, config, spec, store, outcome)


def _result(future: Future) -> dict[str, Any]:
    """What the worker sent back: its result, else its exception raised here (RunCancelled for
    a task cancelled before it ran)."""
    if future.status == "cancelled":
        raise RunCancelled(registry.CANCELLED)
    if future.status == "error":
        raise future.exception()
    return future.result()


def _through_lifecycle(compute: registry.Compute, config: Any, spec: Spec, store: ResultsStore,
                       outcome: Outcome) -> int:
    try:
        run_id = registry.execute(spec.method, config, store, compute=compute,
                                  sweep_id=outcome.sweep_id)
    except registry.RunFailed as err:
        (outcome.cancelled if err.status == "cancelled" else outcome.failed).append(err.run_id)
        if isinstance(err.__cause__, VersionMismatch):
            raise err.__cause__ from None
        return err.run_id
    outcome.finished.append(run_id)
    return run_id


def _cancel(client: Client, futures: dict[Future, Any], spec: Spec, store: ResultsStore,
            outcome: Outcome) -> None:
    """Cancel the futures not yet stored: results already back are kept, the rest stored
    `cancelled`."""
    stored = {key(r.config) for r in store.runs(sweep_id=outcome.sweep_id)}
    unstored = {f: c for f, c in futures.items() if key(cfg.as_dict(c)) not in stored}
    client.cancel([f for f in unstored if f.status != "finished"])
    for future, config in unstored.items():
        if future.status == "finished":
            _store(future, config, spec, store, outcome)
            continue
        _cancelled(config, spec, store, outcome)
