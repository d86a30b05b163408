"""The results store with real processes: concurrent writers, a killed run, bad paths; the CLI."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from lab.cli import main
from lab.core.results import SCHEMA_VERSION, ResultsStore

WRITER = textwrap.dedent("""
    import sys
    from lab.core.results import ResultsStore
    store = ResultsStore(sys.argv[1])
    for i in range(int(sys.argv[2])):
        run = store.start("bptt", "digits", i, {"i": i, "writer": sys.argv[3]}, "test")
        store.finish(run, {"accuracy": float(i)}, {"accuracy_per_timestep": [1.0, 2.0]},
                     {"train_s": 0.1})
""")

SLEEPER = textwrap.dedent("""
    import sys, time
    from lab.core.results import ResultsStore
    store = ResultsStore(sys.argv[1])
    store.start("bptt", "digits", 0, {}, "test")
    print("started", flush=True)
    time.sleep(60)
""")


def test_round_trip(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    run = store.start("bptt", "digits", 3, {"timesteps": 8}, "0.1.0")
    assert store.get(run).status == "running"
    store.finish(run, {"accuracy": 97.5}, {"accuracy_per_timestep": [50.0, 97.5]}, {"train_s": 2})
    got = store.get(run)
    assert (got.status, got.seed, got.config, got.metrics["accuracy"]) == (
        "finished", 3, {"timesteps": 8}, 97.5)
    assert got.curves["accuracy_per_timestep"] == [50.0, 97.5]
    failed = store.start("bptt", "mnist", 0, {}, "0.1.0")
    store.fail(failed, "ValueError: boom")
    assert store.get(failed).error == "ValueError: boom"
    assert [r.id for r in store.runs(dataset="mnist")] == [failed]
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultsStore(path)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), "40", name])
               for name in ("a", "b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    runs = ResultsStore(path).runs()
    assert len(runs) == 80
    assert all(r.status == "finished" for r in runs)
    assert {r.config["writer"] for r in runs} == {"a", "b"}


def test_killed_run_is_marked_interrupted_and_db_intact(tmp_path):
    path = tmp_path / "r.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER, str(path)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    [run] = ResultsStore(path).runs()
    assert run.status == "interrupted"
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cli_trains_baseline_and_lists_it(tmp_path, capsys):
    db = str(tmp_path / "r.sqlite")
    assert main(["run", "bptt", "--epochs", "1", "--timesteps", "2", "--quiet",
                 "--results", db]) == 0
    assert main(["results", "--results", db]) == 0
    out = capsys.readouterr().out
    assert "bptt" in out and "finished" in out
    [run] = ResultsStore(db).runs()
    assert len(run.curves["accuracy_per_timestep"]) == 2
    assert run.metrics["accuracy"] > 30  # one epoch, T=2: far above chance (10%)


@pytest.mark.parametrize("flags, name", [
    (["--timesteps", "0"], "timesteps"),
    (["--dataset", "cifar"], "dataset"),
    (["--threshold", "0"], "threshold"),
    (["--epochs", "-1"], "epochs"),
    (["--beta", "2"], "beta"),
])
def test_cli_bad_input_exits_2_naming_the_parameter(tmp_path, capsys, flags, name):
    assert main(["run", "bptt", *flags, "--results", str(tmp_path / "r.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0]


def test_cli_unknown_method_and_bad_database(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "nonsense"])
    assert exit_.value.code == 2
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    assert main(["results", "--results", str(bad)]) == 2
    assert main(["results", "--results", str(tmp_path)]) == 2  # a directory
    err = capsys.readouterr().err
    assert "results path" in err


def test_environment_variable_sets_default_path(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_RESULTS", str(tmp_path / "env.sqlite"))
    assert ResultsStore().path == tmp_path / "env.sqlite"


def test_cli_subprocess_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lab", "run", "bptt", "--timesteps", "-3",
                           "--results", str(tmp_path / "r.sqlite")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: timesteps must be an integer in [1, 1024] (steps), got -3"


V1_SCHEMA = """
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    method      TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    config      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running','finished','failed','cancelled')),
    metrics     TEXT NOT NULL DEFAULT '{}',
    curves      TEXT NOT NULL DEFAULT '{}',
    timings     TEXT NOT NULL DEFAULT '{}',
    error       TEXT,
    version     TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX runs_method_dataset ON runs (method, dataset);
