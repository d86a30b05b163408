"""Bad input and faults: one clear line, the right exit code, no lost or invalid rows."""

import json
import math
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import cli, registry
from lab.core.results import ResultsStore

ROOT = Path(__file__).resolve().parents[1]


def _fake_method(metrics):
    class Config:  # noqa: D401  a minimal method module
        dataset = "digits"
        seed = 0

    class Module:
        @staticmethod
        def run(config, progress=None):
            return {"metrics": metrics, "curves": {"loss_per_epoch": [1.0]},
                    "timings": {"train_s": 0.1}}

    return Module, Config()


def test_non_finite_metrics_end_the_run_failed_with_a_clear_message(tmp_path, monkeypatch):
    module, config = _fake_method({"accuracy": 10.0, "final_loss": math.nan})
    monkeypatch.setattr(registry, "method", lambda name: module)
    monkeypatch.setattr(registry.cfg, "as_dict", lambda c: {"lr": 10.0})
    store = ResultsStore(tmp_path / "r.sqlite")
    with pytest.raises(registry.RunFailed, match="training diverged: non-finite values in "
                                                 "final_loss"):
        registry.execute("bptt", config, store)
    (run,) = store.runs()
    assert run.status == "failed" and "final_loss" in run.error


def test_a_store_fault_while_finishing_marks_the_row_failed(tmp_path, monkeypatch):
    module, config = _fake_method({"accuracy": 90.0})
    monkeypatch.setattr(registry, "method", lambda name: module)
    monkeypatch.setattr(registry.cfg, "as_dict", lambda c: {})
    store = ResultsStore(tmp_path / "r.sqlite")

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "finish", full)
    with pytest.raises(registry.RunFailed, match="could not be stored: database or disk is full"):
        registry.execute("bptt", config, store)
    (run,) = store.runs()
    assert run.status == "failed" and "disk is full" in run.error


def test_stored_json_is_strict(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    run_id = store.start("bptt", "digits", 0, {}, "0")
    with pytest.raises(ValueError):
        store.finish(run_id, {"final_loss": math.nan}, {}, {})
    store.finish(run_id, {"final_loss": 1.0}, {"c": [1.0, None]}, {"train_s": 1.0})
    db = sqlite3.connect(tmp_path / "r.sqlite")
    assert db.execute("SELECT count(*) FROM runs WHERE json_valid(metrics) AND "
                      "json_valid(curves) AND json_valid(timings)").fetchone() == (1,)


def test_listing_opens_read_only_and_creates_nothing(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultsStore(path).start("bptt", "digits", 0, {}, "0")
    before = path.read_bytes()
    assert len(ResultsStore(path, readonly=True).runs()) == 1
    assert path.read_bytes() == before  # a WAL reader may add its -shm; the database is untouched
    with pytest.raises(ValueError, match="does not exist"):
        ResultsStore(tmp_path / "none.sqlite", readonly=True)
    assert not (tmp_path / "none.sqlite").exists()


@pytest.mark.parametrize(("argv", "line"), [
    (["run", "bptt", "--timesteps", "2.5"],
     "error: argument --timesteps: timesteps must be an integer in [1, 1024] (steps), got '2.5'"),
    (["run", "bptt", "--lr", "inf"], "error: lr must be a finite number in [1e-06, 10], got inf"),
    (["run", "bptt", "--seed", "4294967296"],
     "error: seed must be an integer in [0, 4294967295], got 4294967296"),
    (["run", "bptt", "--epochs", "1000000000"],
     "error: epochs must be an integer in [1, 1000] (passes over the training set), "
     "got 1000000000"),
    (["run", "streaming", "--v-min", "-inf", "--v-init", "-1"],
     "error: v_init must be a finite number in [0, 0.999] (θ), got -1.0"),
])
def test_bad_input_is_one_line_with_the_range(argv, line, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_RESULTS", str(tmp_path / "r.sqlite"))
    with pytest.raises(SystemExit) if "2.5" in argv else _nothing():
        code = cli.main(argv)
        assert code == 2
    err = capsys.readouterr().err.strip()
    assert err == line and "\n" not in err
    assert not (tmp_path / "r.sqlite").exists() or not ResultsStore(tmp_path / "r.sqlite").runs()


class _nothing:  # noqa: N801
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_minus_inf_is_accepted_as_no_floor():
    args = cli._parser().parse_args(cli._negative_values(
        ["run", "streaming", "--v-min", "-inf", "--lr", "-1e3"]))
    assert args.v_min == -math.inf and args.lr == -1000.0


def test_an_empty_lab_results_is_an_error(capsys, monkeypatch):
    monkeypatch.setenv("LAB_RESULTS", "")
    assert cli.main(["results"]) == 2
    assert "LAB_RESULTS is empty" in capsys.readouterr().err


def test_ctrl_c_is_one_line_exit_130_and_a_cancelled_row(tmp_path):
    db = tmp_path / "r.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "run", "bptt", "--epochs", "200", "--quiet",
         "--results", str(db)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the run is stored as running
        time.sleep(0.3)
        if db.exists() and ResultsStore(db).runs():
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip() == "cancelled: the run is stored as cancelled"
    (run,) = ResultsStore(db).runs()
    assert run.status == "cancelled"
    assert json.loads(json.dumps(run.config))["epochs"] == 200
