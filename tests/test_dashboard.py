"""The dashboard's Viewer classes and what they compute, without a browser.

A fake method (instant, registered for the test only) stands in for the real ones, which shows
the dashboard picks up whatever `registry.METHODS` holds; one real bptt run checks the real path.
"""

from __future__ import annotations

import dataclasses
import logging
import shlex
import sys
import threading
import time
import types
import zipfile
from dataclasses import dataclass

import nir
import numpy as np
import pandas as pd
import panel as pn
import plotly.io as pio
import pytest
import scipy.stats
from distributed import Client, LocalCluster

from lab import bptt, cli, registry, streaming, weights
from lab.core import config as cfg
from lab.core import metrics, stats, theme
from lab.core.results import ResultsStore
from lab.dashboard import (
    CompareView,
    ConfigForm,
    HiddenRuns,
    LaunchView,
    RunsView,
    SpikeLab,
    accuracy_figure,
    cost_figure,
    cost_table,
    default_selection,
    field_specs,
    figures,
    group_runs,
    runs_frame,
    sample,
    summary,
    validate,
    views,
)
from lab.dashboard.engine import MAX_HISTORY, Engine, Job, live_metrics
from lab.sweep import make


@dataclass(frozen=True)
class FakeConfig:
    """Instant: `steps` progress reports, `delay` seconds apart."""

    dataset: str = cfg.setting("digits", choices=("digits", "mnist"))
    timesteps: int = cfg.timesteps_setting(4)
    steps: int = cfg.setting(5, low=1, high=10_000, unit="progress reports")
    delay: float = cfg.setting(0.0, low=0.0, high=60.0, unit="s")
    fail: bool = cfg.setting(False)
    seed: int = cfg.seed_setting()
    note: str = "free text"  # declared without `setting`: the form falls back to its type

    def __post_init__(self) -> None:
        cfg.validate(self)
        cfg.require(self.steps >= self.timesteps, "steps", f"≥ timesteps ({self.timesteps})",
                    self.steps)


def fake_run(config: FakeConfig, progress=None) -> dict:
    for i in range(config.steps):
        time.sleep(config.delay)
        if progress:
            progress((i + 1) / config.steps, f"step {i + 1}/{config.steps} loss {1 / (i + 1):.3f}")
    if config.fail:
        raise RuntimeError("the fake method failed on purpose")
    curve = [50.0 + 10 * t + config.seed for t in range(config.timesteps)]
    return {"metrics": {"accuracy": curve[-1], "timesteps": config.timesteps,
                        "ann_accuracy": 85.0, "energy_pj": 2000.0},
            "curves": {"accuracy_per_timestep": curve},
            "timings": {"train_s": 0.5}}


# Bokeh 3.9 turns the Runs table's DataFrame into a ColumnDataSource with a pandas call that
# pandas 3.1 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.reset_index:DeprecationWarning:bokeh")


@pytest.fixture
def fake(monkeypatch):
    """Register method 'fake' for this test only, as another engineer's method would be."""
    module = types.ModuleType("fake_method", "A fake method: instant, for the tests.")
    module.Config, module.run = FakeConfig, fake_run
    monkeypatch.setitem(sys.modules, "fake_method", module)
    monkeypatch.setitem(registry.METHODS, "fake", "fake_method")
    return module


@pytest.fixture
def store(tmp_path):
    return ResultsStore(tmp_path / "runs.sqlite")


@pytest.fixture(scope="module")
def dask_client():
    """An in-process Dask cluster of one worker thread: it finds the test's `fake` method,
    registered in this process, and runs one run at a time (torch's generator is global)."""
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client


@pytest.fixture
def engine(dask_client):
    """The dashboard's engine (a fresh list of jobs) on the shared test cluster."""
    return Engine(client=dask_client)


def finished(store: ResultsStore, method: str, seed: int, curve: list[float], **config) -> int:
    run_id = store.start(method, config.get("dataset", "digits"), seed,
                         {"dataset": "digits", "seed": seed, **config}, "test")
    store.finish(run_id, {"accuracy": curve[-1], "ann_accuracy": 90.0, "saved_bytes": 2**20,
                          "step_peak_bytes": 3 * 2**20, "energy_pj": 1500.0},
                 {"accuracy_per_timestep": curve},
                 {"train_s": 1.0 + seed, "train_cpu_s": 0.5 + seed, "test_s": 0.1})
    return run_id


# --- forms: built from the Config dataclass, errors next to their field ----------------------
def test_field_specs_are_the_configs_declared_choices_and_ranges():
    specs = {s.name: s for s in field_specs(bptt.Config)}
    assert list(specs) == [f for f in bptt.Config.__dataclass_fields__]
    assert specs == {s.name: s for s in cfg.specs(bptt.Config)}
    assert specs["timesteps"].kind is int and specs["lr"].kind is float
    assert specs["dataset"].choices == cfg.spec(bptt.Config, "dataset").choices
    assert specs["device"].choices == ("auto", "cpu", "cuda")


def test_a_field_without_a_declared_spec_falls_back_to_its_type():
    note = field_specs(FakeConfig)[-1]
    assert (note.name, note.kind, note.default, note.choices) == ("note", str, "free text", None)
    form = ConfigForm(FakeConfig)
    assert type(form.widgets["note"]).__name__ == "TextInput"
    form.set(note="")
    assert form.config == FakeConfig(note="")


def test_widgets_are_menus_of_the_declared_choices_and_show_the_valid_range():
    form = ConfigForm(FakeConfig)
    dataset, timesteps = form.widgets["dataset"], form.widgets["timesteps"]
    assert dataset.options == ["digits", "mnist"]
    assert "an integer in [1, 1024] (steps)" in timesteps.description
    assert "--timesteps" in timesteps.description and "default 4" in timesteps.description
    assert timesteps.placeholder == "an integer in [1, 1024] (steps)"


