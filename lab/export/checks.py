"""What `import_nir` checks before building anything from a NIR file or graph.

A NIR file from someone else is data: every number it holds must be finite, every time constant
and threshold positive, and no dataset may declare more values than the file can hold. HDF5
stores NIR's arrays gzip-compressed (`nir.write`'s default); deflate shrinks data at most about
1032:1, so a dataset declared more than `MAX_RATIO` times larger than the whole file is not in
it (a small file that declares a huge array ended in MemoryError). Each problem is one
ExportError naming the file (or "the graph"), the node and the field.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import h5py
import nir
import numpy as np

from .errors import ExportError

MAX_RATIO = 1100  # declared bytes per byte of file: above deflate's ~1032:1 limit
MAX_VALUES = 2**26  # values in one array (256 MiB of float32): far above any lab network
POSITIVE = ("tau", "tau_mem", "tau_syn", "v_threshold")  # 0 divides; < 0 has no meaning


def read_nir(path: str | os.PathLike) -> nir.NIRGraph:
    """`nir.read(path)` once every dataset's declared size fits the file; ExportError naming
    the file otherwise, or when it is not a NIR graph nir can read."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with h5py.File(path, "r") as f:
            problem = _oversized(f, size)
    except OSError as err:  # absent, unreadable, or not HDF5 at all
        raise ExportError(f"{path} is not a readable NIR file: {err}") from None
    if problem:
        raise ExportError(f"{path}: {problem}: refused")
    try:
        return nir.read(path)
    except Exception as err:  # noqa: BLE001  nir raises KeyError, TypeError... on a bad layout
        raise ExportError(f"{path} is not a NIR graph nir can read: {type(err).__name__}: "
                          f"{err}") from None


def _oversized(f: h5py.File, size: int) -> str:
    """The first dataset of `f` that declares more than the file can hold, in words ('' if
    none)."""
    found: list[str] = []

    def visit(name: str, item: object) -> bool | None:
        if isinstance(item, h5py.Dataset):
            values = math.prod(item.shape or ())
            declared = values * item.dtype.itemsize
            if values > MAX_VALUES or declared > MAX_RATIO * size:
                found.append(f"dataset {name} declares shape {item.shape} ({declared:,} bytes) "
                             f"but the file holds {size:,} bytes")
                return True  # stop visiting
        return None

    f.visititems(visit)
    return found[0] if found else ""


def check_graph(graph: nir.NIRGraph, source: str = "the graph") -> None:
    """ExportError naming `source`, the node and the field, for a number that is not finite
    (NaN or ±inf: the network would silently never or always spike), a time constant or
    threshold ≤ 0 (τ = 0 divides by zero), or a graph `dt` that is not a positive number."""
    dt = graph.metadata.get("dt", 1.0) if isinstance(graph.metadata, dict) else 1.0
    if not _finite(dt) or np.any(np.asarray(dt, np.float64) <= 0):
        raise ExportError(f"{source}: metadata dt must be a finite time step > 0, got {dt!r}")
    for key, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            check_graph(node, f"{source}, subgraph {key}")
            continue
        for name, value in _fields(node):
            where = f"{source}: node {key} ({type(node).__name__}) {name}"
            if not _finite(value):
                raise ExportError(f"{where} holds NaN or infinite values; a NIR file's "
                                  "parameters must be finite numbers")
            if name.rsplit(".", 1)[-1] in POSITIVE and np.any(np.asarray(value) <= 0):
                raise ExportError(f"{where} must be > 0, got "
                                  f"{np.asarray(value, np.float64).min():g}")


def _fields(node: object) -> list[tuple[str, object]]:
    """(name, value) of a node's numeric fields, its metadata's (`metadata.v_init`) included."""
    out = []
    items = [(f.name, getattr(node, f.name)) for f in dataclasses.fields(node)] \
        if dataclasses.is_dataclass(node) else []
    for name, value in items:
        if isinstance(value, dict):
            out += [(f"{name}.{k}", v) for k, v in value.items() if _numeric(v)]
        elif _numeric(value):
            out.append((name, value))
    return out


def _numeric(value: object) -> bool:
    if isinstance(value, bool | str | bytes) or value is None:
        return False
    array = np.asarray(value) if isinstance(value, int | float | np.ndarray | np.number) else None
    return array is not None and array.dtype.kind in "iuf"


def _finite(value: object) -> bool:
    try:
        return bool(np.all(np.isfinite(np.asarray(value, np.float64))))
    except (TypeError, ValueError):
        return False
