"""CIFAR-10/100 now live in the core, as registered datasets: see `lab.core.cifar`.

This name is kept so that `from lab.conversion import cifar` keeps working.
"""

from ..core.cifar import (
    ARCHIVES,
    FILES,
    FOLDERS,
    DataUnavailable,
    load,
    missing_files,
)

__all__ = ["ARCHIVES", "FILES", "FOLDERS", "DataUnavailable", "load", "missing_files"]
