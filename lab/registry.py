"""The one way to run a method into the results store (methods by name: `lab.methods`).

A method is a module with a frozen dataclass `Config` and `run(config, progress) -> dict` with
keys `metrics`, `curves`, `timings`, and optionally `models` (name → trained module) with the
`architecture` that rebuilds them (`input_shape`, `num_classes`; the module's
`networks(config, input_shape, num_classes)` builds them untrained). The CLI and the dashboard
both go through `execute`.
"""

from __future__ import annotations

import math
import sqlite3
import traceback

from . import weights
from .core import config as cfg
from .core.results import ResultsStore
from .core.training import Progress, RunCancelled
from .methods import METHODS, method
from .version import __version__

__all__ = ["METHODS", "RunFailed", "check_data", "execute", "method", "not_finite"]


def execute(name: str, config, store: ResultsStore, progress: Progress | None = None) -> int:
    """Run `config` of method `name`, recording it in `store`; returns the run id.

    Files a real dataset needs are checked first (`check_data`): missing ones store nothing.
    The row is written `running` next; it ends `finished`, `failed` (with the traceback's last
    line) or `cancelled`. Exceptions are re-raised after the row is updated. A finished run's
    `models` are saved next to the store (`lab.weights`).
    """
    check_data(config)
    run_id = store.start(name, getattr(config, "dataset", "-"), getattr(config, "seed", 0),
                         cfg.as_dict(config), __version__)
    try:
        result = method(name).run(config, progress)
    except (RunCancelled, KeyboardInterrupt):
        store.fail(run_id, "cancelled by the user", status="cancelled")
        raise
    except Exception as err:
        if isinstance(err, cfg.ConfigError):  # a data file refused while loading, before any
            store.discard(run_id)  # training: no run took place, no row
            raise
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        store.fail(run_id, last)
        raise
    try:
        problem = not_finite(result)
        if problem:
            store.fail(run_id, f"training diverged: {problem}")
            raise RunFailed(f"run {run_id} failed: training diverged: {problem} (try a smaller "
                            f"lr); stored as failed in {store.path}")
        if result.get("models"):
            weights.save(store.path, run_id, name, config, result["models"],
                          result["architecture"])
        store.finish(run_id, result["metrics"], result["curves"], result["timings"])
    except (sqlite3.Error, OSError, weights.WeightsError) as err:
        reason = f"its results could not be stored: {err}"
        try:
            store.fail(run_id, reason)
        except (sqlite3.Error, OSError):
            reason += " (nor could the row be marked failed)"
        raise RunFailed(f"run {run_id} failed: {reason}") from err
    return run_id


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
    """A run that ended without usable results; the message is one line for the user."""


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