def test_validate_reports_every_bad_field_with_the_configs_own_message():
    values = {**FakeConfig().__dict__, "timesteps": 0, "delay": -1.0, "seed": None}
    config, errors = validate(FakeConfig, values)
    assert config is None
    assert set(errors) == {"timesteps", "delay", "seed"}
    assert errors["timesteps"] == "timesteps must be an integer in [1, 1024] (steps), got 0"
    assert errors["delay"] == "delay must be a finite number in [0, 60] (s), got -1.0"
    assert errors["seed"].startswith("seed needs a value: an integer in [0, ")
    config, errors = validate(FakeConfig, FakeConfig().__dict__)
    assert config == FakeConfig() and errors == {}


@pytest.mark.parametrize("typed", ["2.5", "1e3", "4.0", "", "  ", "abc", "nan", "inf", "0x4"])
def test_an_integer_box_refuses_what_is_not_an_integer_with_a_field_error(typed):
    config, errors = validate(FakeConfig, {"timesteps": typed})
    assert config is None and list(errors) == ["timesteps"]
    assert errors["timesteps"].startswith("timesteps needs a value" if not typed.strip()
                                          else "timesteps must be an integer in [1, 1024]")


@pytest.mark.parametrize("typed", ["", "abc", "nan", "inf", "-inf", "1,5"])
def test_a_number_box_refuses_empty_text_and_non_finite_numbers_with_a_field_error(typed):
    config, errors = validate(FakeConfig, {"delay": typed})
    assert config is None and list(errors) == ["delay"]
    assert errors["delay"].startswith("delay needs a value" if not typed
                                      else "delay must be a finite number in [0, 60] (s)")


def test_typed_numbers_are_read_exactly_not_rounded():
    config, errors = validate(FakeConfig, {"timesteps": " 6 ", "steps": "+8", "delay": "1e-3"})
    assert errors == {} and config == FakeConfig(timesteps=6, steps=8, delay=0.001)


def test_validate_puts_a_cross_field_error_on_the_field_it_names(fake):
    config, errors = validate(FakeConfig, {**FakeConfig().__dict__, "timesteps": 6})
    assert config is None and list(errors) == ["steps"]
    assert errors["steps"] == "steps must be ≥ timesteps (6), got 5"


def test_config_form_shows_the_error_next_to_the_field_and_clears_it():
    form = ConfigForm(bptt.Config)
    form.set(timesteps="2.5")
    assert form.config is None
    message = form._messages["timesteps"]
    assert message.visible and "timesteps must be an integer" in message.object
    assert message.object.endswith("(steps), got '2.5'")  # the CLI's and a sweep's line
    form.set(timesteps=0)
    assert "timesteps must be an integer in [1, 1024] (steps), got 0" in message.object
    assert not form._messages["epochs"].visible and not form._form_message.visible
    form.set(timesteps=4)
    assert form.config == bptt.Config(timesteps=4) and not message.visible
    form.set(lr="abc")
    assert form.config is None and "lr must be a finite number" in form._messages["lr"].object
    form.reset()
    assert form.config == bptt.Config()


def test_launch_lists_every_registered_method_and_blocks_an_invalid_config(fake, store, engine):
    launch = LaunchView(store, engine)
    assert set(launch.param.method.objects) == set(registry.METHODS) >= {"bptt", "fake"}
    launch.method = "fake"
    assert launch.launch(delay=-1.0) is None
    assert launch._launch.disabled
    assert "delay must be a finite number in [0, 60]" in launch.form._messages["delay"].object
    assert launch.jobs.jobs() == []


# --- what Compare computes -------------------------------------------------------------------
def test_seeds_of_one_config_are_one_group_with_mean_and_95_interval(store):
    curves = {0: [60.0, 80.0, 89.5], 1: [70.0, 84.0, 90.5], 2: [65.0, 82.0, 91.0]}
    for seed, curve in curves.items():
        finished(store, "m", seed, curve, timesteps=3)
    finished(store, "m", 0, [50.0, 60.0, 70.0, 80.0], timesteps=4)
    groups = group_runs(store.runs())
    assert [g.label for g in groups] == ["m · timesteps=4", "m · timesteps=3"]
    mean, spread = groups[1].curve()
    values = np.array(list(curves.values()))
    np.testing.assert_allclose(mean, values.mean(0))
    t = scipy.stats.t.ppf(0.975, 2)  # the 95% t-interval's half-width, n = 3
    np.testing.assert_allclose(spread, t * values.std(0, ddof=1) / np.sqrt(3))
    for j in range(3):  # the band is `lab.core.stats.summary`'s interval, step by step
        s = stats.summary(values[:, j])
        assert (mean[j] - spread[j], mean[j] + spread[j]) == pytest.approx((s.ci_low, s.ci_high))
    row = cost_table.cost_row(groups[1])
    assert row.seeds == 3 and row.best_step == 3
    assert row.steps_within_ann == 3  # mean 90.33 ≥ 90 − 1, and 82 is not
    half = t / np.sqrt(3)  # train seconds 1, 2, 3 (and 0.5, 1.5, 2.5): standard deviation 1
    assert row.train_s == pytest.approx((2.0, half))
    assert row.train_cpu_s == pytest.approx((1.5, half))
    assert row.energy_nj == pytest.approx((1.5, 0.0))
    assert row.saved_mib == pytest.approx((1, 0)) and row.step_peak_mib == pytest.approx((3, 0))
    assert cost_table.cost_row(groups[0]).steps_within_ann is None  # 80 never reaches 89
    assert cost_table.cost_row(groups[0]).best_accuracy == (80.0, 0.0)  # one seed: no interval
    frame = cost_table.cost_frame([row])
    assert frame["train wall (s)"][0] == "2.0 ± 2.5" and frame["train CPU (s)"][0] == "1.5 ± 2.5"
    threads = store.runs()[-1].machine["torch_threads"]  # stored by `start` for each run
    assert frame["wall at threads · load"][0].startswith(f"{threads} · ")
    assert frame["seeds (n)"][0] == 3
    assert frame["saved for backward (MiB)"][0] == "1.00"
    assert frame["step peak (MiB)"][0] == "3.00"


