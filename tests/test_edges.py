"""At the edges (issue 29): one store's weights, exports that overwrite nothing, SIGTERM handled
as Ctrl-C, stale `running` rows, and work bounded before it starts."""

import dataclasses
import importlib.machinery
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import nir
import pytest
from distributed import Client, LocalCluster

from lab import bptt, budget, cli, registry, weights
from lab.core import config as cfg
from lab.core import signals
from lab.core.config import ConfigError
from lab.core.results import STALE_AFTER_S, ResultsStore, process_identity
from lab.sweep import spec as sweep_spec

ROOT = Path(__file__).resolve().parents[1]


def _kept_run(store: ResultsStore, arch: str = "mlp") -> int:
    """A finished bptt run with its (untrained) network saved, as `registry.execute` keeps it."""
    config = bptt.Config(arch=arch, epochs=1, timesteps=2, device="cpu")
    run_id = store.start("bptt", "digits", 0, cfg.as_dict(config), "test")
    weights.save(store, run_id, "bptt", config, bptt.networks(config, (1, 8, 8), 10),
                 {"input_shape": (1, 8, 8), "num_classes": 10})
    store.finish(run_id, {"accuracy": 10.0}, {}, {})
    return run_id


def _kinds(path: Path) -> set[str]:
    return {type(node).__name__ for node in nir.read(path).nodes.values()}


# --- 2. weights belong to their store ----------------------------------------------------------

def test_two_stores_in_one_folder_keep_their_own_weights(tmp_path, capsys):
    alice, bob = ResultsStore(tmp_path / "alice.sqlite"), ResultsStore(tmp_path / "bob.sqlite")
    assert _kept_run(alice, "mlp") == _kept_run(bob, "cnn") == 1
    assert alice.store_id != bob.store_id
    assert weights.folder(alice, 1) != weights.folder(bob, 1)
    for store, layer in ((alice, "Affine"), (bob, "Conv2d")):
        out = tmp_path / f"{store.path.stem}.nir"
        assert cli.main(["export", "1", "--nir", str(out), "--results", str(store.path)]) == 0
        assert layer in _kinds(out)
    assert "Conv2d" not in _kinds(tmp_path / "alice.nir")


