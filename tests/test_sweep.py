"""Sweeps on a real 2-worker Dask LocalCluster: the same numbers as runs one by one, resume, a
killed worker, another lab version, Ctrl-C, and bad input refused before anything runs."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab import registry
from lab.cli import main
from lab.core import config as cfg
from lab.core.config import ConfigError
from lab.core.results import ResultsStore
from lab.sweep import CONNECT_TIMEOUT_S, VersionMismatch, connect, load, make, parse_grid
from lab.sweep import runs as sweep_runs

TINY = {"timesteps": [2], "epochs": [1]}


@pytest.fixture(scope="module")
def client():
    with connect(workers=2) as client:
        yield client


def finished_keys(store: ResultsStore) -> list[str]:
    return sorted(sweep_runs.key(r.config) for r in store.runs(status="finished"))


def test_sweep_gives_the_numbers_of_runs_one_by_one(client, tmp_path):
    spec = make("bptt", {"timesteps": [2, 3], "epochs": [1]}, seeds=2)
    store = ResultsStore(tmp_path / "r.sqlite")
    outcome = sweep_runs.run(spec, store, client, progress=False)
    assert (len(outcome.finished), outcome.failed, outcome.skipped) == (4, [], 0)
    stored = {sweep_runs.key(r.config): r for r in store.runs()}
    assert len(stored) == 4
    for config in spec.configs():  # same machine, one torch thread on both sides
        alone = registry.method("bptt").run(config)
        run = stored[sweep_runs.key(cfg.as_dict(config))]
        assert run.metrics == alone["metrics"] and run.curves == alone["curves"]
        assert run.sweep_id == outcome.sweep_id and run.status == "finished"
        assert run.machine["torch_threads"] == 1 and run.machine["device"] == "cpu"
        assert run.machine["worker"].startswith("tcp://127.0.0.1:")
        assert {"train_s", "train_cpu_s", "test_s", "test_cpu_s"} <= set(run.timings)
    [sweep] = store.sweeps()
    assert (sweep.status, sweep.spec["grid"], sweep.spec["seeds"]) == (
        "finished", {"timesteps": [2, 3], "epochs": [1]}, 2)


def test_sweep_resumes_where_it_stopped(client, tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    sweep_runs.run(make("bptt", TINY, seeds=2), store, client, progress=False)
    again = sweep_runs.run(make("bptt", TINY, seeds=2), store, client, progress=False)
    assert (again.sweep_id, again.skipped, again.finished) == (None, 2, [])
    more = sweep_runs.run(make("bptt", TINY, seeds=3), store, client, progress=False)
    assert (more.skipped, len(more.finished)) == (2, 1)
    assert store.get(more.finished[0]).seed == 2
    assert len(store.runs()) == 3 and len(set(finished_keys(store))) == 3


def test_worker_of_another_lab_version_is_refused(client, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_runs, "__version__", "0.0.0-other")  # what the client sends
    store = ResultsStore(tmp_path / "r.sqlite")
    with pytest.raises(VersionMismatch, match=r"worker tcp://\S+ runs lab \S+ but this client "
                       r"runs lab 0\.0\.0-other: install the same lab version on every worker"):
        sweep_runs.run(make("bptt", TINY, seeds=2), store, client, progress=False)
    assert store.sweeps()[0].status == "failed"
    assert {r.status for r in store.runs()} <= {"failed", "cancelled"}
    assert "VersionMismatch" in store.runs(status="failed")[0].error


def test_killed_worker_loses_nothing(client, tmp_path):
    spec = make("bptt", {"timesteps": [4], "epochs": [3]}, seeds=6)
    store = ResultsStore(tmp_path / "r.sqlite")
    pids = client.run(os.getpid)
    with ThreadPoolExecutor(1) as pool:
        sweep = pool.submit(sweep_runs.run, spec, store, client, False)
        busy, deadline = None, time.time() + 30
        while busy is None and time.time() < deadline:
            if store.runs():  # one run is back: the others are under way
                busy = next((w for w, tasks in client.processing().items() if tasks), None)
            time.sleep(0.02)
        assert busy is not None
        os.kill(pids[busy], signal.SIGKILL)  # mid-run: the scheduler hands its task on
        outcome = sweep.result(timeout=60)
    assert len(outcome.finished) == 6 and outcome.failed == []
    expected = sorted(sweep_runs.key(cfg.as_dict(c)) for c in spec.configs())
    assert finished_keys(store) == expected  # every (config, seed) exactly once, all finished
    assert len(store.runs()) == len(expected)
    assert store.sweeps()[0].status == "finished"
    assert sqlite3.connect(store.path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cli_on_an_existing_scheduler_prints_the_comparison(client, tmp_path, capsys,
                                                            monkeypatch):
    monkeypatch.setenv("LAB_SCHEDULER", client.scheduler.address)
    db = str(tmp_path / "r.sqlite")
    args = ["sweep", "bptt", "--grid", "timesteps=2,3", "--grid", "epochs=1", "--seeds", "2",
            "--quiet", "--results", db]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("sweep 1: 4 runs finished, 0 failed, 0 already done")
    assert out[1].split() == ["accuracy", "95%", "interval", "n"]
    assert out[2].startswith("timesteps=2 ") and out[3].startswith("timesteps=3 ")
    assert out[2].split()[-1] == "2"  # n
    assert out[4].startswith(("timesteps=3 is higher than timesteps=2",
                              "timesteps=2 is higher than timesteps=3",
                              "no measurable difference between timesteps=3 and timesteps=2"))
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("nothing to run: all 4 runs are finished")


def test_ctrl_c_cancels_pending_runs_one_line_exit_130(tmp_path):
    db = tmp_path / "r.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "sweep", "bptt", "--grid", "timesteps=2",
         "--grid", "epochs=1,2,3,4", "--seeds", "5", "--workers", "2", "--quiet",
         "--results", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (db.exists()
                                          and ResultsStore(db).runs(status="finished")):
        time.sleep(0.05)  # a row is `running` while its result is stored: wait for a whole one
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("cancelled: ") and "run the same command again to resume" in err
    store = ResultsStore(db)
    statuses = [r.status for r in store.runs()]
    assert len(statuses) == 20 and "cancelled" in statuses and "finished" in statuses
    assert set(statuses) == {"finished", "cancelled"}
    assert store.sweeps()[0].status == "cancelled"


class Returned:
    """What `_store` reads of a Dask future that has come back."""

    def __init__(self, result=None, error=None):
        self.status = "error" if error else "finished"
        self._result, self._error = result, error

    def result(self):
        return self._result

    def exception(self):
        return self._error


def test_ctrl_c_while_a_sweep_stores_a_run_leaves_no_row_half_written(client, tmp_path,
                                                                        monkeypatch):
    store = ResultsStore(tmp_path / "r.sqlite")
    real, calls = store.finish, []

    def ctrl_c_in_the_first(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # arrives while the first result is stored
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "finish", ctrl_c_in_the_first)
    with pytest.raises(sweep_runs.Cancelled):
        sweep_runs.run(make("bptt", TINY, seeds=3), store, client, progress=False)
    statuses = sorted(r.status for r in store.runs())
    assert len(statuses) == 3 and statuses[-1] == "finished"
    assert set(statuses) <= {"finished", "cancelled"}  # none `running`, none `interrupted`
    assert store.sweeps()[0].status == "cancelled"


def test_diverged_and_raising_runs_are_stored_failed(tmp_path):
    spec = make("bptt", TINY, seeds=2)
    store = ResultsStore(tmp_path / "r.sqlite")
    outcome = sweep_runs.Outcome(store.start_sweep("bptt", spec.as_dict()), 0)
    nan = {"metrics": {"accuracy": float("nan")}, "curves": {}, "timings": {"train_s": 1.0},
           "machine": {"torch_threads": 1}, "started_at": 1.0, "finished_at": 2.0}
    first, second = spec.configs()
    sweep_runs._store(Returned(nan), first, spec, store, outcome)
    sweep_runs._store(Returned(error=ValueError("boom")), second, spec, store, outcome)
    raised, diverged = store.runs()
    assert (diverged.status, diverged.metrics, diverged.started_at) == ("failed", {}, 1.0)
    assert diverged.error == "training diverged: non-finite values in accuracy (accuracy = nan)"
    assert (raised.status, raised.error, raised.seed) == ("failed", "ValueError: boom", 1)
    assert len(outcome.failed) == 2 and outcome.finished == []


def test_grid_values_take_the_fields_declared_types():
    spec = make("conversion", {"variant": ["qcfs", "residual-noise"], "epochs": ["2"],
                               "v_init": ["0", "0.25"], "noise_mean": ["true"]}, seeds=2)
    assert spec.grid == {"variant": ("qcfs", "residual-noise"), "epochs": (2,),
                         "v_init": (0.0, 0.25), "noise_mean": (True,)}
    configs = spec.configs()
    assert len(configs) == 8 and [c.seed for c in configs[:2]] == [0, 1]
    assert parse_grid(["batch-size=16,32"]) == {"batch_size": ["16", "32"]}


def test_spec_file_means_the_same_as_the_flags(tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text('method = "bptt"\nseeds = 2\n[grid]\ntimesteps = [2, 4]\nepochs = 1\n'
                    'lr = 1\n')
    content = load(path)
    from_file = make(content["method"], content["grid"], content["seeds"])
    from_flags = make("bptt", parse_grid(["timesteps=2,4", "epochs=1", "lr=1"]), 2)
    assert from_file == from_flags and from_file.grid["lr"] == (1.0,)


@pytest.mark.parametrize("args, named", [
    (["bptt", "--grid", "nonsense=1,2"], "nonsense is not a field of Config"),
    (["bptt", "--grid", "timesteps=2,0"], "timesteps must be an integer in [1, 1024]"),
    (["bptt", "--grid", "epochs=two"], "epochs must be an integer in [1, 1000]"),
    (["bptt", "--grid", "dataset=cifar"], "dataset must be one of"),
    (["bptt", "--grid", "timesteps"], "--grid takes FIELD=V1,V2"),
    (["bptt", "--grid", "seed=1,2"], "seed is not a grid field"),
    (["bptt", "--seeds", "0"], "seeds must be an integer in [1, 1000]"),
    (["nonsense"], "method must be one of"),
    ([], "name a METHOD"),
    (["bptt", "--scheduler", "tcp://127.0.0.1:1"],
     f"no Dask scheduler answered at tcp://127.0.0.1:1 within {CONNECT_TIMEOUT_S} s"),
])
def test_bad_input_exits_2_with_one_line_and_stores_nothing(tmp_path, capsys, monkeypatch,
                                                            args, named):
    from lab.sweep import cluster

    # early, by construction rather than by a clock: bad input is refused before any cluster
    # starts, and an unreachable scheduler is given a bounded wait
    connects, waits = [], []
    real_connect, real_client = cluster.connect, cluster.Client
    monkeypatch.setattr(cluster, "connect", lambda *a, **k: connects.append(a) or real_connect(
        *a, **k))
    monkeypatch.setattr(cluster, "Client", lambda *a, **k: waits.append(k.get("timeout")) or
                        real_client(*a, **k))
    db = tmp_path / "r.sqlite"
    assert main(["sweep", *args, "--grid", "epochs=1", "--quiet", "--results", str(db)]
                if "epochs" not in " ".join(args) else
                ["sweep", *args, "--quiet", "--results", str(db)]) == 2
    if "--scheduler" in args:
        assert len(connects) == 1 and waits == [CONNECT_TIMEOUT_S]
    else:
        assert connects == [] and waits == []
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0], err
    if db.exists():
        assert ResultsStore(db).runs() == [] and ResultsStore(db).sweeps() == []


def test_spec_file_that_is_not_toml_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("method = bptt\n[grid\n")
    assert main(["sweep", "--spec", str(path), "--results", str(tmp_path / "r.sqlite")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: spec file {path} is not valid TOML: ")
    assert ResultsStore(tmp_path / "r.sqlite").runs() == []


def test_unknown_grid_field_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="^lr_decay is not a field of Config: fields are "):
        make("bptt", {"lr_decay": [0.1]}, seeds=1)