def test_the_band_of_every_step_at_once_is_the_t_interval_of_each_step():
    rng = np.random.default_rng(0)
    for seeds in (1, 2, 3, 7):
        values = rng.normal(90.0, 2.0, (seeds, 12))
        values[:, 4] = 55.0  # identical seeds: no spread
        expected = [0.0 if (s := stats.summary(column)).n < 2 else s.ci_high - s.mean
                    for column in values.T]
        np.testing.assert_allclose(summary.half_widths(values), expected, rtol=1e-12, atol=1e-12)
        assert summary.half_width(list(values[:, 0])) == pytest.approx(expected[0], abs=1e-12)


def test_t_within_1pt_of_ann_is_where_the_accuracy_stays_and_needs_an_ann(store):
    finished(store, "m", 0, [89.5, 85.0, 89.2, 89.8])  # within at T=1, dips, back from T=3
    [row] = cost_table.cost_rows(group_runs(store.runs()))
    assert row.steps_within_ann == 3
    assert cost_table.cost_frame([row])["within 1 pt of ANN from"][0] == "T=3"
    row = dataclasses.replace(row, ann_accuracy=None)
    assert cost_table.cost_frame([row])["within 1 pt of ANN from"][0] == "— (no ANN)"


def test_default_selection_is_the_newest_experiment_of_each_method(store):
    old = finished(store, "a", 0, [1.0], timesteps=1)
    new = [finished(store, "a", s, [2.0], timesteps=2) for s in (0, 1)]
    other = finished(store, "b", 0, [3.0])
    assert old not in default_selection(group_runs(store.runs()))
    assert sorted(default_selection(group_runs(store.runs()))) == sorted([*new, other])


def test_compare_with_hundreds_of_runs(tmp_path):
    store = ResultsStore(tmp_path / "many.sqlite")
    sample.fill(store, 200)
    compare = CompareView(store)  # its build time: benchmarks/dashboard.py, never asserted
    assert compare.dataset in sample.DATASETS
    rows = compare.cost_rows()
    assert len(rows) == len(sample.METHODS)  # newest experiment of each method
    assert all(r.seeds == 5 for r in rows)
    figure = compare.figure()
    assert len(figure.data) == 5  # one line per experiment; bands and ANN levels are shapes
    kinds = [shape.type for shape in figure.layout.shapes]
    assert kinds.count("path") == 5 and kinds.count("line") == 4  # bptt has no ANN
    compare.dataset = "mnist"
    assert all(r.dataset == "mnist" for g in compare.shown_groups() for r in g.runs)
    one = compare.selected[:1]
    compare.selected = one
    assert [r.seeds for r in compare.cost_rows()] == [1]
    assert "loss_per_epoch" in compare.param.curve.objects
    compare.curve = "loss_per_epoch"
    assert compare.figure().layout.xaxis.title.text == "epoch"
    assert compare.figure().layout.yaxis.title.text == "training loss"
    assert "Horowitz" in compare._cost.object and compare._cost.object.count("<tr>") == 1


def test_a_curve_is_drawn_against_the_stored_curve_its_x_names(tmp_path):
    store = ResultsStore(tmp_path / "many.sqlite")
    sample.fill(store, 80)
    compare = CompareView(store)
    compare.curve = "sops_per_sample"
    [trace] = compare.figure().data  # only conversion stores it
    assert metrics.curve("sops_per_sample").x == "timesteps_grid"
    [conversion] = [g for g in compare.shown_groups() if g.method == "conversion"]
    assert list(trace.x) == conversion.runs[0].curves["timesteps_grid"][:len(trace.y)]
    assert list(trace.x)[:3] == [1, 2, 4]  # the stored grid of T, not 1, 2, 3
    assert compare.figure().layout.xaxis.title.text == "timesteps T"
    assert compare.figure().layout.yaxis.title.text == "synaptic operations per sample"
    assert summary.axes("a_curve_from_an_old_run").x_label == "index"


def test_every_method_shows_its_memory_and_cpu_time_in_the_cost_table(tmp_path):
    store = ResultsStore(tmp_path / "many.sqlite")
    sample.fill(store, 80)
    frame = cost_table.cost_frame(CompareView(store).cost_rows())
    assert len(frame) == len(sample.METHODS)
    for column in ("saved for backward (MiB)", "step peak (MiB)", "train wall (s)",
                   "train CPU (s)"):
        assert "—" not in set(frame[column]), column


def test_a_new_seed_of_a_shown_experiment_joins_it_but_other_new_runs_do_not(store):
    first = finished(store, "m", 0, [50.0, 60.0], timesteps=2)
    compare = CompareView(store)
    assert compare.selected == [first]
    second = finished(store, "m", 1, [52.0, 64.0], timesteps=2)
    finished(store, "m", 0, [40.0], timesteps=1)  # another experiment: offered, not shown
    compare.refresh()
    assert sorted(compare.selected) == [first, second]
    # n = 2: the half-width is t(0.975, 1) · s / √2 = 12.706 · 2.828 / 1.414
    assert compare.cost_rows()[0].best_accuracy == pytest.approx((62.0, 25.412409))
    compare.selected = [first]  # a seed taken out by hand stays out
    compare.refresh()
    assert compare.selected == [first]


def test_compare_on_an_empty_store_offers_the_demo(store):
    compare = CompareView(store)
    assert compare.dataset is None and compare.cost_rows() == []
    clicked = []
    compare.param.watch(lambda _: clicked.append(True), "demo")
    compare.param.trigger("demo")
    assert clicked