def test_a_store_made_again_never_serves_the_old_weights(tmp_path, capsys):
    path = tmp_path / "r.sqlite"
    old = ResultsStore(path)
    _kept_run(old)
    old_folder = weights.folder(old, 1)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    new = ResultsStore(path)
    run_id = new.start("bptt", "digits", 0, {}, "test")
    assert run_id == 1 and new.store_id != old.store_id
    with pytest.raises(weights.WeightsError, match="run 1 .* has no saved weights"):
        weights.load_model(1, new)
    # the old folder copied where the new store looks: its manifest names the old store
    weights.folder(new, 1).parent.mkdir(parents=True)
    os.rename(old_folder, weights.folder(new, 1))
    with pytest.raises(weights.WeightsError, match="written for another run 1 .*refused"):
        weights.load_model(1, new)
    assert cli.main(["export", "1", "--nir", str(tmp_path / "x.nir"), "--results", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: run 1: ") and "\n" not in err
    assert not (tmp_path / "x.nir").exists()


def test_weights_of_the_shared_layout_are_refused_with_one_line(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    _kept_run(store)
    os.rename(weights.folder(store, 1), tmp_path / "weights" / "run-1")  # before store ids
    with pytest.raises(weights.WeightsError, match="older lab version .* run it again"):
        weights.manifest(1, store)


# --- 3. export overwrites nothing it should not --------------------------------------------

def test_export_never_overwrites_without_force_and_never_the_store(tmp_path, capsys):
    store = ResultsStore(tmp_path / "r.sqlite")
    _kept_run(store)
    results = ["--results", str(store.path)]
    existing = tmp_path / "mine.nir"
    existing.write_text("my notes")
    assert cli.main(["export", "1", "--nir", str(existing), *results]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {existing} exists: pass --force to "
                                               "overwrite it")
    assert existing.read_text() == "my notes"
    assert cli.main(["export", "1", "--nir", str(existing), "--force", *results]) == 0
    assert "Affine" in _kinds(existing)
    for target in (store.path, Path(f"{store.path}-wal"), tmp_path / "link.sqlite"):
        if target.name == "link.sqlite":
            target.symlink_to(store.path)
        before = store.path.read_bytes()
        assert cli.main(["export", "1", "--nir", str(target), "--force", *results]) == 2
        err = capsys.readouterr().err.strip()
        assert "is the results store" in err and "\n" not in err
        assert store.path.read_bytes() == before
    assert [r.id for r in ResultsStore(store.path).runs()] == [1]  # still a usable database
    inside = weights.folder(store, 1) / "snn.safetensors"
    assert cli.main(["export", "1", "--nir", str(inside), "--force", *results]) == 2
    assert "where the store keeps its runs' weights" in capsys.readouterr().err


def test_export_opens_the_store_read_only(tmp_path, monkeypatch):
    store = ResultsStore(tmp_path / "r.sqlite")
    _kept_run(store)

    def no_writing(self):
        raise AssertionError("export opened the store for writing")

    monkeypatch.setattr(ResultsStore, "_migrate", no_writing)
    out = tmp_path / "a.nir"
    assert cli.main(["export", "1", "--nir", str(out), "--results", str(store.path)]) == 0
    assert out.exists() and not list(tmp_path.glob(".a.nir.partial-*"))


# --- 5. SIGTERM as Ctrl-C; stale running rows ---------------------------------------------

def _wait_for_a_row(db: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if db.exists() and ResultsStore(db, readonly=True).runs():
                return
        except ValueError:  # the file is being made: not a database yet
            pass
        time.sleep(0.2)
    raise AssertionError("the run never stored its row")


def test_sigterm_stores_the_run_cancelled_and_exits_143(tmp_path):
    db = tmp_path / "r.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "run", "bptt", "--epochs", "200", "--quiet",
         "--results", str(db)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    _wait_for_a_row(db, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == signals.EXIT_TERMINATED == 143
    assert err.strip() == "cancelled (SIGTERM): the run is stored as cancelled"
    (run,) = ResultsStore(db).runs()
    assert (run.status, run.error) == ("cancelled", "cancelled by SIGTERM")


def test_a_terminated_run_is_stored_cancelled_by_sigterm(tmp_path, monkeypatch):
    class Module:
        @staticmethod
        def run(config, progress=None):
            raise signals.Terminated("terminated by SIGTERM")

    monkeypatch.setattr(registry, "method", lambda name: Module)
    store = ResultsStore(tmp_path / "r.sqlite")
    with pytest.raises(signals.Terminated):
        registry.execute("bptt", bptt.Config(epochs=1, timesteps=2), store)
    (run,) = store.runs()
    assert (run.status, run.error) == ("cancelled", "cancelled by SIGTERM")
    assert signals.exit_code(signals.Terminated()) == 143
    assert signals.exit_code(KeyboardInterrupt()) == 130


def test_deferred_holds_ctrl_c_until_the_block_ends():
    before = signal.getsignal(signal.SIGINT)
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with signals.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append("the block")
    assert finished == ["the block"]
    assert signal.getsignal(signal.SIGINT) is before


def _ctrl_c_inside(store: ResultsStore, write: str, monkeypatch) -> None:
    """Ctrl-C arrives in the middle of `store.<write>`, before its row is written."""
    real = getattr(store, write)

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, write, interrupted)


RESULT = {"metrics": {"accuracy": 50.0}, "curves": {}, "timings": {}}


def test_ctrl_c_while_a_result_is_stored_waits_for_the_whole_row(tmp_path, monkeypatch):
    store = ResultsStore(tmp_path / "r.sqlite")
    _ctrl_c_inside(store, "finish", monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        registry.execute("bptt", bptt.Config(epochs=1, timesteps=2), store,
                         compute=lambda *_: dict(RESULT))
    (run,) = store.runs()
    assert (run.status, run.metrics) == ("finished", {"accuracy": 50.0})


def test_ctrl_c_while_a_row_is_inserted_ends_it_cancelled_not_running(tmp_path, monkeypatch):
    store = ResultsStore(tmp_path / "r.sqlite")
    _ctrl_c_inside(store, "start", monkeypatch)
    computed = []
    with pytest.raises(KeyboardInterrupt):
        registry.execute("bptt", bptt.Config(epochs=1, timesteps=2), store,
                         compute=lambda *_: computed.append(1) or dict(RESULT))
    (run,) = store.runs()
    assert (run.status, run.error, computed) == ("cancelled", "cancelled by the user", [])


def _running_row(store: ResultsStore, **columns) -> int:
    run_id = store.start("bptt", "digits", 0, {}, "test")
    sets = ", ".join(f"{k}=?" for k in columns)
    db = sqlite3.connect(store.path)
    db.execute(f"UPDATE runs SET {sets} WHERE id=?", (*columns.values(), run_id))
    db.commit()
    db.close()
    return run_id


def test_stale_running_rows_are_told_without_the_host_name_alone(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    here = process_identity()
    assert here, "these tests need Linux's /proc"
    boot_ns, start = here.rsplit("/", 1)
    now, old = time.time(), time.time() - 2 * STALE_AFTER_S
    mine = store.start("bptt", "digits", 0, {}, "test")
    # this host name and a live pid, but another start time: the pid was reused
    reused = _running_row(store, process=f"{boot_ns}/{int(start) + 1}")
    # this host name, but another machine or container (another boot / pid namespace)
    elsewhere_fresh = _running_row(store, process="other-boot/pid:[1]/5", heartbeat_at=now)
    elsewhere_stale = _running_row(store, process="other-boot/pid:[1]/5", heartbeat_at=old)
    # another host: only its beats tell
    far_fresh = _running_row(store, host="far-away", process="b/pid:[2]/7", heartbeat_at=now)
    far_stale = _running_row(store, host="far-away", process="b/pid:[2]/7", heartbeat_at=old)
    status = {r.id: r.status for r in store.runs()}
    assert status == {mine: "running", reused: "interrupted", elsewhere_fresh: "running",
                      elsewhere_stale: "interrupted", far_fresh: "running",
                      far_stale: "interrupted"}


def test_a_killed_process_row_reads_interrupted(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        run_id = _running_row(store, pid=child.pid, process=process_identity(child.pid))
        assert store.get(run_id).status == "running"
    finally:
        child.kill()
        child.wait(30)
    assert store.get(run_id).status == "interrupted"


def test_the_heartbeat_keeps_a_row_alive(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    run_id = _running_row(store, host="far-away", process="b/pid:[2]/7",
                          heartbeat_at=time.time() - 2 * STALE_AFTER_S)
    assert store.get(run_id).status == "interrupted"
    with store.heartbeat(run_id, every=0.01):
        deadline = time.monotonic() + 30
        while store.get(run_id).status != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
    assert store.get(run_id).status == "running"


@dataclasses.dataclass(frozen=True)
class SlowConfig:
    """A fake method's config: `steps` progress reports `delay` seconds apart."""

    dataset: str = cfg.setting("digits", choices=("digits",))
    steps: int = cfg.setting(400, low=1, high=10_000, unit="reports")
    delay: float = cfg.setting(0.02, low=0.0, high=1.0, unit="s")
    seed: int = cfg.seed_setting()

    def __post_init__(self) -> None:
        cfg.validate(self)


def _slow_run(config, progress=None):
    for i in range(config.steps):
        time.sleep(config.delay if config.seed > 0 else 0.0)  # seed 0 is back at once
        if progress:
            progress((i + 1) / config.steps, f"step {i + 1}")
    return {"metrics": {"accuracy": 1.0}, "curves": {}, "timings": {}}


@pytest.fixture
def slow(monkeypatch):
    """Method 'slow' registered for this test; an in-process Dask cluster of one worker."""
    module = types.ModuleType("slow_method", "A slow fake method.")
    module.Config, module.run = SlowConfig, _slow_run
    # the CLI's help reads a method's summary from its source file: this one
    module.__spec__ = importlib.machinery.ModuleSpec("slow_method", None, origin=__file__)
    monkeypatch.setitem(sys.modules, "slow_method", module)
    monkeypatch.setitem(registry.METHODS, "slow", "slow_method")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client


def test_closing_the_dashboards_engine_stores_its_jobs_runs_cancelled(tmp_path, slow):
    from lab.dashboard.engine import Engine

    store = ResultsStore(tmp_path / "r.sqlite")
    engine = Engine(client=slow)
    job = engine.launch("slow", SlowConfig(seed=1), store, seeds=2)
    deadline = time.monotonic() + 60
    while job.fraction == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    engine.close(wait=30)  # what `panel serve` runs at exit after SIGTERM or Ctrl-C
    assert not job.active and job.status == "cancelled"
    assert [r.status for r in store.runs()] == ["cancelled", "cancelled"]
    assert store.sweeps()[0].status == "cancelled"


def test_sigterm_to_a_sweeps_client_cancels_what_is_pending_and_exits_143(tmp_path, slow,
                                                                          monkeypatch, capsys):
    from contextlib import contextmanager

    from lab.sweep import cluster

    @contextmanager
    def this_cluster(address=None, workers=None):
        yield slow

    monkeypatch.setattr(cluster, "connect", this_cluster)
    db = tmp_path / "r.sqlite"
    returned = []

    def terminate_after_the_first_finished_run():
        deadline = time.monotonic() + 60
        while not returned and time.monotonic() < deadline:
            try:
                if db.exists() and ResultsStore(db, readonly=True).runs(status="finished"):
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
            except ValueError:  # the file is being made: not a database yet
                pass
            time.sleep(0.02)

    with signals.sigterm_as_interrupt():  # a late SIGTERM raises here, never kills pytest
        thread = threading.Thread(target=terminate_after_the_first_finished_run)
        thread.start()
        try:
            code = cli.main(["sweep", "slow", "--seeds", "3", "--quiet", "--results", str(db)])
        finally:
            returned.append(True)
            thread.join()
    err = capsys.readouterr().err.strip()
    assert code == 143 and err.startswith("cancelled: 2 of 3 runs not done")
    statuses = {r.seed: r.status for r in ResultsStore(db).runs()}
    assert statuses == {0: "finished", 1: "cancelled", 2: "cancelled"}
    assert ResultsStore(db).sweeps()[0].status == "cancelled"


def test_local_workers_leave_sigterm_to_the_client():
    from lab.sweep.cluster import LeaveSignalsToTheClient

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        LeaveSignalsToTheClient().setup(worker=None)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


# --- 6. work bounded before it starts -------------------------------------------------------

def test_a_huge_grid_is_refused_before_any_config_is_built(monkeypatch):
    built = []
    original = bptt.Config.__post_init__

    def counting(self):
        built.append(1)
        original(self)

    monkeypatch.setattr(bptt.Config, "__post_init__", counting)
    grid = {name: [str(v) for v in range(1, 11)]
            for name in ("epochs", "timesteps", "batch_size", "data_seed", "hidden_seed")
            if name in {s.name for s in cfg.specs(bptt.Config)}}
    grid["lr"] = [f"{k / 1000}" for k in range(1, 11)]
    with pytest.raises(ConfigError, match=r"× 5 seeds = .* runs; at most 10,000 runs per sweep"):
        sweep_spec.make("bptt", grid, 5)
    assert built == []
    with pytest.raises(ConfigError, match="epochs lists 20,000 values in the grid"):
        sweep_spec.make("bptt", {"epochs": ["1"] * 20_000}, 1)
    assert built == []


def test_a_sweep_counts_its_runs_without_building_them():
    spec = sweep_spec.make("bptt", {"timesteps": ["2", "4"], "epochs": ["1", "2", "3"]}, 4)
    assert spec.size == 24 == len(spec.configs())


def test_the_sweeps_form_refuses_a_huge_grid_with_one_line(tmp_path):
    from lab.dashboard.engine import Engine
    from lab.dashboard.views import SweepsView

    view = SweepsView(ResultsStore(tmp_path / "r.sqlite"), Engine(), method="bptt")
    view.grid = "\n".join(f"{n}=1,2,3,4,5,6,7,8,9,10" for n in ("epochs", "timesteps",
                                                                  "batch_size"))
    view.grid += "\nlr=0.001,0.002,0.003,0.004,0.005,0.006,0.007,0.008,0.009,0.01"
    assert view.check() is None and view._launch.disabled
    assert "at most 10,000 runs per sweep" in view._check.object


def test_width_4096_depth_32_batch_65536_is_refused_before_allocation(tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.delenv("LAB_MEMORY_LIMIT_GB", raising=False)
    db = tmp_path / "r.sqlite"
    code = cli.main(["run", "conversion", "--width", "4096", "--depth", "32",
                     "--batch-size", "65536", "--results", str(db)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith("error: arch=mlp, width=4096, depth=32, batch_size=65536")
    assert "over the limit of 16.0 GiB" in err and "LAB_MEMORY_LIMIT_GB" in err
    assert not db.exists() or not ResultsStore(db).runs()


def test_the_launch_form_refuses_a_config_over_the_memory_limit(tmp_path, monkeypatch):
    from lab.dashboard.engine import Engine
    from lab.dashboard.views import LaunchView

    monkeypatch.delenv("LAB_MEMORY_LIMIT_GB", raising=False)
    engine = Engine()  # no client is started: the launch is refused before it submits
    launch = LaunchView(ResultsStore(tmp_path / "r.sqlite"), engine, method="conversion")
    assert launch.launch(width=4096, depth=32, batch_size=65536) is None
    message = launch.form._form_message
    assert message.visible and "over the limit of 16" in message.object and "GiB" in message.object
    assert engine.jobs() == [] and engine._client is None


BIG = {  # per method: a config each of whose fields is in range but whose product is not
    "bptt": {"batch_size": 65536, "timesteps": 1024},
    "conversion": {"width": 4096, "depth": 32, "batch_size": 65536},
    "ttl-bptt": {"batch_size": 65536, "timesteps": 1024, "truncation_length": 1024},
    "noise-single-step": {"arch": "resnet18", "batch_size": 65536},
    "streaming": {"batch_size": 65536, "n_time_bins": 64, "steps_per_frame": 64,
                  "downsample": 1},
}


@pytest.mark.parametrize("name", list(registry.METHODS))
def test_every_method_refuses_a_config_over_the_memory_limit(name, monkeypatch, tmp_path):
    monkeypatch.delenv("LAB_MEMORY_LIMIT_GB", raising=False)
    config_cls = registry.method(name).Config
    big = config_cls(**BIG[name])
    with pytest.raises(ConfigError, match="over the limit of 16.0 GiB"):
        budget.check(name, big)
    assert budget.estimate(name, config_cls()).bytes < 2**30  # the laptop default is small
    budget.check(name, config_cls())
    with pytest.raises(ConfigError, match="GiB"):  # a sweep refuses it too, before any run
        sweep_spec.make(name, {k: [v] for k, v in BIG[name].items()}, 1)
    monkeypatch.setenv("LAB_MEMORY_LIMIT_GB", "1e9")
    budget.check(name, big)  # a server may raise the limit


def test_a_bad_memory_limit_is_one_line(monkeypatch):
    monkeypatch.setenv("LAB_MEMORY_LIMIT_GB", "lots")
    with pytest.raises(ConfigError, match="LAB_MEMORY_LIMIT_GB must be a positive number"):
        budget.check("bptt", bptt.Config())
