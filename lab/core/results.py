"""The results store: one SQLite database (WAL mode), one row per run, one per sweep.

Default path `results/lab.sqlite` in the project, overridden by `$LAB_RESULTS` or an explicit
path. Each write is one short transaction, so concurrent writers (processes or threads) wait
for each other instead of losing rows. A run is inserted as `running` with the identity of its
process (host, pid, boot id, pid namespace, the process's start time) and beats every
`HEARTBEAT_S` seconds while it lives (`heartbeat`). Readers report a `running` row as
`interrupted` when its process is provably gone — same machine and boot (boot id and pid
namespace, not the host name alone) and no live process with that pid and start time — or, on
another machine, when its last beat is older than `STALE_AFTER_S`. The row and the database stay
intact; the status is derived when read, so a run that beats again reads `running` again.
A sweep's runs are computed by workers and written here by the sweep's client alone, each once
its result is back (`lab.registry.execute`, as every run), tagged with the sweep's id.

Every run records the machine it ran on (`machine`: torch threads, device, 1-minute load at
the start), so its wall and CPU seconds (`timings`) can be read against it. A database of an
older schema is migrated when opened, inside one transaction: nothing is lost.

Each store has an id (`store_id`, random, made with the store): a run's weights are kept under
it (`lab.weights`), so two stores in one folder, or a store deleted and made again, never serve
each other's networks.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import resolve_device
from .measure import machine as machine_now

SCHEMA_VERSION = 3
READABLE_VERSIONS = (2, 3)  # read-only listing needs no migration: version 3 only adds columns
HEARTBEAT_S = 30.0  # a running row's process updates `heartbeat_at` this often
STALE_AFTER_S = 600.0  # a row not beaten for this long is `interrupted` (allows clock skew)
STATUSES = ("running", "finished", "failed", "cancelled", "interrupted")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# MIGRATIONS[v] takes a database from schema version v to v + 1 (0: an empty file).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    ("""CREATE TABLE IF NOT EXISTS runs (
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
    )""",
     "CREATE INDEX IF NOT EXISTS runs_method_dataset ON runs (method, dataset)"),
    ("""CREATE TABLE IF NOT EXISTS sweeps (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        method      TEXT NOT NULL,
        spec        TEXT NOT NULL,              -- JSON: the grid of config fields and the seeds
        status      TEXT NOT NULL CHECK (status IN ('running','finished','failed','cancelled')),
        host        TEXT NOT NULL,              -- the client's, which writes every row
        pid         INTEGER NOT NULL,
        created_at  REAL NOT NULL
    )""",
     "ALTER TABLE runs ADD COLUMN sweep_id INTEGER REFERENCES sweeps(id)",
     # JSON: torch_threads, device, load_1min at the start (and the worker, for a sweep)
     "ALTER TABLE runs ADD COLUMN machine TEXT NOT NULL DEFAULT '{}'",
     "CREATE INDEX IF NOT EXISTS runs_sweep ON runs (sweep_id)"),
    ("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
     # the store's id: the folder of its runs' weights, written in each weights manifest
     "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))))",
     # the writer's process: 'boot id/pid namespace/start ticks' ('' where /proc is absent)
     "ALTER TABLE runs ADD COLUMN process TEXT NOT NULL DEFAULT ''",
     "ALTER TABLE runs ADD COLUMN heartbeat_at REAL",
     "ALTER TABLE sweeps ADD COLUMN process TEXT NOT NULL DEFAULT ''",
     "ALTER TABLE sweeps ADD COLUMN heartbeat_at REAL"),
)


class StoreError(ValueError):
    """The results file cannot be used (an empty path, not a database, a newer schema, missing
    when only read); the message names the file."""


def default_path() -> Path:
    """`$LAB_RESULTS` if set, else `results/lab.sqlite` in the project; a StoreError if
    `$LAB_RESULTS` is set but empty (it would otherwise silently write the project's file)."""
    value = os.environ.get("LAB_RESULTS")
    if value is not None and not value.strip():
        raise StoreError("results path from $LAB_RESULTS is empty: unset it (the project's "
                         "results/lab.sqlite) or name a file")
    return Path(value) if value else PROJECT_ROOT / "results" / "lab.sqlite"


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
    sweep_id: int | None = None
    machine: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sweep:
    """One stored sweep: a method, its grid and seeds (`spec`), and how it ended."""

    id: int
    method: str
    spec: dict[str, Any]
    status: str
    created_at: float


class ResultsStore:
    """Read and write runs in one SQLite file; safe across threads and processes.

    A row that is not what the lab writes (edited by hand, another program, a bad disk) is
    data, not a crash: `runs()` and `sweeps()` leave it out and say why in `skipped`.
    """

    skipped: tuple[str, ...] = ()  # one line per row the last runs() or sweeps() left out

    def __init__(self, path: str | os.PathLike | None = None, readonly: bool = False) -> None:
        """`readonly=True` opens an existing database for reading only (listing works on a
        read-only file or filesystem; nothing is created, migrated or switched to WAL)."""
        self.path = Path(path) if path is not None else default_path()
        if not str(path if path is not None else self.path).strip():
            raise StoreError("results path is empty: name a file")
        self.readonly = readonly
        try:
            if readonly:
                self._check_readable()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._migrate()
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"results path {self.path} is not a usable SQLite database: "
                             f"{err}") from err

    def _check_readable(self) -> None:
        if not self.path.is_file():
            raise StoreError(f"results path {self.path} does not exist: no runs stored yet")
        version = self._read("PRAGMA user_version", [])[0][0]
        if version not in READABLE_VERSIONS:
            raise StoreError(f"results database {self.path} has schema version {version}; "
                             f"open it once writable to migrate it to {SCHEMA_VERSION}")

    def _migrate(self) -> None:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")  # one opener migrates; the others then find it done
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                db.execute("ROLLBACK")
                raise StoreError(f"results database {self.path} has schema version {version}; "
                                 f"this lab reads versions up to {SCHEMA_VERSION}")
            for statements in MIGRATIONS[version:]:
                for sql in statements:
                    db.execute(sql)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        finally:
            db.close()

    @property
    def store_id(self) -> str | None:
        """The store's random id (32 hex digits); None for a version-2 file opened read-only."""
        if getattr(self, "_store_id", None) is None:
            try:
                rows = self._read("SELECT value FROM meta WHERE key = 'store_id'", [])
            except sqlite3.OperationalError:  # no meta table: an older file, read-only
                rows = []
            self._store_id = rows[0][0] if rows else None
        return self._store_id

    def _connect(self) -> sqlite3.Connection:
        if getattr(self, "readonly", False):
            return self._connect_readonly()
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def _connect_readonly(self) -> sqlite3.Connection:
        """mode=ro; on a read-only folder a WAL database cannot make its -shm file, so fall
        back to immutable=1 (nothing else writes there)."""
        uri = self.path.resolve().as_uri()
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30.0, isolation_level=None)
            db.execute("PRAGMA user_version").fetchone()
            return db
        except sqlite3.OperationalError:
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)

    def _write(self, sql: str, args: tuple) -> int:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(sql, args)
            db.execute("COMMIT")
            return cursor.lastrowid
        finally:
            db.close()

    def _read(self, sql: str, args: list) -> list[sqlite3.Row]:
        db = self._connect()
        db.row_factory = sqlite3.Row
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def start(self, method: str, dataset: str, seed: int, config: dict[str, Any],
              version: str, sweep_id: int | None = None,
              machine: dict[str, Any] | None = None) -> int:
        """Insert a `running` row for this process and return its id.

        `machine` defaults to this process's: torch threads, the config's device, load now.
        """
        return self._write(
            "INSERT INTO runs (method, dataset, seed, config, status, version, host, pid,"
            " started_at, sweep_id, machine, process, heartbeat_at)"
            " VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
            (method, dataset, seed, json.dumps(config, sort_keys=True), version,
             socket.gethostname(), os.getpid(), time.time(), sweep_id,
             json.dumps(machine if machine is not None else _machine(config)),
             process_identity(), time.time()),
        )

    def finish(self, run_id: int, metrics: dict[str, Any], curves: dict[str, list[float]],
               timings: dict[str, float], finished_at: float | None = None) -> None:
        """Store the results of a run and mark it `finished` (at `finished_at`, default now)."""
        self._write(
            "UPDATE runs SET status='finished', metrics=?, curves=?, timings=?, finished_at=?"
            " WHERE id=?",
            (_json(metrics), _json(curves), _json(timings), finished_at or time.time(), run_id),
        )

    def ran(self, run_id: int, machine: dict[str, Any], started_at: float) -> None:
        """Where and since when a `running` row's run was computed, when that was elsewhere
        than in the process that inserted the row (a sweep's worker)."""
        self._write("UPDATE runs SET machine=?, started_at=? WHERE id=?",
                    (json.dumps(machine), started_at, run_id))

    def fail(self, run_id: int, error: str, status: str = "failed",
             finished_at: float | None = None) -> None:
        """Mark a run `failed` (or `cancelled`) with its error message."""
        if status not in ("failed", "cancelled"):
            raise ValueError(f"status must be 'failed' or 'cancelled', got {status!r}")
        self._write("UPDATE runs SET status=?, error=?, finished_at=? WHERE id=?",
                    (status, error, finished_at or time.time(), run_id))

    def discard(self, run_id: int) -> None:
        """Delete run `run_id` while it is still `running`: a run refused while loading its data
        never took place (`registry.execute`); an ended run is never deleted."""
        self._write("DELETE FROM runs WHERE id=? AND status='running'", (run_id,))

    def record(self, method: str, dataset: str, seed: int, config: dict[str, Any],
               version: str, status: str, *, metrics: dict[str, Any] | None = None,
               curves: dict[str, list[float]] | None = None,
               timings: dict[str, float] | None = None, error: str | None = None,
               started_at: float, finished_at: float, sweep_id: int | None = None,
               machine: dict[str, Any] | None = None) -> int:
        """Insert a run that has already ended (e.g. computed by a sweep's worker) as one row."""
        if status not in ("finished", "failed", "cancelled"):
            raise ValueError(f"status must be 'finished', 'failed' or 'cancelled', got {status!r}")
        return self._write(
            "INSERT INTO runs (method, dataset, seed, config, status, metrics, curves, timings,"
            " error, version, host, pid, started_at, finished_at, sweep_id, machine)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (method, dataset, seed, json.dumps(config, sort_keys=True), status,
             _json(metrics or {}), _json(curves or {}), _json(timings or {}),
             error, version, socket.gethostname(), os.getpid(), started_at, finished_at,
             sweep_id, json.dumps(machine or {})),
        )

    def runs(self, method: str | None = None, dataset: str | None = None,
             run_id: int | None = None, status: str | None = None,
             sweep_id: int | None = None) -> list[Run]:
        """All runs, newest first, optionally filtered by method, dataset, id, stored status
        or sweep."""
        sql, args = "SELECT * FROM runs WHERE 1=1", []
        for column, value in (("id", run_id), ("method", method), ("dataset", dataset),
                              ("status", status), ("sweep_id", sweep_id)):
            if value is not None and value != "":
                sql, args = sql + f" AND {column}=?", [*args, value]
        runs, skipped = [], []
        for row in self._read(sql + " ORDER BY id DESC", args):
            try:
                runs.append(_to_run(row))
            except ValueError as err:  # a row written by hand or by another program: data
                skipped.append(f"run {row['id']} of {self.path} is corrupt and was skipped: "
                               f"{err}")
        self.skipped = tuple(skipped)
        return runs

    def get(self, run_id: int) -> Run:
        """One run by id; KeyError if there is none (or its row is corrupt, saying so)."""
        found = self.runs(run_id=run_id)
        if found:
            return found[0]
        raise KeyError(self.skipped[0] if self.skipped else f"no run with id {run_id} in "
                       f"{self.path}")

    def start_sweep(self, method: str, spec: dict[str, Any]) -> int:
        """Insert a `running` sweep for this process (its client) and return its id."""
        return self._write(
            "INSERT INTO sweeps (method, spec, status, host, pid, created_at, process,"
            " heartbeat_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
            (method, json.dumps(spec), socket.gethostname(), os.getpid(),
             time.time(), process_identity(), time.time()),
        )

    def beat(self, run_id: int | None = None, sweep_id: int | None = None) -> None:
        """Mark run `run_id` (or sweep `sweep_id` and its `running` runs) alive now."""
        now = time.time()
        if run_id is not None:
            self._write("UPDATE runs SET heartbeat_at=? WHERE id=? AND status='running'",
                        (now, run_id))
        if sweep_id is not None:
            self._write("UPDATE sweeps SET heartbeat_at=? WHERE id=? AND status='running'",
                        (now, sweep_id))
            self._write("UPDATE runs SET heartbeat_at=? WHERE sweep_id=? AND status='running'",
                        (now, sweep_id))

    @contextmanager
    def heartbeat(self, run_id: int | None = None, sweep_id: int | None = None,
                  every: float = HEARTBEAT_S) -> Iterator[None]:
        """`beat` every `every` seconds from a daemon thread while the block runs; a busy or
        failing store skips a beat (the next one comes `every` seconds later)."""
        stop = threading.Event()

        def beating() -> None:
            while not stop.wait(every):
                try:
                    self.beat(run_id, sweep_id)
                except sqlite3.Error:
                    continue

        thread = threading.Thread(target=beating, name="lab-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def end_sweep(self, sweep_id: int, status: str) -> None:
        """Mark a sweep `finished`, `failed` (some run failed) or `cancelled`."""
        if status not in ("finished", "failed", "cancelled"):
            raise ValueError(f"status must be 'finished', 'failed' or 'cancelled', got {status!r}")
        self._write("UPDATE sweeps SET status=? WHERE id=?", (status, sweep_id))

    def sweeps(self, method: str | None = None) -> list[Sweep]:
        """All sweeps, newest first; one whose client died reads `interrupted`."""
        sql, args = "SELECT * FROM sweeps", []
        if method:
            sql, args = sql + " WHERE method=?", [method]
        sweeps, skipped = [], []
        for r in self._read(sql + " ORDER BY id DESC", args):
            try:
                sweeps.append(Sweep(r["id"], _text(r, "method"), _object(r, "spec"), _status(r),
                                    _number(r, "created_at")))
            except ValueError as err:
                skipped.append(f"sweep {r['id']} of {self.path} is corrupt and was skipped: "
                               f"{err}")
        self.skipped = tuple(skipped)
        return sweeps


def _json(value: Any) -> str:
    """Strict JSON (SQLite's json_valid accepts it): NaN and infinities are refused here."""
    return json.dumps(value, allow_nan=False)


def _machine(config: dict[str, Any]) -> dict[str, Any]:
    device = config.get("device", "cpu")
    return machine_now(str(resolve_device(device)) if device == "auto" else str(device))


def _to_run(row: sqlite3.Row) -> Run:
    """The row as a Run, every column checked (`_text`, `_object`, ...): a ValueError naming
    the first column that is not what the lab writes."""
    curves = _object(row, "curves")
    for name, values in curves.items():
        if not isinstance(values, list) or not all(_numbers(v) for v in values):
            raise ValueError(f"its curve {name!r} is not a list of numbers")
    timings = _object(row, "timings")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in timings.values()):
        raise ValueError("its timings are not all numbers")
    _text(row, "status"), _number(row, "started_at")  # before `_status` reads them
    return Run(_integer(row, "id"), _text(row, "method"), _text(row, "dataset"),
               _integer(row, "seed"), _object(row, "config"), _status(row),
               _object(row, "metrics"), curves, timings,
               _text(row, "error") if row["error"] is not None else None,
               _text(row, "version"), _number(row, "started_at"),
               _number(row, "finished_at") if row["finished_at"] is not None else None,
               _integer(row, "sweep_id") if row["sweep_id"] is not None else None,
               _object(row, "machine"))