# --- Runs ------------------------------------------------------------------------------------
def test_runs_table_shows_status_and_the_error_of_a_failed_run(store):
    finished(store, "m", 0, [50.0])
    failed = store.start("m", "digits", 1, {"seed": 1}, "test")
    store.fail(failed, "RuntimeError: out of memory")
    runs = RunsView(store)
    frame = runs._table.value
    assert list(frame["status"]) == ["failed", "finished"]
    assert frame["error"][0] == "RuntimeError: out of memory"
    runs._table.selection = [0]
    assert runs._error.visible and "out of memory" in runs._error.object
    assert f"Run #{failed}" in runs._details.object
    runs.status = "finished"
    assert list(runs._table.value["status"]) == ["finished"]
    assert list(runs_frame([]).columns) == list(frame.columns)


def test_runs_offers_the_weights_and_nir_file_of_a_run_that_kept_them(store):
    config = bptt.Config(epochs=1)
    kept = finished(store, "bptt", 0, [50.0])
    weights.save(store.path, kept, "bptt", config, bptt.networks(config, (1, 8, 8), 10),
                 {"input_shape": (1, 8, 8), "num_classes": 10})
    finished(store, "m", 1, [50.0])  # newest first: row 0 kept no weights
    runs = RunsView(store)
    runs._table.selection = [0]
    assert not runs._weights.visible and not runs._nir.visible
    runs._table.selection = [1]
    assert runs._weights.visible and runs._nir.visible and not runs._nir.disabled
    assert runs._nir.filename == f"run-{kept}.nir"
    with zipfile.ZipFile(runs.weights_zip()) as archive:
        assert sorted(archive.namelist()) == ["model.json", "snn.safetensors"]
    assert "lif2" in nir.read(runs.nir_file()).nodes


# --- jobs: background runs, progress, cancel, two sessions -----------------------------------
def test_live_metrics_reads_decimal_numbers_from_a_progress_message():
    assert live_metrics("epoch 2/3 loss 0.412") == {"loss": 0.412}
    assert live_metrics("acc=91.5 lr: 1e-3 T 4") == {"acc": 91.5}


def test_a_launched_run_reports_progress_and_lands_in_the_store(fake, store, engine):
    jobs = engine
    job = jobs.launch("fake", FakeConfig(steps=4), store)
    assert job.wait(10) and job.status == "finished"
    assert job.fraction == 1.0 and [m for _, m in job.history][-1] == {"loss": 0.25}
    run = store.get(job.run_id)
    assert run.status == "finished" and run.metrics["accuracy"] == 80.0


