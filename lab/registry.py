"""Every method the lab runs, by CLI name, and the one way to run one into the results store.

A method is a module with a frozen dataclass `Config` and `run(config, progress) -> dict` with
keys `metrics`, `curves`, `timings`, and optionally `models` (name → trained module) with the
`architecture` that rebuilds them (`input_shape`, `num_classes`; the module's
`networks(config, input_shape, num_classes)` builds them untrained). The CLI and the dashboard
both go through `execute`.
"""

from __future__ import annotations

import importlib
import traceback
from types import ModuleType

from . import __version__, weights
from .core import config as cfg
from .core.results import ResultsStore
from .core.training import Progress, RunCancelled

METHODS: dict[str, str] = {
    "bptt": "lab.bptt",
    "conversion": "lab.conversion",
    "ttl-bptt": "lab.ttl_bptt",
    "noise-single-step": "lab.noise_training",
    "streaming": "lab.streaming",
}


def method(name: str) -> ModuleType:
    """The module implementing method `name`."""
    if name not in METHODS:
        raise cfg.ConfigError(f"method must be one of {', '.join(METHODS)}, got {name!r}")
    return importlib.import_module(METHODS[name])


def execute(name: str, config, store: ResultsStore, progress: Progress | None = None) -> int:
    """Run `config` of method `name`, recording it in `store`; returns the run id.

    The row is written `running` first; it ends `finished`, `failed` (with the traceback's last
    line) or `cancelled`. Exceptions are re-raised after the row is updated. A finished run's
    `models` are saved next to the store (`lab.weights`).
    """
    run_id = store.start(name, getattr(config, "dataset", "-"), getattr(config, "seed", 0),
                         cfg.as_dict(config), __version__)
    try:
        result = method(name).run(config, progress)
    except (RunCancelled, KeyboardInterrupt):
        store.fail(run_id, "cancelled by the user", status="cancelled")
        raise
    except Exception as err:
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        store.fail(run_id, last)
        raise
    store.finish(run_id, result["metrics"], result["curves"], result["timings"])
    if result.get("models"):
        weights.save(store.path, run_id, name, config, result["models"], result["architecture"])
    return run_id