def _object(row: sqlite3.Row, column: str) -> dict[str, Any]:
    """A JSON column that holds an object (a table of values)."""
    try:
        value = json.loads(row[column])
    except (TypeError, ValueError) as err:
        raise ValueError(f"its {column} is not JSON ({err})") from None
    if not isinstance(value, dict):
        raise ValueError(f"its {column} is JSON {type(value).__name__}, not an object")
    return value


def _text(row: sqlite3.Row, column: str) -> str:
    if not isinstance(row[column], str):
        raise ValueError(f"its {column} is {row[column]!r}, not text")
    return row[column]


def _integer(row: sqlite3.Row, column: str) -> int:
    if not isinstance(row[column], int):
        raise ValueError(f"its {column} is {row[column]!r}, not an integer")
    return row[column]


def _number(row: sqlite3.Row, column: str) -> float:
    value = row[column]
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"its {column} is {value!r}, not a finite number")
    return value


def _numbers(value: object) -> bool:
    """A number, None, or a list of them (curves may nest one level per step)."""
    if isinstance(value, list):
        return all(_numbers(v) for v in value)
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _status(row: sqlite3.Row) -> str:
    """The stored status, except that a `running` row whose process is gone is `interrupted`.

    Gone: on this machine, boot and pid namespace (the row's `process` says so; the host name
    alone could be another machine's) no process has the row's pid and start time; elsewhere,
    or where /proc is absent, no beat for `STALE_AFTER_S` (a row of this host name with no
    identity: also its pid is not alive, as before version 3).
    """
    if row["status"] != "running":
        return row["status"]
    keys = row.keys()
    stored = row["process"] if "process" in keys else ""
    last = row["heartbeat_at"] if "heartbeat_at" in keys else None
    last = last if last is not None else row["started_at" if "started_at" in keys
                                              else "created_at"]
    here = process_identity()
    if stored and here and _machine_of(stored) == _machine_of(here):
        alive = process_identity(row["pid"]) == stored
    elif not stored and row["host"] == socket.gethostname():
        alive = _alive(row["pid"]) and time.time() - last <= STALE_AFTER_S
    else:
        alive = time.time() - last <= STALE_AFTER_S
    return "running" if alive else "interrupted"


def process_identity(pid: int | None = None) -> str:
    """'boot id/pid namespace/start ticks' of process `pid` (default: this one), which no
    other process of any machine shares; '' where /proc cannot tell (not Linux, no such pid).

    The start time (field 22 of /proc/PID/stat, in clock ticks since boot) tells a reused pid
    from the process that wrote the row.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
        stat = Path(f"/proc/{pid or os.getpid()}/stat").read_text()
        start = stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""
    return f"{boot}/{namespace}/{start}"


def _machine_of(identity: str) -> str:
    """The boot and pid namespace of a `process_identity`: where its pid means that process."""
    return identity.rsplit("/", 1)[0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