PRAGMA user_version = 1;
"""


def test_version_1_database_is_migrated_with_nothing_lost(tmp_path):
    path = tmp_path / "v1.sqlite"
    old = sqlite3.connect(path)
    old.executescript(V1_SCHEMA)
    old.execute("INSERT INTO runs (method, dataset, seed, config, status, metrics, curves,"
                " timings, error, version, host, pid, started_at, finished_at) VALUES"
                " ('bptt', 'digits', 4, '{\"timesteps\": 8}', 'finished', '{\"accuracy\": 96.5}',"
                " '{\"loss_per_epoch\": [1.0, 0.5]}', '{\"train_s\": 2.0}', NULL, '0.1.0', 'h',"
                " 1, 100.0, 102.0)")
    old.execute("INSERT INTO runs (method, dataset, seed, config, status, error, version, host,"
                " pid, started_at, finished_at) VALUES ('conversion', 'mnist', 0, '{}',"
                " 'failed', 'ValueError: boom', '0.1.0', 'h', 1, 200.0, 201.0)")
    old.commit()
    old.close()

    store = ResultsStore(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    failed, finished = store.runs()
    assert (finished.id, finished.method, finished.seed, finished.config, finished.status) == (
        1, "bptt", 4, {"timesteps": 8}, "finished")
    assert (finished.metrics, finished.curves, finished.timings) == (
        {"accuracy": 96.5}, {"loss_per_epoch": [1.0, 0.5]}, {"train_s": 2.0})
    assert (finished.started_at, finished.finished_at, finished.version) == (100.0, 102.0, "0.1.0")
    assert (finished.sweep_id, finished.machine) == (None, {})
    assert (failed.status, failed.error) == ("failed", "ValueError: boom")
    # the migrated file takes version-2 rows, and opening it again changes nothing
    sweep = store.start_sweep("bptt", {"grid": {"epochs": [1]}, "seeds": 1})
    run = store.start("bptt", "digits", 0, {"device": "cpu"}, "0.1.0", sweep_id=sweep)
    assert ResultsStore(path).get(run).sweep_id == sweep
    assert len(ResultsStore(path).runs()) == 3


def test_sweeps_and_machine_are_recorded(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    run = store.start("bptt", "digits", 0, {"device": "auto"}, "0.1.0")
    machine = store.get(run).machine
    assert machine["device"] == "cpu" and machine["torch_threads"] == 1
    assert machine["load_1min"] >= 0
    sweep = store.start_sweep("bptt", {"grid": {"timesteps": [2, 4]}, "seeds": 2})
    done = store.record("bptt", "digits", 1, {"timesteps": 2, "seed": 1}, "0.1.0", "finished",
                        metrics={"accuracy": 90.0}, timings={"train_s": 1.0},
                        started_at=10.0, finished_at=11.0, sweep_id=sweep,
                        machine={"torch_threads": 1, "device": "cpu", "load_1min": 0.5})
    got = store.get(done)
    assert (got.status, got.sweep_id, got.machine["load_1min"], got.started_at) == (
        "finished", sweep, 0.5, 10.0)
    assert [r.id for r in store.runs(sweep_id=sweep)] == [done]
    assert [r.id for r in store.runs(status="running")] == [run]
    [stored] = store.sweeps()
    assert (stored.method, stored.spec["seeds"], stored.status) == ("bptt", 2, "running")
    store.end_sweep(sweep, "cancelled")
    assert store.sweeps("bptt")[0].status == "cancelled"
    with pytest.raises(ValueError):
        store.end_sweep(sweep, "running")


def test_newer_schema_is_refused(tmp_path, capsys):
    path = tmp_path / "future.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    assert main(["results", "--results", str(path)]) == 2
    assert "schema version 99" in capsys.readouterr().err
