"""One run lifecycle (`registry.execute`): a run launched from the CLI, in a sweep, or from the
dashboard's engine is stored the same way — config, metrics, curves, status, error and weights."""

from __future__ import annotations

import json
import logging
import sys
import types

import pytest
from distributed import Client, LocalCluster
from safetensors.torch import load_file

from lab import bptt, registry, weights
from lab.cli import main
from lab.core import config as cfg
from lab.core.results import ResultsStore, Run
from lab.dashboard.engine import Engine
from lab.sweep import runs as sweep_runs
from lab.sweep.spec import of_config

CONFIG = bptt.Config(epochs=1, timesteps=2, device="cpu", seed=3)


@pytest.fixture(scope="module")
def client():
    """An in-process Dask cluster of one worker thread (it sees what this process registers)."""
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client


def stored(store: ResultsStore) -> tuple[Run, dict | None, dict]:
    """The store's one run, its weights manifest (less what names the row: the run id, the
    store's id, the start time) and its tensors."""
    (run,) = store.runs()
    folder = weights.folder(store.path, run.id)
    if not (folder / weights.MANIFEST).exists():
        return run, None, {}
    manifest = {k: v for k, v in json.loads((folder / weights.MANIFEST).read_text()).items()
                if k not in ("run", "store", "started_at")}
    tensors = {name: load_file(folder / f"{name}.safetensors") for name in manifest["networks"]}
    return run, manifest, tensors


def same_row(a: Run, b: Run) -> None:
    for name in ("method", "dataset", "seed", "config", "status", "metrics", "curves", "error",
                 "version"):
        assert getattr(a, name) == getattr(b, name), name
    assert set(a.timings) == set(b.timings)
    assert a.finished_at is not None and b.finished_at is not None


def launch_each_way(method: str, config, tmp_path, client) -> dict[str, ResultsStore]:
    """The same run launched by `registry.execute`, by a sweep and by the dashboard's engine."""
    stores = {way: ResultsStore(tmp_path / f"{way}.sqlite") for way in ("here", "sweep", "dash")}
    try:
        registry.execute(method, config, stores["here"])
    except registry.RunFailed:
        pass
    sweep_runs.run(of_config(method, config), stores["sweep"], client, progress=False)
    job = Engine(client=client).launch(method, config, stores["dash"])
    assert job.wait(120)
    return stores


def test_a_run_from_the_cli_a_sweep_and_the_dashboard_is_stored_identically(tmp_path, client):
    cli_store = ResultsStore(tmp_path / "cli.sqlite")
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in cfg.as_dict(CONFIG).items()
             if not isinstance(v, bool)]
    assert main(["run", "bptt", *flags, "--quiet", "--results", str(cli_store.path)]) == 0
    sweep_store = ResultsStore(tmp_path / "sweep.sqlite")
    outcome = sweep_runs.run(of_config("bptt", CONFIG), sweep_store, client, progress=False)
    assert len(outcome.finished) == 1
    dash_store = ResultsStore(tmp_path / "dash.sqlite")
    job = Engine(client=client).launch("bptt", CONFIG, dash_store)
    assert job.wait(120) and job.status == "finished"

    cli_run, cli_manifest, cli_tensors = stored(cli_store)
    assert cli_run.status == "finished" and cli_run.config == cfg.as_dict(CONFIG)
    assert cli_manifest is not None and cli_manifest["config"] == cfg.as_dict(CONFIG)
    for store in (sweep_store, dash_store):
        run, manifest, tensors = stored(store)
        same_row(run, cli_run)
        assert run.sweep_id is not None and cli_run.sweep_id is None
        assert manifest == cli_manifest  # method, config, architecture, networks, version
        for name, state in tensors.items():  # the same training, in this process's threads
            assert state.keys() == cli_tensors[name].keys()
            assert all(state[k].equal(cli_tensors[name][k]) for k in state)


@pytest.fixture
def broken(monkeypatch):
    """Method 'broken' for this test: fails with an error, or returns a NaN metric."""
    module = types.ModuleType("broken_method", "A method that fails on purpose.")

    def run(config, progress=None):
        if config.seed == 0:
            raise RuntimeError("the method failed on purpose")
        return {"metrics": {"accuracy": float("nan")}, "curves": {}, "timings": {"train_s": 0.1}}

    module.Config, module.run = bptt.Config, run
    monkeypatch.setitem(sys.modules, "broken_method", module)
    monkeypatch.setitem(registry.METHODS, "broken", "broken_method")


@pytest.mark.parametrize(("seed", "error"), [
    (0, "RuntimeError: the method failed on purpose"),
    (1, "training diverged: non-finite values in accuracy (accuracy = nan)"),
])
def test_a_failed_run_is_stored_the_same_way_each_way(broken, tmp_path, client, seed, error):
    config = bptt.Config(epochs=1, timesteps=2, device="cpu", seed=seed)
    rows = [stored(s)[0] for s in launch_each_way("broken", config, tmp_path, client).values()]
    assert rows[0].status == "failed" and rows[0].error == error
    for row in rows[1:]:
        same_row(row, rows[0])


def test_weights_are_saved_before_the_row_is_finished_each_way(tmp_path, client, monkeypatch):
    """A run whose weights cannot be saved is never stored `finished`, whichever way it ran."""

    def full(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(weights, "save", full)
    config = bptt.Config(epochs=1, timesteps=2, device="cpu", seed=4)
    for store in launch_each_way("bptt", config, tmp_path, client).values():
        (run,) = store.runs()
        assert run.status == "failed", store.path
        assert run.error == "its results could not be stored: no space left on device"
        assert run.metrics == {}
