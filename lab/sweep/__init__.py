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

from .cluster import CONNECT_TIMEOUT_S, VersionMismatch, compute, connect, cores
from .report import Point, comparisons, points
from .runs import Cancelled, Outcome, pending, run
from .spec import MAX_SEEDS, Spec, key, load, make, parse_grid

__all__ = [
    "CONNECT_TIMEOUT_S", "MAX_SEEDS", "Cancelled", "Outcome", "Point", "Spec", "VersionMismatch",
    "comparisons", "compute", "connect", "cores", "key", "load", "make", "parse_grid", "pending",
    "points", "run",
]
