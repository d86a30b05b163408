"""The results store: one SQLite database (WAL mode), one row per run.

Default path `results/lab.sqlite` in the project, overridden by `$LAB_RESULTS` or an explicit
path. Each write is one short transaction, so concurrent writers (processes or threads) wait
for each other instead of losing rows. A run is inserted as `running` with its process id; if
that process dies, readers report the run as `interrupted` — the row and the database stay intact.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
STATUSES = ("running", "finished", "failed", "cancelled", "interrupted")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    method      TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    config      TEXT NOT NULL,              -- JSON of the method's config dataclass
    status      TEXT NOT NULL CHECK (status IN ('running','finished','failed','cancelled')),
    metrics     TEXT NOT NULL DEFAULT '{}', -- JSON: scalar results
    curves      TEXT NOT NULL DEFAULT '{}', -- JSON: name -> list, e.g. accuracy per timestep
    timings     TEXT NOT NULL DEFAULT '{}', -- JSON: seconds
    error       TEXT,
    version     TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS runs_method_dataset ON runs (method, dataset);
"""


def default_path() -> Path:
    """`$LAB_RESULTS` if set, else `results/lab.sqlite` in the project."""
    return Path(os.environ.get("LAB_RESULTS") or PROJECT_ROOT / "results" / "lab.sqlite")


@dataclass(frozen=True)
class Run:
    """One stored run, as read back."""

    id: int
    method: str
    dataset: str
    seed: int
    config: dict[str, Any]
    status: str
    metrics: dict[str, Any]
    curves: dict[str, list[float]]
    timings: dict[str, float]
    error: str | None
    version: str
    started_at: float
    finished_at: float | None


class ResultsStore:
    """Read and write runs in one SQLite file; safe across threads and processes."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                elif version != SCHEMA_VERSION:
                    raise ValueError(f"results database {self.path} has schema version "
                                     f"{version}; this lab reads version {SCHEMA_VERSION}")
        except (sqlite3.Error, OSError) as err:
            raise ValueError(f"results path {self.path} is not a usable SQLite database: "
                             f"{err}") from err

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def _write(self, sql: str, args: tuple) -> int:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(sql, args)
            db.execute("COMMIT")
            return cursor.lastrowid
        finally:
            db.close()

    def start(self, method: str, dataset: str, seed: int, config: dict[str, Any],
              version: str) -> int:
        """Insert a `running` row for this process and return its id."""
        return self._write(
            "INSERT INTO runs (method, dataset, seed, config, status, version, host, pid,"
            " started_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
            (method, dataset, seed, json.dumps(config, sort_keys=True), version,
             socket.gethostname(), os.getpid(), time.time()),
        )

    def finish(self, run_id: int, metrics: dict[str, Any], curves: dict[str, list[float]],
               timings: dict[str, float]) -> None:
        """Store the results of a run and mark it `finished`."""
        self._write(
            "UPDATE runs SET status='finished', metrics=?, curves=?, timings=?, finished_at=?"
            " WHERE id=?",
            (json.dumps(metrics), json.dumps(curves), json.dumps(timings), time.time(), run_id),
        )

    def fail(self, run_id: int, error: str, status: str = "failed") -> None:
        """Mark a run `failed` (or `cancelled`) with its error message."""
        if status not in ("failed", "cancelled"):
            raise ValueError(f"status must be 'failed' or 'cancelled', got {status!r}")
        self._write("UPDATE runs SET status=?, error=?, finished_at=? WHERE id=?",
                    (status, error, time.time(), run_id))

    def runs(self, method: str | None = None, dataset: str | None = None,
             run_id: int | None = None) -> list[Run]:
        """All runs, newest first, optionally filtered by method, dataset or id."""
        sql, args = "SELECT * FROM runs WHERE 1=1", []
        if run_id is not None:
            sql, args = sql + " AND id=?", [*args, run_id]
        if method:
            sql, args = sql + " AND method=?", [*args, method]
        if dataset:
            sql, args = sql + " AND dataset=?", [*args, dataset]
        db = self._connect()
        db.row_factory = sqlite3.Row
        try:
            rows = db.execute(sql + " ORDER BY id DESC", args).fetchall()
        finally:
            db.close()
        return [_to_run(r) for r in rows]

    def get(self, run_id: int) -> Run:
        """One run by id; KeyError if there is none."""
        found = self.runs(run_id=run_id)
        if found:
            return found[0]
        raise KeyError(f"no run with id {run_id} in {self.path}")


def _to_run(row: sqlite3.Row) -> Run:
    status = row["status"]
    if status == "running" and row["host"] == socket.gethostname() and not _alive(row["pid"]):
        status = "interrupted"
    return Run(row["id"], row["method"], row["dataset"], row["seed"], json.loads(row["config"]),
               status, json.loads(row["metrics"]), json.loads(row["curves"]),
               json.loads(row["timings"]), row["error"], row["version"], row["started_at"],
               row["finished_at"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
