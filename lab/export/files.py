"""Where a NIR file may be written: never over the results store or its weights, never over an
existing file unless asked (`force`), and whole or not at all.

The file is written under a temporary name in the target's folder, then moved into place: a
failed export leaves no half-written file. Without `force` the move is a hard link, which fails
if the name was taken meanwhile, so a file that appears during the export is kept too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import nir

from ..core.results import ResultsStore
from .errors import ExportError

STORE_SUFFIXES = ("", "-wal", "-shm", "-journal")  # SQLite's database and its side files


def check_target(path: str | os.PathLike | BinaryIO, store: ResultsStore, force: bool) -> None:
    """ExportError, one line naming `path`, if it is the results store (or one of its side
    files, even with `force`), inside the store's weights folder, a folder, or an existing file
    and not `force`. A file object (the dashboard's download) is always allowed."""
    if not isinstance(path, str | os.PathLike):
        return
    target = Path(path)
    resolved = target.resolve()
    for suffix in STORE_SUFFIXES:
        guarded = Path(f"{store.path}{suffix}")
        if resolved == guarded.resolve() or (target.exists() and guarded.exists()
                                             and os.path.samefile(target, guarded)):
            raise ExportError(f"{target} is the results store {guarded}: a NIR file is never "
                              "written over it (not even with --force); name another file")
    weights = (store.path.parent / "weights").resolve()
    if resolved.is_relative_to(weights):
        raise ExportError(f"{target} is inside {weights}, where the store keeps its runs' "
                          "weights: name a file elsewhere")
    if target.is_dir():
        raise ExportError(f"{target} is a folder: name the NIR file to write")
    if target.exists() and not force:
        raise ExportError(f"{target} exists: pass --force to overwrite it")


def write(path: str | os.PathLike | BinaryIO, graph: nir.NIRGraph, store: ResultsStore,
          force: bool) -> None:
    """`graph` written to `path` after `check_target`, through a temporary file."""
    check_target(path, store, force)
    if not isinstance(path, str | os.PathLike):
        nir.write(path, graph)
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        nir.write(partial, graph)
        if force:
            os.replace(partial, target)
        else:
            try:
                os.link(partial, target)  # fails if the name is taken: nothing is overwritten
            except FileExistsError:
                raise ExportError(f"{target} exists: pass --force to overwrite it") from None
            except OSError:  # a filesystem without hard links (FAT, some network mounts)
                if target.exists():
                    raise ExportError(f"{target} exists: pass --force to overwrite it") from None
                os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
