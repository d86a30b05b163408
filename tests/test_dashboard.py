"""The dashboard's Viewer classes and what they compute, without a browser.

A fake method (instant, registered for the test only) stands in for the real ones, which shows
the dashboard picks up whatever `registry.METHODS` holds; one real bptt run checks the real path.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from dataclasses import dataclass

import numpy as np
import pytest

from lab import bptt, registry
from lab.core import config as cfg
from lab.core.results import ResultsStore
from lab.dashboard import (
    CompareView,
    ConfigForm,
    JobManager,
    LaunchView,
    RunsView,
    SpikeLab,
    default_selection,
    field_specs,
    group_runs,
    runs_frame,
    sample,
    summary,
    validate,
    views,
)
from lab.dashboard.jobs import live_metrics


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
    assert "written in digits, got '2.5'" in message.object
    form.set(timesteps=0)
    assert "timesteps must be an integer in [1, 1024] (steps), got 0" in message.object
    assert not form._messages["epochs"].visible and not form._form_message.visible
    form.set(timesteps=4)
    assert form.config == bptt.Config(timesteps=4) and not message.visible
    form.set(lr="abc")
    assert form.config is None and "lr must be a finite number" in form._messages["lr"].object
    form.reset()
    assert form.config == bptt.Config()


def test_launch_lists_every_registered_method_and_blocks_an_invalid_config(fake, store):
    launch = LaunchView(store, JobManager())
    assert set(launch.param.method.objects) == set(registry.METHODS) >= {"bptt", "fake"}
    launch.method = "fake"
    assert launch.launch(delay=-1.0) is None
    assert launch._launch.disabled
    assert "delay must be a finite number in [0, 60]" in launch.form._messages["delay"].object
    assert launch.jobs.jobs() == []


# --- what Compare computes -------------------------------------------------------------------
def test_seeds_of_one_config_are_one_group_with_mean_and_spread(store):
    curves = {0: [60.0, 80.0, 89.5], 1: [70.0, 84.0, 90.5], 2: [65.0, 82.0, 91.0]}
    for seed, curve in curves.items():
        finished(store, "m", seed, curve, timesteps=3)
    finished(store, "m", 0, [50.0, 60.0, 70.0, 80.0], timesteps=4)
    groups = group_runs(store.runs())
    assert [g.label for g in groups] == ["m · timesteps=4", "m · timesteps=3"]
    mean, spread = groups[1].curve()
    values = np.array(list(curves.values()))
    np.testing.assert_allclose(mean, values.mean(0))
    np.testing.assert_allclose(spread, values.std(0, ddof=1))
    row = summary.cost_row(groups[1])
    assert row.seeds == 3 and row.best_timesteps == 3
    assert row.timesteps_within_ann == 3  # mean 90.33 ≥ 90 − 1, and 82 is not
    assert row.train_s == pytest.approx((2.0, 1.0)) and row.train_cpu_s == pytest.approx((1.5, 1))
    assert row.energy_nj == pytest.approx((1.5, 0.0))
    assert row.saved_mib == pytest.approx((1, 0)) and row.step_peak_mib == pytest.approx((3, 0))
    assert summary.cost_row(groups[0]).timesteps_within_ann is None  # 80 never reaches 89
    frame = summary.cost_frame([row])
    assert frame["train wall (s)"][0] == "2.0 ± 1.0" and frame["train CPU (s)"][0] == "1.5 ± 1.0"
    assert frame["saved for backward (MiB)"][0] == "1.00"
    assert frame["step peak (MiB)"][0] == "3.00"


def test_t_within_1pt_of_ann_is_where_the_accuracy_stays_and_needs_an_ann(store):
    finished(store, "m", 0, [89.5, 85.0, 89.2, 89.8])  # within at T=1, dips, back from T=3
    [row] = summary.cost_rows(group_runs(store.runs()))
    assert row.timesteps_within_ann == 3
    row = summary.CostRow("bptt", 1, None, (95.0, 0.0), 8, None, 8, None, None, None, None,
                          None, None, None)
    assert summary.cost_frame([row])["T within 1 pt of ANN"][0] == "— (no ANN)"


def test_default_selection_is_the_newest_experiment_of_each_method(store):
    old = finished(store, "a", 0, [1.0], timesteps=1)
    new = [finished(store, "a", s, [2.0], timesteps=2) for s in (0, 1)]
    other = finished(store, "b", 0, [3.0])
    assert old not in default_selection(group_runs(store.runs()))
    assert sorted(default_selection(group_runs(store.runs()))) == sorted([*new, other])


def test_compare_with_hundreds_of_runs(tmp_path):
    store = ResultsStore(tmp_path / "many.sqlite")
    sample.fill(store, 200)
    start = time.perf_counter()
    compare = CompareView(store)
    built = time.perf_counter() - start
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
    assert built < 5.0  # one read and a few table rows, not one widget per run


def test_a_curve_is_drawn_against_the_stored_curve_its_x_names(tmp_path):
    store = ResultsStore(tmp_path / "many.sqlite")
    sample.fill(store, 80)
    compare = CompareView(store)
    compare.curve = "sops_per_sample"
    [trace] = compare.figure().data  # only conversion stores it
    assert list(trace.x)[:3] == [1, 2, 4]  # the stored grid of T, not 1, 2, 3
    assert compare.figure().layout.xaxis.title.text == "timesteps T"
    assert compare.figure().layout.yaxis.title.text == "synaptic operations per sample"
    assert summary.axes("a_curve_from_an_old_run").x_label == "index"


def test_every_method_shows_its_memory_and_cpu_time_in_the_cost_table(tmp_path):
    store = ResultsStore(tmp_path / "many.sqlite")
    sample.fill(store, 80)
    frame = summary.cost_frame(CompareView(store).cost_rows())
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
    assert compare.cost_rows()[0].best_accuracy == pytest.approx((62.0, 2.828427))
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


# --- jobs: background runs, progress, cancel, two sessions -----------------------------------
def test_live_metrics_reads_decimal_numbers_from_a_progress_message():
    assert live_metrics("epoch 2/3 loss 0.412") == {"loss": 0.412}
    assert live_metrics("acc=91.5 lr: 1e-3 T 4") == {"acc": 91.5}


def test_a_launched_run_reports_progress_and_lands_in_the_store(fake, store):
    jobs = JobManager()
    job = jobs.submit("fake", FakeConfig(steps=4), store)
    assert job.wait(10) and job.status == "finished"
    assert job.fraction == 1.0 and [m for _, m in job.history][-1] == {"loss": 0.25}
    run = store.get(job.run_id)
    assert run.status == "finished" and run.metrics["accuracy"] == 80.0


def test_two_sessions_launching_at_once_keep_both_results(fake, store):
    jobs = JobManager()
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


def test_cancel_stops_a_run_and_marks_it_cancelled(fake, store):
    jobs = JobManager()
    job = jobs.submit("fake", FakeConfig(steps=200, delay=0.02), store)
    while job.fraction == 0:
        time.sleep(0.01)
    job.cancel()
    assert job.wait(10) and job.status == "cancelled"
    assert [r.status for r in store.runs()] == ["cancelled"]
    queued = jobs.submit("fake", FakeConfig(), store)
    queued.cancel()  # before the worker picks it up (or as it starts): never finishes
    assert queued.wait(10) and queued.status == "cancelled"


def test_a_failed_run_shows_its_error_in_the_card_and_in_runs(fake, store):
    app = SpikeLab(store, JobManager())
    app.tabs.active = 1
    app.launch.method = "fake"
    job = app.launch.launch(fail=True)
    assert job.wait(10) and job.status == "failed"
    app.poll()
    card = app.launch.cards[0]
    assert card._error.visible and "failed on purpose" in card._error.object
    app.tabs.active = 2
    assert app.runs._table.value["error"][0] == "RuntimeError: the fake method failed on purpose"


def test_demo_on_an_empty_store_runs_and_appears_in_compare(fake, store, monkeypatch):
    monkeypatch.setattr(views.launch, "DEMO_METHOD", "fake")
    app = SpikeLab(store, JobManager())
    assert app.compare.dataset is None
    job = app.demo()
    assert app.tabs.active == 1 and job.wait(10)
    app.poll()
    assert app.compare.dataset == "digits" and app.compare.selected == [job.run_id]
    app.launch.cards[0].param.trigger("show")
    assert app.tabs.active == 0


def test_a_real_bptt_run_from_the_launch_form(store):
    app = SpikeLab(store, JobManager())
    app.launch.method = "bptt"
    job = app.launch.launch(epochs=1, timesteps=4)
    assert job.wait(120), "a 1-epoch digits run should take seconds"
    assert job.status == "finished", job.error
    app.poll()
    [row] = app.compare.cost_rows()
    assert row.label == "bptt" and row.best_accuracy[0] > 50 and row.ann_accuracy is None
    assert app.compare.figure().data[0].x == (1, 2, 3, 4)


def test_a_method_that_does_not_import_yet_leaves_the_page_working(store, monkeypatch):
    monkeypatch.setitem(registry.METHODS, "half-written", "lab.no_such_module")
    app = SpikeLab(store, JobManager())
    assert "half-written**: could not be imported" in app.compare._empty[0].object
    app.launch.method = "half-written"
    assert app.launch._launch.disabled and "could not be imported" in app.launch._about.object
    app.launch.method = "bptt"
    assert not app.launch._launch.disabled


def test_a_run_that_ends_before_its_card_is_drawn_is_still_reported(fake, store):
    jobs = JobManager()
    launch = LaunchView(store, jobs)
    launch.method = "fake"
    job = jobs.submit("fake", FakeConfig(), store)
    assert job.wait(10)
    card = views.JobCard(job, jobs)
    launch.cards.append(card)
    assert launch.poll() == [job] and launch.poll() == []


def test_costs_print_the_spread_to_the_decimal_of_the_mean():
    assert summary._si(33_000, 648) == "33.0 ± 0.6 k"
    assert summary._si(331, 0.583) == "331 ± 1"
    assert summary._si(65_536) == "65.5 k"
    assert summary._si(0) == "0"


def test_a_card_shows_the_loss_and_its_change_since_the_first_report(fake, store):
    jobs = JobManager()
    job = jobs.submit("fake", FakeConfig(steps=4), store)
    assert job.wait(10)
    (trend,) = views.JobCard(job, jobs)._trends
    assert trend.label == "loss" and trend.value == 0.25
    assert trend.value_change == pytest.approx(-0.75)  # 1.000 → 0.250
