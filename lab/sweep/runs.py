"""Run a sweep on a Dask cluster; only this process (the client) writes the results store.

Each (config, seed) is one task; its row is inserted once its result is back, complete — so a
worker that dies mid-run loses nothing (the scheduler gives its task to another worker, and the
row is written once, by whichever result arrives) and no row is left `running`. Pairs already
finished in the store (same method, same config JSON) are skipped: a sweep resumes where it
stopped. Ctrl-C cancels what is pending and stores those runs as `cancelled`.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, Future, as_completed
from tqdm.auto import tqdm

from .. import __version__, registry
from ..core import config as cfg
from ..core.results import ResultsStore
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
    """Ctrl-C during a sweep, after the pending runs were cancelled and stored as such."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("sweep cancelled")
        self.outcome = outcome


def pending(spec: Spec, store: ResultsStore) -> list[Any]:
    """The spec's configs that have no finished run in `store` yet."""
    done = {key(r.config) for r in store.runs(spec.method, status="finished")}
    todo = {key(cfg.as_dict(c)): c for c in spec.configs()}
    return [c for k, c in todo.items() if k not in done]


def run(spec: Spec, store: ResultsStore, client: Client, progress: bool = True) -> Outcome:
    """Run every pending config of `spec` on `client`'s workers, storing each as it returns.

    Ctrl-C cancels the rest and raises `Cancelled`; a VersionMismatch cancels the rest and
    propagates.
    """
    todo = pending(spec, store)
    outcome = Outcome(None, len(spec.configs()) - len(todo))
    if not todo:
        return outcome
    outcome.sweep_id = store.start_sweep(spec.method, spec.as_dict())
    futures = {client.submit(compute, spec.method, cfg.as_dict(c), __version__, pure=False): c
               for c in todo}
    with tqdm(total=len(todo), desc=f"{spec.method} sweep", unit="run",
              disable=not progress) as bar:
        try:
            for future in as_completed(futures):
                _store(future, futures[future], spec, store, outcome)
                del futures[future]  # after its row: Ctrl-C in between finds it stored
                bar.update()
                if outcome.failed:
                    bar.set_postfix_str(f"{len(outcome.failed)} failed")
        except VersionMismatch:
            _cancel(client, futures, spec, store, outcome)
            store.end_sweep(outcome.sweep_id, "failed")
            raise
        except KeyboardInterrupt:
            _cancel(client, futures, spec, store, outcome)
            store.end_sweep(outcome.sweep_id, "cancelled")
            raise Cancelled(outcome) from None
    store.end_sweep(outcome.sweep_id, "failed" if outcome.failed else "finished")
    return outcome


def _store(future: Future, config: Any, spec: Spec, store: ResultsStore,
           outcome: Outcome) -> None:
    """Insert `future`'s run as one finished or failed row; a VersionMismatch is re-raised."""
    if future.status == "finished":
        result = future.result()
        problem = registry.not_finite(result)  # the same rule as `registry.execute`
        if not problem:
            outcome.finished.append(_record(config, "finished", spec, store, outcome, **result))
            return
        when = {k: result[k] for k in ("machine", "started_at", "finished_at")}
        outcome.failed.append(_record(config, "failed", spec, store, outcome,
                                      error=f"training diverged: {problem}", **when))
        return
    err = future.exception()
    now = time.time()
    last = traceback.format_exception_only(type(err), err)[-1].strip()
    outcome.failed.append(_record(config, "failed", spec, store, outcome, error=last,
                                  started_at=now, finished_at=now))
    if isinstance(err, VersionMismatch):
        raise err


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
        now = time.time()
        outcome.cancelled.append(_record(config, "cancelled", spec, store, outcome,
                                         error="cancelled by the user", started_at=now,
                                         finished_at=now))


def _record(config: Any, status: str, spec: Spec, store: ResultsStore, outcome: Outcome,
            **row: Any) -> int:
    return store.record(spec.method, getattr(config, "dataset", "-"), config.seed,
                        cfg.as_dict(config), __version__, status, sweep_id=outcome.sweep_id,
                        **row)
