"""The one way to run a method into the results store (methods by name: `lab.methods`).

A method is a module with a frozen dataclass `Config` and `run(config, progress) -> dict` with
keys `metrics`, `curves`, `timings`, and optionally `models` (name → trained module) with the
`architecture` that rebuilds them (`input_shape`, `num_classes`; the module's
`networks(config, input_shape, num_classes)` builds them untrained). Every stored run goes
through `execute`: the CLI's, and each run of a sweep (the dashboard's launches included), whose
client passes on the result its worker computed.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import traceback
from collections.abc import Callable
from typing import Any

from . import budget, weights
from .core import config as cfg
from .core import signals
from .core.results import ResultsStore
from .core.training import Progress, RunCancelled
from .methods import METHODS, method
from .version import __version__

__all__ = ["METHODS", "RunFailed", "check_data", "execute", "method", "not_finite"]

# Where a run is computed: (method name, config, progress) → the method's result dict.
Compute = Callable[[str, Any, "Progress | None"], dict[str, Any]]


def execute(name: str, config: Any, store: ResultsStore, progress: Progress | None = None, *,
            compute: Compute | None = None, sweep_id: int | None = None) -> int:
    """Run `config` of method `name` into `store`: the one life of every stored run (the CLI's,
    a sweep's and the dashboard's); returns the run id.

    1. Computed here, the files a real dataset needs are checked first (`check_data`), and
       the memory the config asks for (`budget.check`): missing files or an estimate over the
       limit raise ConfigError and store nothing (a sweep checks both when it is made).
    2. The row is inserted `running` (tagged with `sweep_id`).
    3. The method runs: here, `method(name).run(config, progress)`, or wherever `compute`
       runs it (a sweep's client passes the result its worker sent back).
    4. A result with a non-finite metric, curve value or timing ends `failed` ("diverged").
    5. Its `models`, if any, are saved next to the store (`lab.weights`) before the row says
       `finished`: a finished run always has the weights it trained.
    6. The row ends `finished` with metrics, curves and timings (and, from a worker, the
       machine it ran on and its start and end times).

    On any error the row ends `cancelled` (RunCancelled, Ctrl-C) or `failed` with the reason,
    then RunFailed (carrying `run_id` and `status`) is raised, or KeyboardInterrupt again.
    """
    if compute is None:
        check_data(config)
        budget.check(name, config)  # before the row and any tensor: one line naming the fields
    fields = cfg.as_dict(config)
    run_id = None
    try:
        with signals.deferred():  # Ctrl-C waits for the row, then ends it `cancelled` below
            run_id = store.start(name, getattr(config, "dataset", "-"),
                                 getattr(config, "seed", 0), fields, __version__,
                                 sweep_id=sweep_id)
        # beats while it computes here, so readers on other machines see it alive (a sweep's
        # client passes a result already back: nothing to wait for)
        with store.heartbeat(run_id) if compute is None else contextlib.nullcontext():
            result = (compute or _here)(name, config, progress)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (`signals.Terminated`)
        if run_id is not None:
            store.fail(run_id, signals.reason(stop), status="cancelled")
        raise
    except RunCancelled as err:
        store.fail(run_id, CANCELLED, status="cancelled")
        raise RunFailed(run_id, "cancelled", f"run {run_id} was {CANCELLED}") from err
    except Exception as err:
        if run_id is None:  # the row could not be made: nothing to mark
            raise
        if compute is None and isinstance(err, cfg.ConfigError):  # a data file refused while
            store.discard(run_id)  # loading, before any training: no run took place, no row
            raise
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        store.fail(run_id, last)
        raise RunFailed(run_id, "failed", f"run {run_id} failed: {last}; stored as failed in "
                        f"{store.path}") from err
    with signals.deferred():  # the result is back: Ctrl-C now waits until it is stored
        return _keep(name, config, store, run_id, result)


def _keep(name: str, config: Any, store: ResultsStore, run_id: int,
          result: dict[str, Any]) -> int:
    """Steps 4-6 of `execute`: store a computed result (failed if it is not finite)."""
    if "machine" in result:  # computed on a sweep's worker: its machine and start time
        store.ran(run_id, result["machine"], result["started_at"])
    when = {"finished_at": result["finished_at"]} if "finished_at" in result else {}
    problem = not_finite(result)
    if problem:
        store.fail(run_id, f"training diverged: {problem}", **when)
        raise RunFailed(run_id, "failed", f"run {run_id} failed: training diverged: {problem} "
                        f"(try a smaller lr); stored as failed in {store.path}")
    try:
        if result.get("models"):
            weights.save(store, run_id, name, config, result["models"],
                         result["architecture"])
        store.finish(run_id, result["metrics"], result["curves"], result["timings"], **when)
    except (sqlite3.Error, OSError, ValueError) as err:  # ValueError: WeightsError, bad JSON
        reason = f"its results could not be stored: {err}"
        try:
            store.fail(run_id, reason)
        except (sqlite3.Error, OSError):
            reason += " (nor could the row be marked failed)"
        raise RunFailed(run_id, "failed", f"run {run_id} failed: {reason}") from err
    return run_id


CANCELLED = "cancelled by the user"


def _here(name: str, config: Any, progress: Progress | None) -> dict[str, Any]:
    """Run the method in this process."""
    return method(name).run(config, progress)


def check_data(config) -> None:
    """The config's real dataset files are on disk (CIFAR batches, N-MNIST or DVS Gesture
    recordings), or a ConfigError naming `data_dir`, the missing files and the way out."""
    check_arch(config)
    name, data_dir = getattr(config, "dataset", None), getattr(config, "data_dir", "")
    if name in ("cifar10", "cifar100") and not getattr(config, "download", False):
        from .core import cifar

        cifar.check(name, data_dir)
    elif name in ("nmnist", "dvsgesture"):
        from .events import real

        real.check(name, data_dir)


def check_arch(config) -> None:
    """ConfigError naming `arch` when the config's network cannot be built for its dataset's
    images (VGG-16 halves an 8×8 digit five times), found by building it on PyTorch's `meta`
    device (shapes only, no memory) before any row is written."""
    from .core import data, models

    arch, shape = getattr(config, "arch", None), data.IMAGE_SHAPES.get(
        getattr(config, "dataset", None))
    if arch is None or shape is None:
        return
    import torch

    sizes = {k: getattr(config, k) for k in ("depth", "width") if hasattr(config, k)}
    try:
        with torch.device("meta"):
            models.build(arch, shape, 10, **sizes)
    except ValueError as err:
        raise cfg.ConfigError(f"arch {arch} does not fit dataset {config.dataset}: {err}") from None


class RunFailed(RuntimeError):
    """Run `run_id` ended `status` ('failed' or 'cancelled') without usable results, and is
    stored so; the message is one line for the user."""

    def __init__(self, run_id: int, status: str, message: str) -> None:
        super().__init__(message)
        self.run_id, self.status = run_id, status


def not_finite(result: dict) -> str:
    """'' if every metric, curve value and timing is finite (or None), else what is not."""
    bad = [k for k, v in result["metrics"].items() if _bad(v)]
    bad += [k for k, v in result["curves"].items() if any(_bad(x) for x in _flat(v))]
    bad += [k for k, v in result["timings"].items() if _bad(v)]
    if not bad:
        return ""
    shown = {k: result["metrics"][k] for k in bad if k in result["metrics"]}
    return ("non-finite values in " + ", ".join(bad[:5]) + ("…" if len(bad) > 5 else "")
            + (f" ({', '.join(f'{k} = {v}' for k, v in list(shown.items())[:2])})"
               if shown else ""))


def _bad(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isfinite(
        value)


def _flat(values: object) -> list:
    if isinstance(values, list | tuple):
        return [x for v in values for x in _flat(v)]
    return [values]