def test_two_sessions_launching_at_once_keep_both_results(fake, store, engine):
    jobs = engine
    sessions = [SpikeLab(store, jobs) for _ in range(2)]
    launched = []

    def click(app: SpikeLab, seed: int) -> None:
        app.launch.method = "fake"
        launched.append(app.launch.launch(seed=seed, delay=0.01))

    threads = [threading.Thread(target=click, args=(app, s)) for s, app in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(job.wait(10) for job in launched)
    assert sorted(r.seed for r in store.runs() if r.status == "finished") == [0, 1]
    for app in sessions:
        app.poll()
        assert len(app.launch.cards) == 1  # each session sees its own run's card
        assert app.compare.cost_rows()[0].seeds == 2  # and both results in Compare


def test_cancel_stops_a_run_and_marks_it_cancelled(fake, store, engine):
    jobs = engine
    job = jobs.launch("fake", FakeConfig(steps=200, delay=0.02), store)
    while job.fraction == 0:
        time.sleep(0.01)
    job.cancel()
    assert job.wait(10) and job.status == "cancelled"
    assert [r.status for r in store.runs()] == ["cancelled"]
    queued = jobs.launch("fake", FakeConfig(), store)
    queued.cancel()  # before the worker picks it up (or as it starts): never finishes
    assert queued.wait(10) and queued.status == "cancelled"


def test_a_failed_run_shows_its_error_in_the_card_and_in_runs(fake, store, engine):
    app = SpikeLab(store, engine)
    app.tabs.active = views.app.LAUNCH
    app.launch.method = "fake"
    job = app.launch.launch(fail=True)
    assert job.wait(10) and job.status == "failed"
    app.poll()
    card = app.launch.cards[0]
    assert card._error.visible and "failed on purpose" in card._error.object
    app.tabs.active = views.app.RUNS
    assert app.runs._table.value["error"][0] == "RuntimeError: the fake method failed on purpose"


def test_demo_on_an_empty_store_runs_and_appears_in_compare(fake, store, monkeypatch, engine):
    monkeypatch.setattr(views.launch, "DEMO_METHOD", "fake")
    app = SpikeLab(store, engine)
    assert app.compare.dataset is None
    job = app.demo()
    assert app.tabs.active == views.app.LAUNCH and job.wait(10)
    app.poll()
    assert app.compare.dataset == "digits" and app.compare.selected == [job.run_id]
    app.launch.cards[0].param.trigger("show")
    assert app.tabs.active == views.app.COMPARE


def test_a_real_bptt_run_from_the_launch_form(store, engine):
    app = SpikeLab(store, engine)
    app.launch.method = "bptt"
    job = app.launch.launch(epochs=1, timesteps=4)
    assert job.wait(120), "a 1-epoch digits run should take seconds"
    assert job.status == "finished", job.error
    app.poll()
    [row] = app.compare.cost_rows()
    assert row.label == "bptt" and row.best_accuracy[0] > 50 and row.ann_accuracy is None
    assert app.compare.figure().data[0].x == (1, 2, 3, 4)


def test_a_method_that_does_not_import_yet_leaves_the_page_working(store, monkeypatch, engine):
    monkeypatch.setitem(registry.METHODS, "half-written", "lab.no_such_module")
    app = SpikeLab(store, engine)
    assert "half-written**: could not be imported" in app.compare._empty[0].object
    app.launch.method = "half-written"
    assert app.launch._launch.disabled and "could not be imported" in app.launch._about.object
    app.launch.method = "bptt"
    assert not app.launch._launch.disabled


def test_a_run_that_ends_before_its_card_is_drawn_is_still_reported(fake, store, engine):
    jobs = engine
    launch = LaunchView(store, jobs)
    launch.method = "fake"
    job = jobs.launch("fake", FakeConfig(), store)
    assert job.wait(10)
    card = views.JobCard(job, jobs)
    launch.cards.append(card)
    assert launch.poll() == [job] and launch.poll() == []


def test_costs_print_the_spread_to_the_decimal_of_the_mean():
    assert cost_table.si(33_000, 648) == "33.0 ± 0.6 k"
    assert cost_table.si(331, 0.583) == "331 ± 1"
    assert cost_table.si(65_536) == "65.5 k"
    assert cost_table.si(0) == "0"


def test_a_card_shows_the_loss_and_its_change_since_the_first_report(fake, store, engine):
    jobs = engine
    # 0.3 s apart: every report passes the workers' throttle (`lab.sweep.live.EVERY_S`)
    job = jobs.launch("fake", FakeConfig(steps=4, delay=0.3), store)
    assert job.wait(10)
    (trend,) = views.JobCard(job, jobs)._trends
    assert trend.label == "loss" and trend.value == 0.25
    assert trend.value_change == pytest.approx(-0.75)  # 1.000 → 0.250


# --- hardening: what clicking the dashboard found ---------------------------------------------
def streaming_run(store: ResultsStore, seed: int, snn: list[float], snn_ops: float) -> int:
    """A finished run with the names lab.streaming stores: curves per frame step, `snn_ops`."""
    config = dataclasses.asdict(streaming.Config(seed=seed))
    run_id = store.start("streaming", config["dataset"], seed, config, "test")
    store.finish(run_id, {"accuracy": snn[-1], "ann_accuracy": 90.0, "ann_macs": 4e5,
                          "snn_ops": snn_ops, "ops_ratio": snn_ops / 4e5},
                 {"accuracy_per_step_snn": snn, "accuracy_per_step_ann": [s + 1 for s in snn],
                  "loss_per_epoch": [1.0, 0.5]}, {"train_s": 2.0})
    return run_id


def test_switching_the_dataset_away_and_back_keeps_the_runs_drawn(tmp_path):
    # Drawn (models built, as in a browser): the run list used to receive its new options
    # before its new value, drop the selection as invalid and send back an empty one.
    store = ResultsStore(tmp_path / "many.sqlite")
    sample.fill(store, 80)
    compare = CompareView(store)
    pn.panel(compare).get_root()
    first = compare.dataset
    for dataset in [d for d in sample.DATASETS if d != first] + [first]:
        compare.dataset = dataset
        assert compare.selected == summary.default_selection(compare.groups) != []
        assert compare._runs.value == compare.selected
        assert len(compare._figure.object.data) == len(sample.METHODS)
        assert compare._cost.object.count("<tr>") == len(sample.METHODS)  # body rows


def test_streaming_runs_show_their_own_curve_their_ann_and_their_operations(store):
    ids = [streaming_run(store, s, [40.0 + s, 80.0, 89.5, 89.8], 1e5 + 1e4 * s) for s in (0, 1)]
    compare = CompareView(store)
    assert sorted(compare.selected) == sorted(ids) and compare.curve == summary.HEADLINE
    figure = compare.figure()
    [trace] = figure.data
    assert list(trace.x) == [1, 2, 3, 4] and trace.y[-1] == pytest.approx(89.8)
    assert figure.layout.xaxis.title.text == "frame step t"
    assert [s.type for s in figure.layout.shapes].count("line") == 1  # its ANN's level
    [row] = compare.cost_rows()
    assert (row.step, row.best_step, row.steps_within_ann) == ("t", 4, 3)
    assert row.operations == pytest.approx((1.05e5, summary.half_width([1e5, 1.1e5])))
    frame = cost_table.cost_frame([row])
    assert frame["within 1 pt of ANN from"][0] == "t=3"
    assert frame["best SNN acc. (%)"][0] == "89.8 @ t=4"
    assert frame["SNN ops / sample"][0] == "105 ± 64 k"
    assert frame["ANN MACs / sample"][0] == "400 k"
    assert "None" not in frame.to_string()


def test_the_headline_curve_is_each_methods_own_side_by_side(store):
    finished(store, "bptt", 0, [50.0, 70.0], dataset=streaming.Config().dataset)
    streaming_run(store, 0, [40.0, 60.0, 70.0], 1e5)
    compare = CompareView(store)
    figure = compare.figure()
    assert len(figure.data) == 2
    assert set(figure.layout.xaxis.title.text.split(" · ")) == {"timesteps T", "frame step t"}
    assert "SOPs" not in cost_table.cost_frame(compare.cost_rows())["SNN ops / sample"][0]


def test_an_unusable_results_file_gives_a_page_that_says_so(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("these are not the results you are looking for\n" * 100)
    folder = tmp_path / "a-folder.sqlite"
    folder.mkdir()
    for path in (text, folder):
        page = views.page(path, poll=False)
        [alert] = page.main.objects
        assert isinstance(alert, pn.pane.Alert) and alert.alert_type == "danger"
        assert "The results file cannot be used" in alert.object and str(path) in alert.object
    page = views.page(tmp_path / "new.sqlite", poll=False)
    assert any(isinstance(o, pn.Tabs) for o in page.main.objects)


def test_a_results_file_that_breaks_while_served_shows_a_banner(store, engine):
    finished(store, "m", 0, [50.0])
    app = SpikeLab(store, engine)
    app.poll()
    assert not app._banner.visible
    store.path.write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        store.path.with_name(store.path.name + suffix).unlink(missing_ok=True)
    app.poll(check_store_every=0)
    assert app._banner.visible and "cannot be read" in app._banner.object
    assert app.compare.cost_rows()  # the last good tables stay


def test_a_reloaded_page_finds_the_runs_its_browser_launched(fake, store, engine):
    jobs = engine
    before = SpikeLab(store, jobs)
    before.adopt("browser-a")
    before.launch.method = "fake"
    running = before.launch.launch(steps=400, delay=0.01)
    while running.fraction == 0:
        time.sleep(0.01)
    reloaded = SpikeLab(store, jobs)  # a new session; the browser's token arrives after
    reloaded.launch.poll()
    assert reloaded.launch.cards == []
    assert "1 run from other browsers" in reloaded.launch._queue.object
    reloaded.adopt("browser-a")
    [card] = reloaded.launch.cards
    assert card.job is running and card._cancel.visible and not card._cancel.disabled
    assert reloaded.launch.poll() == [] and reloaded.launch._queue.object == ""
    other = SpikeLab(store, jobs)
    other.adopt("browser-b")
    other.launch.poll()
    assert other.launch.cards == [] and "1 run from other browsers" in other.launch._queue.object
    card._cancel.clicks += 1
    assert running.wait(10) and running.status == "cancelled"
    assert reloaded.launch.poll() == [running]
    again = SpikeLab(store, jobs)
    again.adopt("browser-a")
    assert [c.job for c in again.launch.cards] == [running]
    assert again.launch.poll() == []  # ended before this page: not reported as news again


def report(job: Job, fraction: float, message: str) -> None:
    """A worker's progress report on the job's first run, as `lab.sweep.live` delivers it."""
    job.report({"run": next(iter(job.runs)), "fraction": fraction, "message": message})


def test_live_metrics_are_copied_under_a_lock_bounded_and_sent_as_they_come(fake, store, engine):
    job = Job(1, make("fake", {}, 1), store)
    for i in range(10):
        report(job, i / 10_000, f"step {i} loss {1 / (i + 1):.4f}")
    card = views.JobCard(job, engine)
    (trend,) = card._trends
    assert len(trend.data["x"]) == 10
    sent = []
    trend.stream = lambda data, rollover=None: sent.append(len(data["y"]))
    for i in range(10, 13):
        report(job, i / 10_000, f"step {i} loss 0.01")
    card.update()
    card.update()  # nothing new: nothing sent
    assert sent == [3] and trend.value == 0.01
    assert trend.value_change == pytest.approx(-0.99)  # since the first report, 1.0
    for i in range(13, 3 * MAX_HISTORY):
        report(job, i / 10_000, f"step {i} loss 0.5")
    history = job.history
    assert MAX_HISTORY // 2 <= len(history) <= MAX_HISTORY
    assert history[0] == (0.0, {"loss": 1.0}) and history[-1][0] == (3 * MAX_HISTORY - 1) / 1e4
    card.update()  # thinned since: the whole (bounded) series once, not a stream
    assert sent == [3] and len(trend.data["y"]) == len(history)


def test_a_drawn_card_reads_a_history_that_grows_meanwhile(fake, store, engine, monkeypatch):
    from lab.dashboard import engine as engine_module
    from lab.sweep import live

    cap = 32  # thinned exactly as at MAX_HISTORY, with 16× fewer points to draw
    monkeypatch.setattr(engine_module, "MAX_HISTORY", cap)
    monkeypatch.setattr(live, "EVERY_S", 0.0)  # every step reports: the history must thin
    jobs = engine
    job = jobs.launch("fake", FakeConfig(steps=4 * cap, delay=0.0), store)
    card = views.JobCard(job, jobs)
    pn.panel(card).get_root()  # the Trend's ColumnDataSource checks its column lengths
    draws = 0
    while job.active:
        card.update()
        draws += 1
        time.sleep(0.01)  # as the page's poll: leaves the GIL to the run and Dask's loop
    card.update()
    assert job.status == "finished" and draws >= 1
    assert job._thinned >= 1  # the history was thinned while the card drew it
    for trend in card._trends:
        assert len(trend.data["x"]) == len(trend.data["y"]) <= cap


def test_compare_exports_its_cost_table_as_csv(tmp_path):
    store = ResultsStore(tmp_path / "many.sqlite")
    sample.fill(store, 80)
    compare = CompareView(store)
    frame = pd.read_csv(compare.cost_csv())
    assert len(frame) == len(sample.METHODS)
    rows = {r.label: r for r in compare.cost_rows()}
    for _, line in frame.iterrows():
        row = rows[line["experiment"]]
        assert line["seeds"] == row.seeds
        assert line["best_accuracy_mean"] == pytest.approx(row.best_accuracy[0])
        assert line["train_s_ci95"] == pytest.approx(row.train_s[1])
    assert {"operations_mean", "energy_nj_mean", "run_ids", "config"} <= set(frame.columns)


def test_a_log_scale_x_axis_on_demand(store):
    finished(store, "m", 0, [50.0, 60.0, 70.0])
    compare = CompareView(store)
    assert compare.figure().layout.xaxis.type is None and compare.figure().layout.xaxis.dtick == 1
    compare.log_x = True
    assert compare._figure.object.layout.xaxis.type == "log"
    assert compare._figure.object.layout.xaxis.dtick is None


def test_accuracy_against_cost_is_one_point_per_configuration_with_its_interval(tmp_path):
    store = ResultsStore(tmp_path / "many.sqlite")
    sample.fill(store, 120)
    compare = CompareView(store)
    compare.plot = "operations"
    figure = compare._figure.object
    assert len(figure.data) == len(sample.METHODS) and figure.layout.xaxis.type is None
    groups = {g.label: g for g in compare.shown_groups()}
    for trace in figure.data:
        group = groups[trace.name.split(" (")[0]]
        accuracy = stats.summary([r.metrics["accuracy"] for r in group.runs])
        ops = stats.summary([summary.operations(r) for r in group.runs])
        assert trace.y[0] == pytest.approx(accuracy.mean) and trace.x[0] == pytest.approx(ops.mean)
        assert trace.error_y.array[0] == pytest.approx(accuracy.ci_high - accuracy.mean)
        assert trace.error_x.arrayminus[0] == pytest.approx(ops.mean - ops.ci_low)
    assert "95% CI" in figure.layout.yaxis.title.text
    compare.plot = "energy"  # streaming stores no energy: no point for it
    assert len(compare._figure.object.data) == len(sample.METHODS) - 1


def test_runs_filter_by_method_and_any_config_field_with_config_columns(store):
    for t in (2, 4, 8):
        finished(store, "m", 0, [50.0], timesteps=t, lr=0.001 * t)
    finished(store, "other", 0, [50.0], timesteps=8)
    runs = RunsView(store)
    assert {"timesteps", "lr"} <= set(runs._table.value.columns)
    runs.where = "timesteps>=4"
    assert sorted(runs._table.value["timesteps"]) == ["4", "8", "8"]
    runs.method = "m"
    runs.where = "timesteps >= 4, lr=8e-3"
    assert list(runs._table.value["id"]) == [3]
    runs.where = "timesteps is 4"
    assert runs._filter_error.visible and "is not field=value" in runs._filter_error.object
    assert runs._table.value.empty
    runs.where = ""
    assert len(runs._table.value) == 3 and not runs._filter_error.visible
    frame = pd.read_csv(runs.csv())
    assert list(frame["id"]) == [3, 2, 1] and list(frame["config.timesteps"]) == [8, 4, 2]
    assert list(frame["metrics.accuracy"]) == [50.0] * 3 and "timings.train_s" in frame


def test_a_runs_command_line_is_the_cli_line_that_builds_its_config(store):
    config = streaming.Config(skips=False, v_min=-1.5, lr=3e-4, seed=3)
    run_id = store.start("streaming", config.dataset, 3, cfg.as_dict(config), "test")
    store.fail(run_id, "RuntimeError: for the test")
    runs = RunsView(store)
    runs._table.selection = [0]
    line = runs._command.value
    assert line.startswith("python -m lab run streaming --dataset ")
    assert "--no-skips" in line and "--v-min=-1.5" in line and "--lr 0.0003" in line
    args = cli._parser().parse_args(shlex.split(line)[3:])
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(streaming.Config)}
    assert streaming.Config(**given) == config


def test_launch_again_and_edit_in_launch_start_from_a_runs_config(fake, store, engine):
    app = SpikeLab(store, engine)
    app.launch.method = "fake"
    first = app.launch.launch(timesteps=3, seed=7, note="again")
    assert first.wait(10)
    app.poll()
    app.tabs.active = views.app.RUNS
    app.runs.refresh()
    app.runs._table.selection = [0]
    app.runs.param.trigger("rerun")
    assert app.tabs.active == views.app.LAUNCH
    second = app.launch.cards[0].job
    assert second is not first and second.config == first.config and second.wait(10)
    app.launch.method = "bptt"
    app.runs.param.trigger("edit")
    assert app.launch.method == "fake" and app.launch.form.config == first.config
    assert len(app.launch.cards) == 2 and "Filled from run #1" in app.launch._loaded.object


def test_a_hidden_run_leaves_compare_and_runs_until_restored(store, engine):
    kept = finished(store, "m", 0, [50.0])
    gone = finished(store, "m", 1, [70.0])
    app = SpikeLab(store, engine)
    app.tabs.active = views.app.RUNS
    app.runs._table.selection = [0]  # newest first: `gone`
    app.runs.toggle_hidden()
    assert app.compare.selected == [kept] and list(app.runs._table.value["id"]) == [kept]
    assert f"Run #{gone} is hidden" in app.runs._details.object and not app.runs._hide.visible
    assert HiddenRuns(store.path).ids() == {gone} and store.get(gone).status == "finished"
    assert store.path.with_name("runs.hidden.json").exists()
    other = SpikeLab(store, engine)  # another session reads the same file
    assert other.compare.selected == [kept]
    app.runs.show_hidden = True
    assert list(app.runs._table.value["status"]) == ["finished (hidden)", "finished"]
    app.runs._table.selection = [0]
    assert app.runs._hide.label == "Restore this run"
    app.runs.toggle_hidden()
    assert HiddenRuns(store.path).ids() == set() and app.runs._hide.label == "Hide this run"
    assert sorted(app.compare.selected) == [kept, gone]


# --- one engine: launches are sweeps on Dask (issue 14) --------------------------------------
def test_a_launch_from_the_page_gives_the_numbers_of_the_command_lines_sweep(store, engine,
                                                                            tmp_path):
    from lab.sweep import runs as sweep_runs

    app = SpikeLab(store, engine)
    app.launch.method = "bptt"
    job = app.launch.launch(epochs=1, timesteps=2, seed=3)
    assert job.wait(120) and job.status == "finished", job.error
    [run] = store.runs()
    cli_store = ResultsStore(tmp_path / "cli.sqlite")  # `python -m lab sweep`'s own path
    sweep_runs.run(make("bptt", {"epochs": [1], "timesteps": [2]}, 1, first_seed=3), cli_store,
                   engine.client(), progress=False)
    [alone] = cli_store.runs()
    assert (run.seed, run.config) == (3, alone.config)
    assert run.metrics == alone.metrics and run.curves == alone.curves
    assert run.sweep_id == store.sweeps()[0].id and run.machine["torch_threads"] == 1
    assert weights.manifest(run.id, store)["method"] == "bptt"  # its model kept, as before


def test_a_launch_over_seeds_is_one_sweep_shown_as_mean_with_its_interval(fake, store, engine):
    app = SpikeLab(store, engine)
    app.launch.method = "fake"
    app.launch.seeds = 3
    job = app.launch.launch(seed=2)
    assert job.wait(20) and job.status == "finished"
    assert sorted(r.seed for r in store.runs()) == [2, 3, 4] and len(job.run_ids) == 3
    [sweep] = store.sweeps()
    assert sweep.spec["seeds"] == 3 and sweep.spec["first_seed"] == 2
    card = app.launch.cards[0]
    card.update()
    acc = stats.summary([82.0, 83.0, 84.0])  # the fake's accuracy is 80 + seed
    assert "3 runs (#" in card._status.object and "seeds 2–4" in card._title.object
    assert f"{acc.mean:.1f} ± {acc.ci_high - acc.mean:.1f} %" in card._status.object
    assert "n = 3" in card._status.object
    with pytest.raises(cfg.ConfigError, match=r"seeds must be an integer in \[1, 1000\]"):
        engine.launch("fake", FakeConfig(), store, seeds=0)


def test_cancel_marks_runs_under_way_and_pending_cancelled_and_frees_the_worker(fake, store,
                                                                                engine):
    job = engine.launch("fake", FakeConfig(steps=400, delay=0.01), store, seeds=3)
    while job.fraction == 0:
        time.sleep(0.01)
    job.cancel()
    assert job.wait(20) and job.status == "cancelled"
    assert [r.status for r in store.runs()] == ["cancelled"] * 3
    assert store.sweeps()[0].status == "cancelled"
    after = engine.launch("fake", FakeConfig(seed=5), store)  # the worker is free again
    assert after.wait(20) and after.status == "finished"


def test_sweeps_lists_stored_sweeps_with_done_over_total_and_launches_one(fake, store, engine):
    sweeps = views.SweepsView(store, engine, method="fake")
    assert "No sweep yet" in sweeps._table.object
    sweeps.grid = "timesteps=2,3\nnosuch=1"
    assert sweeps._launch.disabled and "nosuch is not a field of FakeConfig" in \
        sweeps._check.object
    sweeps.grid = "timesteps=2,9"
    assert sweeps._launch.disabled and "timesteps" in sweeps._check.object
    sweeps.param.update(grid="timesteps=2,3", seeds=2)
    assert "4 runs: 2 grid points × 2 seeds" in sweeps._check.object
    job = sweeps.launch()
    assert job.wait(20) and job.status == "finished" and len(store.runs()) == 4
    sweeps.poll()
    sweeps.refresh()
    [row] = views.sweeps.sweep_rows(store)
    assert (row["done"], row["total"], row["status"], row["grid"]) == (4, 4, "finished",
                                                                      "timesteps=2,3")
    assert "4 / 4" in sweeps._table.object
    again = sweeps.launch(seeds=3)  # resumes: only seed 2 of each point runs
    assert again.wait(20) and len(store.runs()) == 6
    # A sweep under way elsewhere (the CLI): its bar is what the store holds.
    spec = make("fake", {"timesteps": [4]}, 2)
    sweep_id = store.start_sweep("fake", spec.as_dict())
    first = spec.configs()[0]
    store.record("fake", "digits", 0, cfg.as_dict(first), "test", "finished", started_at=1.0,
                 finished_at=2.0, sweep_id=sweep_id)
    newest = views.sweeps.sweep_rows(store)[0]
    assert (newest["done"], newest["total"], newest["status"]) == (1, 2, "running")


def test_the_paired_difference_of_two_configurations_per_step_and_its_verdict(store):
    a = {0: [60.0, 80.0, 90.0], 1: [62.0, 83.0, 91.0], 2: [61.0, 81.0, 89.0]}
    b = {0: [58.0, 79.0, 90.5], 1: [59.0, 80.0, 90.0], 2: [57.0, 79.5, 89.6]}
    for seed in a:
        finished(store, "m", seed, a[seed], timesteps=3, lr=0.1)
        finished(store, "m", seed, b[seed], timesteps=3, lr=0.2)
    finished(store, "m", 7, [1.0, 2.0, 3.0], timesteps=3, lr=0.2)  # no partner: left out
    view = views.PairedView(store)
    assert {view.a, view.b} == {"m · lr=0.1", "m · lr=0.2"}
    view.param.update(a="m · lr=0.1", b="m · lr=0.2")
    diff = view.difference()
    assert diff.seeds == [0, 1, 2] and diff.x == [1, 2, 3]
    for j, step in enumerate(diff.steps):
        expected = stats.paired([a[s][j] for s in a], [b[s][j] for s in b])
        assert step == expected
    assert diff.steps[0].ci_low > 0  # T=1: a higher, every seed
    assert diff.steps[2].ci_low <= 0 <= diff.steps[2].ci_high  # T=3
    assert "no measurable difference between m · lr=0.1 and m · lr=0.2" in view._verdict.object
    assert "a higher" in view._table.object and "no measurable difference" in view._table.object
    figure = view._figure.object
    assert theme.description(figure) and "95% interval" in theme.description(figure)
    assert figure.layout.template.layout.colorway == pio.templates["lab"].layout.colorway


def test_every_figure_has_the_lab_look_and_a_one_line_description(store):
    for seed in (0, 1):
        finished(store, "bptt", seed, [50.0, 70.0], timesteps=2)
        finished(store, "bptt", seed, [40.0, 60.0, 65.0], timesteps=3)
    finished(store, "conversion", 0, [30.0, 80.0], variant="qcfs")
    groups = group_runs(store.runs())
    for figure in (accuracy_figure(groups), cost_figure(groups, "energy")):
        assert figure.layout.template.layout.colorway == pio.templates["lab"].layout.colorway
        text = theme.description(figure)
        assert text and "\n" not in text and figure.layout.title.subtitle.text == text
    traces = {t.name.split(" (")[0]: t for t in accuracy_figure(groups).data}
    qcfs, bptt3, bptt2 = traces["conversion"], traces["bptt · timesteps=3"], \
        traces["bptt · timesteps=2"]
    assert qcfs.line.color == theme.color("qcfs") and qcfs.marker.symbol == "diamond"
    for variant, key in (("residual-noise", "residual_noise"),
                         ("threshold-balancing", "threshold_balancing")):
        assert figures.method_style("conversion", {"variant": variant})[0] == theme.color(key)
    assert figures.method_style("noise-single-step")[0] == theme.color("noise_single_step")
    assert bptt2.line.color == bptt3.line.color == theme.color("bptt")
    assert bptt2.marker.symbol == bptt3.marker.symbol  # one method, one marker
    assert bptt2.line.dash != bptt3.line.dash  # two configurations told apart without colour
