"""Sweeps: a grid of a method's configs × model seeds, run on Dask workers, every run stored.

    python -m lab sweep conversion --grid variant=threshold-balancing,qcfs --seeds 5

One idea a module:

    spec      what runs: the grid, parsed with each field's declared type, every Config valid
    cluster   where: a local cluster or an existing scheduler, and the task a worker runs
    runs      running it: results back to the client, which alone writes the store; resume,
              Ctrl-C, lost workers
    report    mean and 95% interval per grid point, paired differences over matched seeds
    command   the `sweep` subcommand
"""

import importlib
from typing import Any

# Each public name from its module, imported on first use: Dask and scipy load then, so
# building the `sweep` subcommand's parser (`python -m lab --help`) needs neither.
_MODULE_OF = {
    **dict.fromkeys(["CONNECT_TIMEOUT_S", "VersionMismatch", "compute", "connect", "cores"],
                    "cluster"),
    **dict.fromkeys(["Point", "comparisons", "points"], "report"),
    **dict.fromkeys(["Cancelled", "Outcome", "pending", "run"], "runs"),
    **dict.fromkeys(["MAX_SEEDS", "Spec", "key", "load", "make", "parse_grid"], "spec"),
}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])
