"""Runs hidden from the dashboard: kept in the results database, listed in a small JSON file
beside it (`lab.sqlite` → `lab.hidden.json`), so hiding is undone by restoring, never by a
re-run. The database is not touched: the CLI and the notebooks still see every run.

Example:
    >>> hidden = HiddenRuns(Path(tempfile.mkdtemp()) / "lab.sqlite")
    >>> hidden.hide(3); hidden.hide(5); hidden.restore(3); sorted(hidden.ids())
    [5]
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()  # sessions of one server hide and restore one at a time


class HiddenRuns:
    """The ids of the runs hidden in the dashboard, read from and written to `path`."""

    def __init__(self, results: str | os.PathLike) -> None:
        results = Path(results)
        self.path = results.with_name(results.stem + ".hidden.json")

    def ids(self) -> set[int]:
        """The hidden ids; none if the file is missing or unreadable (hiding is a view)."""
        try:
            return {int(i) for i in json.loads(self.path.read_text())["hidden"]}
        except (OSError, ValueError, KeyError, TypeError, OverflowError):  # [Infinity]
            return set()

    def stamp(self) -> float:
        """When the file last changed (0 if absent): part of the store's fingerprint."""
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return 0

    def hide(self, run_id: int) -> None:
        self._update(lambda ids: ids | {run_id})

    def restore(self, run_id: int) -> None:
        self._update(lambda ids: ids - {run_id})

    def _update(self, change) -> None:
        with _lock:
            ids = sorted(change(self.ids()))
            # Written to a temporary file and renamed: a reader sees the old list or the new one.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as out:
                json.dump({"hidden": ids}, out)
            os.replace(tmp, self.path)
