"""Files and stores from someone else are data: every reader checks what it reads and refuses
with one line naming the file and what is wrong (exit code 2 from the CLI, nothing stored), and
stored text is shown as text — escaped in the dashboard (a served page in headless Chromium runs
none of it) and sanitised on a terminal.

Each test writes small files in the real formats (SQLite rows, model.json, TOML presets, NIR's
HDF5, N-MNIST's 5-byte events, DVS Gesture's .npy, CIFAR's pickled batches) into tmp_path.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import sys

import h5py
import nir
import numpy as np
import pytest
import torch
from test_events import write_nmnist_bin  # tests/ is on the path (no package)
from torch import nn

from lab import bptt, cli, export, presets, weights
from lab.core import cifar, config, data
from lab.core.config import ConfigError
from lab.core.models import TimeDistributed
from lab.core.neurons import SpikingNeuron
from lab.core.results import PROJECT_ROOT, ResultsStore
from lab.core.terminal import printable
from lab.dashboard import cost_table, run_table
from lab.dashboard.views import runs as runs_view
from lab.dashboard.views import sweeps as sweeps_view
from lab.dashboard.views.style import markdown_text
from lab.events import real
from lab.events.dvs import EVENT_DTYPE

SCRIPT = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
PAYLOADS = [SCRIPT, "<script>window.__xss=1</script>", '"><svg onload="window.__xss=1">',
            "`" + SCRIPT + "`", "[link](javascript:window.__xss=1)", "=HYPERLINK(\"x\")",
            "\x1b[2J\x1b]0;title\x07"]


def main(argv: list[str]) -> int:
    """`python -m lab ARGV`'s exit code (argparse's refusals exit through SystemExit)."""
    try:
        return cli.main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def one_line_error(capsys) -> str:
    """The CLI's stderr: exactly one line starting `error:` (returned)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def rows(path) -> int:
    return sqlite3.connect(path).execute("SELECT count(*) FROM runs").fetchone()[0] \
        if os.path.exists(path) else 0


# --- the results store and the terminal ---------------------------------------------------------
def test_a_corrupt_row_is_skipped_with_one_line_and_the_others_listed(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    store = ResultsStore(db)
    good = store.start("bptt", "digits", 0, {"epochs": 1}, "v")
    for column, value in (("config", "{not json"), ("metrics", "[1, 2]"), ("curves", '{"a": "x"}'),
                          ("seed", "zero")):
        bad = store.start("bptt", "digits", 0, {"epochs": 1}, "v")
        with sqlite3.connect(db) as c:
            c.execute(f"UPDATE runs SET {column}=? WHERE id=?", (value, bad))
    assert [r.id for r in store.runs()] == [good] and len(store.skipped) == 4
    assert all(f"of {db} is corrupt" in line for line in store.skipped)
    assert main(["results", "--results", str(db)]) == 0
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 4 and "config is not JSON" in err
    assert "Traceback" not in err and f"\n{good:>4}  bptt" in out
    with pytest.raises(KeyError, match="corrupt"):
        store.get(good + 1)


def test_stored_text_reaches_the_terminal_without_escapes_or_control_characters(tmp_path,
                                                                              capsys):
    db = tmp_path / "r.sqlite"
    ResultsStore(db).start("bptt\x1b[31m\x1b]0;owned\x07", "dig\rits\u202e", 0, {}, "v")
    assert main(["results", "--results", str(db)]) == 0
    out = capsys.readouterr().out
    assert "bptt" in out and "digits" in out
    assert not any(c in out for c in "\x1b\x07\r\u202e")
    assert printable("a\x1b[1;31mb\x9bc\td\ne\x00") == "abc d e"
    # an error quoting user text (a flag's value) is one clean line too
    assert main(["run", "bptt", "--epochs", "\x1b[2Jx"]) == 2
    assert "\x1b" not in one_line_error(capsys)


# --- presets -------------------------------------------------------------------------------------
def test_a_preset_name_that_is_a_path_is_refused_unread(tmp_path, capsys):
    folder = tmp_path / "presets"
    folder.mkdir()
    (tmp_path / "outside.toml").write_text('method = "bptt"\n')
    for name in ("../outside", "/etc/passwd", "a/b", ".."):
        with pytest.raises(ConfigError, match="not a path"):
            presets.load(name, folder)
    assert main(["run", "bptt", "--preset", "../presets/x"]) == 2
    assert "not a path" in one_line_error(capsys)


@pytest.mark.parametrize("text,words", [
    ('method = ["bptt"]\n', "method must be one of"),
    ('method = "bptt"\nconfig = 3\n', "config must be a table"),
    ('method = "bptt"\n[config]\nepochs = "many"\n', "epochs"),
    ('method = "bptt"\n[config]\nnot_a_field = 1\n', "not_a_field"),
    ("method = \n", "not valid TOML"),
])
def test_a_tampered_preset_is_one_line_naming_the_file(tmp_path, text, words):
    (tmp_path / "p.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        presets.load("p", tmp_path)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert str(tmp_path / "p.toml") in str(err.value) or "preset" in str(err.value)


# --- model.json ----------------------------------------------------------------------------------
@pytest.fixture()
def kept_run(tmp_path):
    """A store with one finished bptt run whose tiny untrained networks are kept."""
    store = ResultsStore(tmp_path / "r.sqlite")
    cfg = bptt.Config(epochs=1)
    run_id = store.start("bptt", "digits", 0, config.as_dict(cfg), "v")
    store.finish(run_id, {"accuracy": 10.0}, {}, {})
    nets = bptt.networks(cfg, (1, 8, 8), 10)
    weights.save(store.path, run_id, "bptt", cfg, nets,
                 {"input_shape": (1, 8, 8), "num_classes": 10})
    return store, run_id


@pytest.mark.parametrize("change,words", [
    (lambda m: m.pop("architecture"), "input_shape"),
    (lambda m: m.update(architecture={"input_shape": [1, 100_000, 100_000], "num_classes": 10}),
     "input_shape"),
    (lambda m: m["architecture"].update(num_classes=-3), "num_classes"),
    (lambda m: m.update(networks="snn"), "networks"),
    (lambda m: m.update(config=[1, 2]), "config"),
    (lambda m: m["config"].update(arch="vgg16"), "build no bptt network"),
    (lambda m: m["config"].update(epochs="x"), "build no bptt network"),
    (lambda m: m.update(method="conversion"), "method"),
])
def test_a_tampered_model_json_is_one_line_naming_it_and_exit_2(kept_run, tmp_path, capsys,
                                                                 change, words):
    store, run_id = kept_run
    path = weights.folder(store.path, run_id) / weights.MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(weights.WeightsError, match=words):
        weights.load_model(run_id, store)
    out = tmp_path / "out.nir"
    assert main(["export", str(run_id), "--nir", str(out), "--results",
                     str(store.path)]) == 2
    line = one_line_error(capsys)
    assert str(path) in line and not out.exists()


# --- NIR -----------------------------------------------------------------------------------------
@pytest.fixture()
def nir_file(tmp_path):
    net = nn.Sequential(TimeDistributed(nn.Linear(4, 3)),
                        SpikingNeuron(torch.tensor(1.0), beta=0.9))
    path = tmp_path / "ok.nir"
    nir.write(path, export.export_nir(net, (4,)))
    return path


def _tampered(path, out, change):
    graph = nir.read(path)
    for node in graph.nodes.values():
        change(node)
    nir.write(out, graph)
    return out


@pytest.mark.parametrize("change,words", [
    (lambda n: isinstance(n, nir.Affine) and n.weight.__setitem__((0, 0), np.nan),
     "weight holds NaN or infinite"),
    (lambda n: isinstance(n, nir.Affine) and n.bias.__setitem__(0, np.inf), "bias holds NaN"),
    (lambda n: isinstance(n, nir.LIF) and n.tau.__setitem__(..., 0.0), "tau must be > 0"),
    (lambda n: isinstance(n, nir.LIF) and n.v_threshold.__setitem__(..., np.nan),
     "v_threshold holds NaN"),
])
def test_nir_import_refuses_non_finite_or_zero_parameters_naming_file_and_node(
        nir_file, tmp_path, change, words):
    bad = _tampered(nir_file, tmp_path / "bad.nir", change)
    with pytest.raises(export.ExportError, match=words) as err:
        export.import_nir(bad)
    assert str(bad) in str(err.value)
    assert isinstance(export.import_nir(nir_file), nn.Sequential)  # the original still reads


def test_a_small_nir_file_declaring_a_huge_array_is_refused_before_reading(nir_file):
    with h5py.File(nir_file, "a") as f:
        names: list[str] = []
        f.visititems(lambda name, item: names.append(name)
                     if isinstance(item, h5py.Dataset) and name.endswith("weight") else None)
        del f[names[0]]
        f.create_dataset(names[0], shape=(200_000, 200_000), dtype="f4", chunks=(1000, 1000),
                         compression="gzip")  # nothing written: the file stays small
    assert nir_file.stat().st_size < 1e6
    with pytest.raises(export.ExportError, match="declares shape .200000, 200000."):
        export.import_nir(nir_file)


def test_a_file_that_is_not_nir_is_one_error_naming_it(tmp_path):
    junk = tmp_path / "junk.nir"
    junk.write_bytes(b"\x89HDF but not really")
    with pytest.raises(export.ExportError, match="junk.nir is not a readable NIR file"):
        export.import_nir(junk)


# --- event files ---------------------------------------------------------------------------------
def _events(rng, k=40, side=34):
    events = np.zeros(k, EVENT_DTYPE)
    events["x"], events["y"] = rng.integers(0, side, k), rng.integers(0, side, k)
    events["t"], events["p"] = np.sort(rng.integers(0, 300_000, k)), rng.integers(0, 2, k)
    return events


def write_nmnist(root, per_digit=(7, 1), seed=0):
    """N-MNIST's layout and binary format, `per_digit` recordings per digit (train, test)."""
    rng = np.random.default_rng(seed)
    for folder, n in zip(("Train", "Test"), per_digit, strict=True):
        for d in range(10):
            for i in range(n):
                write_nmnist_bin(root / "NMNIST" / folder / str(d) / f"{i:05d}.bin", _events(rng))


def test_too_few_recordings_name_the_folder_and_the_minimum(tmp_path):
    write_nmnist(tmp_path, per_digit=(4, 1))
    with pytest.raises(ConfigError) as err:
        real.check("nmnist", tmp_path)
    message = str(err.value)
    assert "NMNIST train files under" in message and str(tmp_path) in message
    assert "40 training samples" in message and "at least 61" in message


def test_a_truncated_bin_is_named_before_any_run(tmp_path, capsys, monkeypatch):
    write_nmnist(tmp_path)
    cut = tmp_path / "NMNIST" / "Train" / "3" / "00002.bin"
    cut.write_bytes(cut.read_bytes()[:-2])
    with pytest.raises(ConfigError, match=f"{cut} is truncated"):
        real.check("nmnist", tmp_path)
    db = tmp_path / "r.sqlite"
    assert main(["run", "streaming", "--dataset", "nmnist", "--data-dir", str(tmp_path),
                     "--results", str(db), "--quiet"]) == 2
    assert str(cut) in one_line_error(capsys) and rows(db) == 0


def test_an_event_off_the_sensor_names_its_file_and_leaves_no_row(tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.setenv("LAB_CACHE", str(tmp_path / "cache"))
    write_nmnist(tmp_path)
    off = tmp_path / "NMNIST" / "Train" / "5" / "00001.bin"
    events = _events(np.random.default_rng(1))
    events["x"][3] = 200  # a byte holds it; a 34×34 sensor does not
    write_nmnist_bin(off, events)
    real.check("nmnist", tmp_path)  # sizes and counts are fine: found when the events are read
    with pytest.raises(ConfigError, match=f"{off}: x must be in .0, 33."):
        real.configured("nmnist", tmp_path, n_time_bins=2)
    db = tmp_path / "r.sqlite"
    assert main(["run", "streaming", "--dataset", "nmnist", "--data-dir", str(tmp_path),
                     "--results", str(db), "--quiet", "--epochs", "1"]) == 2
    assert str(off) in one_line_error(capsys) and rows(db) == 0  # no failed row


def write_dvsgesture(root, per_class=7, seed=0):
    rng = np.random.default_rng(seed)
    for folder, users in (("ibmGestureTrain", range(1, per_class + 1)), ("ibmGestureTest", (9,))):
        for user in users:
            for c in range(11):
                k = 30
                events = np.stack([rng.integers(0, 128, k), rng.integers(0, 128, k),
                                   rng.integers(0, 2, k), np.sort(rng.integers(0, 6000, k))], 1)
                path = root / "DVSGesture" / folder / f"user{user:02d}_led" / f"{c}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, events.astype(np.int64))


@pytest.mark.parametrize("array,words", [
    (np.zeros((5, 3), np.int64), r"numeric array \[n, 4\]"),
    (np.zeros(5, np.int64), r"numeric array \[n, 4\]"),
    (np.array([["a", "b", "c", "d"]]), r"numeric array \[n, 4\]"),
])
def test_a_malformed_dvsgesture_array_names_its_file(tmp_path, array, words):
    write_dvsgesture(tmp_path)
    bad = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user02_led" / "4.npy"
    np.save(bad, array)
    with pytest.raises(ConfigError, match=words) as err:
        real.check("dvsgesture", tmp_path)
    assert str(bad) in str(err.value)


def test_a_truncated_npy_and_too_few_gestures_are_named(tmp_path):
    write_dvsgesture(tmp_path)
    bad = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user03_led" / "0.npy"
    bad.write_bytes(bad.read_bytes()[:-40])
    with pytest.raises(ConfigError, match=f"{bad} is truncated"):
        real.check("dvsgesture", tmp_path)
    small = tmp_path / "small"
    write_dvsgesture(small, per_class=4)
    with pytest.raises(ConfigError, match="44 training samples .* at least 67"):
        real.check("dvsgesture", small)


def test_data_dir_help_and_readme_name_every_real_set_and_its_layout():
    import lab.streaming

    help_text = next(s.help for s in config.specs(lab.streaming.Config) if s.name == "data_dir")
    assert all(n in help_text for n in ("nmnist", "dvsgesture", "cifar10"))
    readme = (PROJECT_ROOT / "README.md").read_text()
    for layout in ("NMNIST/Train/", "DVSGesture/ibmGestureTrain/", "cifar-10-batches-py/"):
        assert layout in readme


# --- CIFAR ---------------------------------------------------------------------------------------
def write_cifar10(root, per_file=14, labels=None, data_of=None):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in cifar.FILES["cifar10"]:
        entry = {b"labels": labels or [i % 10 for i in range(per_file)],
                 b"data": data_of if data_of is not None
                 else rng.integers(0, 256, (per_file, 3072), dtype=np.uint8)}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    return folder


def test_cifar_batches_are_checked_before_any_run(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    argv = ["run", "conversion", "--dataset", "cifar10", "--data-dir", str(tmp_path),
            "--results", str(db), "--quiet", "--epochs", "1"]
    folder = write_cifar10(tmp_path, per_file=4)  # 20 training images
    assert main(argv) == 2
    line = one_line_error(capsys)
    assert str(folder) in line and "20 training samples" in line and "at least 21" in line
    cases = {
        "truncated": lambda p: p.write_bytes(p.read_bytes()[:-100]),
        "wrong shape": lambda p: p.write_bytes(pickle.dumps(
            {b"labels": [0] * 14, b"data": np.zeros((14, 1024), np.uint8)})),
        "labels out of range": lambda p: p.write_bytes(pickle.dumps(
            {b"labels": [12] * 14, b"data": np.zeros((14, 3072), np.uint8)})),
        "labels not integers": lambda p: p.write_bytes(pickle.dumps(
            {b"labels": ["a"] * 14, b"data": np.zeros((14, 3072), np.uint8)})),
    }
    words = {"truncated": "is not a readable CIFAR batch", "wrong shape": "uint8 [N, 3072]",
             "labels out of range": "labels must be in [0, 9]",
             "labels not integers": "one integer label per image"}
    for case, tamper in cases.items():
        folder = write_cifar10(tmp_path / case.replace(" ", "_"))
        bad = folder / "data_batch_3"
        tamper(bad)
        with pytest.raises(cifar.DataUnavailable) as err:
            cifar.check("cifar10", folder.parent)
        assert str(bad) in str(err.value) and words[case] in str(err.value), case
        assert main([*argv[:5], str(folder.parent), *argv[6:]]) == 2
        assert str(bad) in one_line_error(capsys)
    assert rows(db) == 0


def test_an_architecture_too_deep_for_the_image_is_one_line_before_any_row(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    for method in ("bptt", "conversion"):
        assert main(["run", method, "--arch", "vgg16", "--dataset", "digits",
                         "--results", str(db), "--quiet"]) == 2
        line = one_line_error(capsys)
        assert "vgg16" in line and "digits" in line and "32×32" in line
    assert rows(db) == 0


def test_min_train_size_is_what_a_stratified_split_needs():
    for classes in (2, 10, 11, 100):
        n = data.min_train_size(classes)
        labels = torch.arange(n) % classes
        split = data.Split(torch.zeros(n, 1), labels, torch.zeros(1, 1),
                           torch.zeros(1, dtype=torch.long), "x")
        data.with_validation(split)  # n works
        with pytest.raises(ValueError):
            fewer = labels[: n - 1]
            data.with_validation(data.Split(torch.zeros(n - 1, 1), fewer, torch.zeros(1, 1),
                                            torch.zeros(1, dtype=torch.long), "x"))


# --- the dashboard -------------------------------------------------------------------------------
def hostile_store(path) -> ResultsStore:
    """Every stored string a payload: method, dataset, config keys and values, metric, curve
    and timing names, error text, sweep method and grid; finished runs of two configurations
    over matched seeds (so Compare, Difference and their legends draw them)."""
    store = ResultsStore(path)
    for i, payload in enumerate(PAYLOADS):
        sweep = store.start_sweep(payload, {"method": payload, "grid": {payload: [payload, 1]},
                                            "seeds": payload})
        for seed in range(2):
            cfg = {"dataset": SCRIPT, payload: payload, "note": PAYLOADS[i % 2], "seed": seed}
            run_id = store.start(payload if i < 2 else SCRIPT, SCRIPT, seed, cfg, payload,
                                 sweep_id=sweep)
            store.finish(run_id, {"accuracy": 50.0 + i + seed, payload: payload},
                         {"accuracy_per_timestep": [40.0, 50.0 + i], payload: [1.0, 2.0]},
                         {"train_s": 1.0, payload: 2.0})
        failed = store.start(SCRIPT, SCRIPT, 0, {payload: payload}, "v")
        store.fail(failed, payload)
    return store


def test_dashboard_builders_escape_stored_text(tmp_path):
    store = hostile_store(tmp_path / "h.sqlite")
    table = sweeps_view.sweeps_table(sweeps_view.sweep_rows(store))
    assert "<img" not in table and "<script" not in table and "&lt;img" in table
    view = runs_view.RunsView(store)
    for i in range(len(view.shown())):
        view._table.selection = [i]
        for text in (view._details.object, view._error.object):
            assert "<img" not in text and "<script" not in text and "<svg" not in text
    assert "&lt;img" in view._details.object
    assert all("<" not in t for t in view._table.titles.values())
    csv = run_table.runs_csv(store.runs()).to_csv(index=False)
    assert "'=HYPERLINK" in csv and "\n=HYPERLINK" not in csv and ",=HYPERLINK" not in csv
    assert cost_table.safe_cell("-0.5") == "-0.5" and cost_table.safe_cell("@SUM(A1)") == \
        "'@SUM(A1)"
    assert markdown_text("`*x*` [a](b) <b>") == "\\`\\*x\\*\\` \\[a\\]\\(b\\) &lt;b&gt;"


sys.path.insert(0, str(PROJECT_ROOT / "dashboards"))  # the launcher lives beside the app
import launcher  # noqa: E402


@pytest.mark.skipif(not launcher.CHROMIUM.exists() and not os.environ.get("LAB_REQUIRE_BROWSER"),
                    reason=f"{launcher.CHROMIUM} is absent: apt-get install chromium")
def test_the_served_page_runs_no_stored_script(tmp_path):
    """Every tab of the page over a hostile store, a run's details and error open: the page's
    `window.__xss` stays unset, no dialog opens, and the markup shows as text."""
    from playwright.sync_api import expect, sync_playwright

    db = tmp_path / "hostile.sqlite"
    hostile_store(db)
    with launcher.served(db, log=tmp_path / "server.log") as url, sync_playwright() as p:
        browser = launcher.chromium(p)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{url}/app")
        expect(page.locator(".js-plotly-plot g.legend")).to_be_visible(timeout=60_000)
        expect(page.locator("table.cost-table tbody tr").first).to_contain_text("<img src=x")
        for tab in ("Difference", "Runs"):
            page.locator(".bk-tab", has_text=tab).click()
        page.locator(".tabulator-row").first.click()
        expect(page.locator(".run-details")).to_contain_text("<img src=x")
        page.locator(".tabulator-row", has_text="failed").filter(
            has_text=PAYLOADS[1]).first.click()  # its error is PAYLOADS[1]
        expect(page.locator(".alert-danger", has_text="Error:")).to_contain_text(PAYLOADS[1])
        page.locator(".bk-tab", has_text="Sweeps").click()
        expect(page.locator(".sweeps")).to_contain_text("<script>window.__xss=1</script>")
        page.locator(".bk-tab", has_text="Launch").click()
        page.wait_for_timeout(500)  # an image's onerror fires as soon as it is inserted
        xss = page.evaluate("window.__xss")
        browser.close()
    assert xss is None and dialogs == []


def test_a_sweep_report_prints_a_spec_files_values_without_escapes(tmp_path, capsys):
    from lab.sweep import command, make

    spec = make("streaming", {"data_dir": ["\x1b]0;owned\x07a\x1b[2J", "b"]}, 1)
    command._print_report(spec, ResultsStore(tmp_path / "r.sqlite"), "accuracy")
    out = capsys.readouterr().out
    assert "data_dir=a" in out and "\x1b" not in out and "\x07" not in out


def test_the_runs_page_names_a_corrupt_row_it_leaves_out(tmp_path):
    db = tmp_path / "r.sqlite"
    store = ResultsStore(db)
    good = store.start("bptt", "digits", 0, {}, "v")
    bad = store.start("bptt", "digits", 0, {}, "v")
    with sqlite3.connect(db) as c:
        c.execute("UPDATE runs SET metrics=? WHERE id=?", (SCRIPT, bad))
    view = runs_view.RunsView(store)
    assert [r.id for r in view.shown()] == [good] and view._corrupt.visible
    assert f"run {bad} of {db} is corrupt" in view._corrupt.object
    assert "<img" not in view._corrupt.object


def test_a_spec_file_whose_method_is_not_a_name_and_a_hidden_list_of_infinity(tmp_path, capsys):
    from lab.dashboard.hidden import HiddenRuns

    (tmp_path / "s.toml").write_text('method = ["bptt"]\n')
    assert main(["sweep", "--spec", str(tmp_path / "s.toml"), "--results",
                 str(tmp_path / "r.sqlite")]) == 2
    assert "method must be one of" in one_line_error(capsys)
    hidden = HiddenRuns(tmp_path / "r.sqlite")
    hidden.path.write_text('{"hidden": [Infinity, 3]}')
    assert hidden.ids() == set()  # unreadable: nothing hidden, no crash
