"""Bad input and store faults: every refusal one clear line, no traceback, no lost row.

    python benchmarks/bad_inputs.py [--quick]

The bad inputs are generated from every method's declared fields (`lab.core.config.specs`):
for each number, a value below and above its range, `inf`, `nan` and a word; for each choice, a
name that is not one; plus an unknown flag and a too-large seed. Each runs through the CLI in
this process (`lab.cli.main`): a clear error is exit code 2 with one line `error: NAME ...`
naming the field. Then the store faults: a run whose metrics are not finite, and a run whose
`finish` hits a full disk; each must end as a `failed` row with its reason (a row left
`running` or missing is lost). Last, every stored row's JSON is checked with SQLite's json_valid.
Then the untrusted files and stores (`untrusted`): real-format data folders with one fault each
(N-MNIST, DVS Gesture, CIFAR: too small, truncated, malformed arrays, events off the sensor,
labels out of range), an architecture too deep for the image, tampered `model.json` files
(through `export`), NIR files (NaN / inf, τ = 0, a huge declared array, not HDF5), presets (a
`../` name, tampered files), a corrupt results row and ANSI escapes in stored text: each must
be one line naming the file, exit 2, no row left (`stray_rows`). Last, a store with markup in
every field is served and every tab opened in headless Chromium (`--quick`: the pages' HTML is
checked instead); `scripts_run` counts the scripts it ran (goal 0).
Then the edges (`edge_cases`): two stores in one folder and a store made again (each export
serves its own run's network or refuses), exports over an existing file, over the store or its
WAL (with --force too) and from a read-only store, a sweep grid past 10,000 runs, a config of
each method over the memory limit, SIGTERM to a run (and, without --quick, to a sweep's process
group), and a KILLed run's row; a row left `running`, missing or stored twice is lost, a file an
export wrote over is counted in `files_overwritten`.
Last line: `RESULT bad_inputs tried=... clear_errors=... tracebacks=... rows_lost=...
invalid_json_rows=... files_overwritten=...` (goals: tracebacks = rows_lost = invalid_json_rows
= files_overwritten = 0, clear = tried).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import pickle
import sqlite3
import sys
import tempfile
import traceback
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import numpy as np

from lab import cli, registry
from lab.core import config as cfg
from lab.core.results import ResultsStore

# Run as a script, this folder comes first on sys.path, where benchmarks/nir.py would shadow
# the `nir` package that lab.export reads NIR files with (imported later, by the cases).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def bad_values(spec: cfg.FieldSpec) -> list[str]:
    """Texts a user might type that the field must refuse."""
    if spec.kind is bool or spec.path:  # any folder name is a valid path until it is read
        return []
    if spec.choices is not None:
        return ["not-a-choice"]
    values = ["abc", "nan"]
    if spec.high is not None and math.isfinite(spec.high):
        values += [repr(spec.high * 10 + 1) if spec.kind is float else str(int(spec.high) + 1),
                   "inf"]
    if spec.low is not None and math.isfinite(spec.low):
        values.append(repr(spec.low - 1.0) if spec.kind is float else str(int(spec.low) - 1))
    if spec.kind is int:
        values.append("2.5")
    return values


def cases(quick: bool) -> list[tuple[list[str], str]]:
    """(argv, the field the error must name)."""
    out = []
    for name in registry.METHODS:
        specs = cfg.specs(registry.method(name).Config)
        for spec in specs[: 6 if quick else None]:
            flag = "--" + spec.name.replace("_", "-")
            out += [(["run", name, flag, v], spec.name) for v in bad_values(spec)]
        out.append((["run", name, "--no-such-flag", "1"], "no-such-flag"))
    return out


def run_cli(argv: list[str]) -> tuple[int, str, bool]:
    """(exit code, stderr, whether a traceback escaped)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        except Exception:  # noqa: BLE001  what this benchmark counts
            traceback.print_exc(file=err)
            return 1, err.getvalue(), True
    return code, err.getvalue(), "Traceback" in err.getvalue()


def store_faults(path: Path) -> int:
    """Rows lost under faults: a diverged run and a full disk while finishing."""
    store = ResultsStore(path)

    class Diverged:
        @staticmethod
        def run(config, progress=None):
            return {"metrics": {"final_loss": math.nan}, "curves": {}, "timings": {}}

    class Full:
        @staticmethod
        def run(config, progress=None):
            return {"metrics": {"accuracy": 50.0}, "curves": {}, "timings": {}}

    def disk_full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    config = registry.method("bptt").Config(epochs=1)
    original, finish = registry.method, store.finish
    for fake, patch in ((Diverged, None), (Full, disk_full)):
        registry.method = lambda name, fake=fake: fake
        store.finish = patch or finish
        try:
            registry.execute("bptt", config, store)
        except registry.RunFailed:
            pass
        finally:
            registry.method, store.finish = original, finish
    return sum(r.status != "failed" for r in store.runs())


# --- Untrusted files and stores: every reader refuses in one line naming the file, nothing is
# stored, and stored text never runs as script in the dashboard nor escapes on a terminal.
SCRIPT = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
MARKUP = [SCRIPT, "<script>window.__xss=1</script>", '"><svg onload="window.__xss=1">',
          "`" + SCRIPT + "`", "[x](javascript:window.__xss=1)", "\x1b[2J\x1b]0;title\x07"]


@dataclass
class Untrusted:
    """What the untrusted-file cases gave: counts, and the cases that were not one clear line."""

    tried: int = 0
    clear: int = 0
    tracebacks: int = 0
    stray_rows: int = 0  # rows left by a refused run (a failed load must leave none)
    scripts_run: int = 0  # stored markup that ran as script in the served page (or, --quick,
    # that reached the page's HTML unescaped)
    unclear: list = dc_field(default_factory=list)

    def count(self, case: str, ok: bool, traceback_: bool, detail: str) -> None:
        self.tried += 1
        self.clear += ok
        self.tracebacks += traceback_
        if not ok:
            self.unclear.append((case, "", detail[:160]))


def _nmnist_bin(path: Path, x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> None:
    """N-MNIST's 5-byte events: x, y, then polarity (bit 7) and a 23-bit µs time stamp."""
    raw = np.zeros((len(x), 5), np.uint8)
    raw[:, 0], raw[:, 1] = x, y
    raw[:, 2] = (p << 7) | ((t >> 16) & 0x7F)
    raw[:, 3], raw[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw.tobytes())


def write_nmnist(root: Path, per_digit: int = 7) -> Path:
    rng = np.random.default_rng(0)
    for folder, n in (("Train", per_digit), ("Test", 1)):
        for d in range(10):
            for i in range(n):
                k = 30
                _nmnist_bin(root / "NMNIST" / folder / str(d) / f"{i:05d}.bin",
                            rng.integers(0, 34, k), rng.integers(0, 34, k),
                            np.sort(rng.integers(0, 300_000, k)), rng.integers(0, 2, k))
    return root


def write_dvsgesture(root: Path, per_class: int = 7) -> Path:
    rng = np.random.default_rng(0)
    for folder, users in (("ibmGestureTrain", range(1, per_class + 1)), ("ibmGestureTest", (9,))):
        for user in users:
            for c in range(11):
                k = 30
                events = np.stack([rng.integers(0, 128, k), rng.integers(0, 128, k),
                                   rng.integers(0, 2, k), np.sort(rng.integers(0, 6000, k))], 1)
                path = root / "DVSGesture" / folder / f"user{user:02d}_led" / f"{c}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, events.astype(np.int64))
    return root


def write_cifar10(root: Path, per_file: int = 14) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                 "data_batch_5", "test_batch"):
        entry = {b"labels": [i % 10 for i in range(per_file)],
                 b"data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8)}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    return root


def _pickle(labels: list, data: np.ndarray):
    return lambda p: p.write_bytes(pickle.dumps({b"labels": labels, b"data": data}))


def data_cases(tmp: Path) -> list[tuple[str, list[str], Path]]:
    """(case, argv, the file or folder the one line must name): each a real-format data folder
    with one fault; every run must be refused (exit 2) before any row, naming it."""
    out = []

    def case(name: str, writer, method: str, dataset: str, fault) -> None:
        root = writer(tmp / "data" / name.replace(" ", "_"))
        named = fault(root)
        out.append((name, ["run", method, "--dataset", dataset, "--data-dir", str(root),
                           "--epochs", "1", "--quiet"], named))

    def cut(path: Path, n: int) -> Path:
        path.write_bytes(path.read_bytes()[:-n])
        return path

    def off_sensor(root: Path) -> Path:
        path = root / "NMNIST" / "Train" / "5" / "00001.bin"
        _nmnist_bin(path, np.array([3, 200]), np.array([4, 5]), np.array([10, 20]),
                    np.array([0, 1]))
        return path

    def cifar(fault):
        def apply(root: Path) -> Path:
            path = root / "cifar-10-batches-py" / "data_batch_3"
            fault(path)
            return path
        return apply

    npy = "DVSGesture/ibmGestureTrain/user02_led/4.npy"
    case("nmnist too small", lambda r: write_nmnist(r, 4), "streaming", "nmnist", lambda r: r)
    case("nmnist truncated .bin", write_nmnist, "streaming", "nmnist",
         lambda r: cut(r / "NMNIST/Train/3/00002.bin", 2))
    case("nmnist event off the sensor", write_nmnist, "streaming", "nmnist", off_sensor)
    case("dvsgesture too small", lambda r: write_dvsgesture(r, 4), "streaming", "dvsgesture",
         lambda r: r)
    case("dvsgesture [n, 3] array", write_dvsgesture, "streaming", "dvsgesture",
         lambda r: (np.save(r / npy, np.zeros((5, 3), np.int64)), r / npy)[1])
    case("dvsgesture truncated .npy", write_dvsgesture, "streaming", "dvsgesture",
         lambda r: cut(r / npy, 40))
    case("cifar10 4 images per batch", lambda r: write_cifar10(r, 4), "conversion", "cifar10",
         lambda r: r / "cifar-10-batches-py")
    case("cifar10 truncated batch", write_cifar10, "conversion", "cifar10",
         cifar(lambda p: cut(p, 100)))
    case("cifar10 wrong shape", write_cifar10, "conversion", "cifar10",
         cifar(_pickle([0] * 14, np.zeros((14, 1024), np.uint8))))
    case("cifar10 labels out of range", write_cifar10, "conversion", "cifar10",
         cifar(_pickle([12] * 14, np.zeros((14, 3072), np.uint8))))
    for method in ("bptt", "conversion"):
        out.append((f"{method} vgg16 on digits", ["run", method, "--arch", "vgg16", "--dataset",
                                                  "digits", "--quiet"], Path("vgg16")))
    return out


def model_json_cases(tmp: Path) -> list[tuple[str, list[str], Path]]:
    """(case, argv, the model.json) for `export` of a run whose manifest was tampered with."""
    import json

    from lab import bptt, weights

    out = []
    changes = {
        "model.json without architecture": lambda m: m.pop("architecture"),
        "model.json huge input_shape": lambda m: m["architecture"].update(
            input_shape=[1, 100_000, 100_000]),
        "model.json networks not a list": lambda m: m.update(networks="snn"),
        "model.json config a list": lambda m: m.update(config=[1]),
        "model.json config too deep": lambda m: m["config"].update(arch="vgg16"),
    }
    for name, change in changes.items():
        store = ResultsStore(tmp / "weights" / name.replace(" ", "_") / "r.sqlite")
        config = bptt.Config(epochs=1)
        run_id = store.start("bptt", "digits", 0, cfg.as_dict(config), "v")
        store.finish(run_id, {"accuracy": 10.0}, {}, {})
        weights.save(store.path, run_id, "bptt", config, bptt.networks(config, (1, 8, 8), 10),
                     {"input_shape": (1, 8, 8), "num_classes": 10})
        path = weights.folder(store.path, run_id) / weights.MANIFEST
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest))
        out.append((name, ["export", str(run_id), "--nir", str(store.path.with_suffix(".nir")),
                           "--results", str(store.path)], path))
    return out


def nir_cases(tmp: Path) -> list[tuple[str, Path]]:
    """(case, file): NIR files with NaN / inf weights, τ = 0, a huge declared array, not HDF5."""
    import h5py
    import nir
    import torch
    from torch import nn

    from lab import export
    from lab.core.models import TimeDistributed
    from lab.core.neurons import SpikingNeuron

    net = nn.Sequential(TimeDistributed(nn.Linear(4, 3)),
                        SpikingNeuron(torch.tensor(1.0), beta=0.9))
    good = tmp / "nir" / "good.nir"
    good.parent.mkdir(parents=True)
    nir.write(good, export.export_nir(net, (4,)))
    faults = {"nir NaN weight": lambda n: isinstance(n, nir.Affine) and n.weight.__setitem__(
                  (0, 0), np.nan),
              "nir inf bias": lambda n: isinstance(n, nir.Affine) and n.bias.__setitem__(
                  0, np.inf),
              "nir tau = 0": lambda n: isinstance(n, nir.LIF) and n.tau.__setitem__(..., 0.0)}
    out = []
    for name, fault in faults.items():
        graph = nir.read(good)
        for node in graph.nodes.values():
            fault(node)
        path = tmp / "nir" / f"{name.replace(' ', '_')}.nir"
        nir.write(path, graph)
        out.append((name, path))
    huge = tmp / "nir" / "huge.nir"
    huge.write_bytes(good.read_bytes())
    with h5py.File(huge, "a") as f:
        names: list[str] = []
        f.visititems(lambda n, item: names.append(n) if isinstance(item, h5py.Dataset)
                     and n.endswith("weight") else None)
        del f[names[0]]
        f.create_dataset(names[0], shape=(200_000, 200_000), dtype="f4", chunks=(1000, 1000),
                         compression="gzip")
    junk = tmp / "nir" / "junk.nir"
    junk.write_bytes(b"not HDF5")
    return [*out, ("nir huge declared array", huge), ("nir not HDF5", junk)]


def preset_cases(tmp: Path) -> list[tuple[str, str, Path]]:
    """(case, preset name, folder): a name escaping presets/ and tampered preset files."""
    folder = tmp / "presets"
    folder.mkdir()
    (tmp / "outside.toml").write_text('method = "bptt"\n')
    files = {"preset method a list": 'method = ["bptt"]\n',
             "preset config not a table": 'method = "bptt"\nconfig = 3\n',
             "preset value of the wrong type": 'method = "bptt"\n[config]\nepochs = "many"\n',
             "preset not TOML": "method = \n"}
    out = [("preset name ../outside", "../outside", folder)]
    for name, text in files.items():
        (folder / f"{len(out)}.toml").write_text(text)
        out.append((name, str(len(out)), folder))
    return out


def untrusted(tmp: Path, browser: bool) -> Untrusted:
    """Run every untrusted-file case: through the CLI where a user meets it (exit 2, one
    `error:` line naming the file, no row), through the library where it is one (one error)."""
    from lab import export, presets

    result = Untrusted()
    with _env("LAB_CACHE", str(tmp / "cache")):
        for name, argv, named in data_cases(tmp) + model_json_cases(tmp):
            db = tmp / "stray" / f"{name.replace(' ', '_')}.sqlite"
            if argv[0] == "run":
                argv = [*argv, "--results", str(db)]
            code, err, escaped = run_cli(argv)
            lines = err.strip().splitlines()
            ok = (code == 2 and len(lines) == 1 and lines[0].startswith("error:")
                  and str(named) in lines[0])
            result.count(name, ok, escaped, f"exit {code}: {err.strip()}")
            result.stray_rows += len(ResultsStore(db).runs()) if db.exists() else 0
    for name, path in nir_cases(tmp):
        try:
            export.import_nir(path)
            ok, escaped, detail = False, False, "accepted"
        except export.ExportError as err:
            ok, escaped, detail = str(path) in str(err) and "\n" not in str(err), False, str(err)
        except Exception as err:  # noqa: BLE001  what this benchmark counts
            ok, escaped, detail = False, True, f"{type(err).__name__}: {err}"
        result.count(name, ok, escaped, detail)
    for name, preset, folder in preset_cases(tmp):
        try:
            presets.load(preset, folder)
            ok, escaped, detail = False, False, "accepted"
        except cfg.ConfigError as err:
            ok, escaped, detail = "\n" not in str(err), False, str(err)
        except Exception as err:  # noqa: BLE001
            ok, escaped, detail = False, True, f"{type(err).__name__}: {err}"
        result.count(name, ok, escaped, detail)
    code, err, escaped = run_cli(["run", "bptt", "--preset", "../../etc/passwd"])
    result.count("CLI preset ../../etc/passwd", code == 2 and "not a path" in err, escaped, err)
    corrupt = tmp / "corrupt.sqlite"
    store = ResultsStore(corrupt)
    for method in ("bptt\x1b[31m\x1b]0;owned\x07", "bptt"):
        store.start(method, "digits", 0, {}, "v")
    with sqlite3.connect(corrupt) as db:
        db.execute("UPDATE runs SET config='{not json' WHERE id=2")
    out = io.StringIO()
    err_ = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err_):
        try:
            code = cli.main(["results", "--results", str(corrupt)])
            escaped = False
        except Exception:  # noqa: BLE001
            traceback.print_exc(file=err_)
            code, escaped = 1, True
    warned = err_.getvalue().strip().splitlines()
    result.count("results with a corrupt row", code == 0 and len(warned) == 1
                 and "run 2" in warned[0] and "corrupt" in warned[0], escaped, err_.getvalue())
    result.count("results printing ANSI escapes", "\x1b" not in out.getvalue()
                 and "\x07" not in out.getvalue(), False, repr(out.getvalue()[-80:]))
    help_out = io.StringIO()
    with contextlib.redirect_stdout(help_out), contextlib.suppress(SystemExit):
        cli.main(["run", "streaming", "--help"])
    result.count("--data-dir help lists dvsgesture", "dvsgesture" in help_out.getvalue(),
                 False, "not listed")
    result.scripts_run = scripts_run(tmp / "hostile.sqlite", browser)
    return result


def hostile_store(path: Path) -> ResultsStore:
    """Markup in every stored string: method, dataset, config keys and values, metric, curve
    and timing names, error text, sweep method, grid and seeds."""
    store = ResultsStore(path)
    for i, text in enumerate(MARKUP):
        sweep = store.start_sweep(text, {"method": text, "grid": {text: [text]}, "seeds": text})
        for seed in range(2):
            run_id = store.start(text if i < 2 else SCRIPT, SCRIPT, seed,
                                 {"dataset": SCRIPT, text: text, "seed": seed}, text,
                                 sweep_id=sweep)
            store.finish(run_id, {"accuracy": 50.0 + i + seed, text: text},
                         {"accuracy_per_timestep": [40.0, 50.0 + i], text: [1.0]},
                         {"train_s": 1.0, text: 2.0})
        store.fail(store.start(SCRIPT, SCRIPT, 0, {text: text}, "v"), text)
    return store


def scripts_run(path: Path, browser: bool) -> int:
    """Scripts the stored markup ran in the served dashboard, every tab visited and a run's
    details and error opened (headless Chromium); without a browser (or --quick), the markup
    that reached the pages' HTML unescaped (raw `<img`, `<script`, `<svg` tags)."""
    import os
    import sys

    store = hostile_store(path)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboards"))
    import launcher

    if browser and launcher.CHROMIUM.exists():
        from playwright.sync_api import sync_playwright

        with launcher.served(path) as url, sync_playwright() as p:
            page = launcher.chromium(p).new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{url}/app")
            page.locator(".js-plotly-plot g.legend").wait_for(timeout=60_000)
            for tab in ("Difference", "Runs"):
                page.locator(".bk-tab", has_text=tab).click()
            for row in range(3):
                page.locator(".tabulator-row").nth(row).click()
            for tab in ("Sweeps", "Launch"):
                page.locator(".bk-tab", has_text=tab).click()
            page.wait_for_timeout(500)
            return int(page.evaluate("window.__xss || 0"))
    os.environ.setdefault("BOKEH_RESOURCES", "inline")
    from lab.dashboard.views import runs, sweeps

    pages = [sweeps.sweeps_table(sweeps.sweep_rows(store))]
    view = runs.RunsView(store)
    for row in range(len(view.shown())):
        view._table.selection = [row]
        pages += [view._details.object, view._error.object]
    return sum(page.count(tag) for page in pages for tag in ("<img", "<script", "<svg"))


# --- At the edges: one store's weights, exports that overwrite nothing, SIGTERM as Ctrl-C, stale
# rows, and work bounded before it starts (a huge sweep grid, a config too big for memory).
@dataclass
class Edges:
    """What the edge cases gave: counts, and the cases that were not as they should be."""

    tried: int = 0
    clear: int = 0  # a clear one-line refusal, or the right result where none is refused
    tracebacks: int = 0
    rows_lost: int = 0  # rows left `running`, missing, or stored twice
    files_overwritten: int = 0  # files an export must not have written over
    unclear: list = dc_field(default_factory=list)

    def count(self, case: str, code: int, err: str, escaped: bool, expect: int = 2,
              needle: str = "") -> bool:
        """A CLI outcome: exit `expect`, and for a refusal one `error:` line holding `needle`."""
        lines = err.strip().splitlines()
        ok = code == expect and not escaped and (
            expect == 0 or (len(lines) == 1 and lines[0].startswith("error:")
                            and needle in lines[0]))
        self.tried += 1
        self.clear += ok
        self.tracebacks += escaped
        if not ok:
            self.unclear.append((case, code, err.strip()[:160]))
        return ok


def _kept_run(store: ResultsStore, arch: str) -> int:
    """A finished bptt run of `arch` with its (untrained) network saved in `store`."""
    from lab import bptt, weights

    config = bptt.Config(arch=arch, epochs=1, timesteps=2, device="cpu")
    run_id = store.start("bptt", "digits", 0, cfg.as_dict(config), "v")
    weights.save(store, run_id, "bptt", config, bptt.networks(config, (1, 8, 8), 10),
                 {"input_shape": (1, 8, 8), "num_classes": 10})
    store.finish(run_id, {"accuracy": 10.0}, {}, {})
    return run_id


def _wait_for_row(db: Path, proc, seconds: float = 180.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(ValueError):  # the file is being made
            if db.exists() and ResultsStore(db, readonly=True).runs():
                return True
        time.sleep(0.2)
    return False


def edge_cases(tmp: Path, quick: bool) -> Edges:
    """Run every edge case; `quick` leaves out the sweep under SIGTERM (a Dask cluster)."""
    import os
    import signal
    import subprocess

    import nir

    from lab.core.results import process_identity

    edges, root = Edges(), tmp / "edges"
    root.mkdir()
    # two stores in one folder, each its run 1: each export serves its own network
    alice, bob = ResultsStore(root / "alice.sqlite"), ResultsStore(root / "bob.sqlite")
    _kept_run(alice, "mlp"), _kept_run(bob, "cnn")
    out = root / "alice1.nir"
    code, err, escaped = run_cli(["export", "1", "--nir", str(out), "--results", str(alice.path)])
    if edges.count("two stores: alice's run 1", code, err, escaped, expect=0):
        kinds = {type(n).__name__ for n in nir.read(out).nodes.values()}
        if "Conv2d" in kinds:  # bob's CNN served as alice's run
            edges.clear -= 1
            edges.unclear.append(("two stores: alice's run 1", 0, f"served {sorted(kinds)}"))
    # a store deleted and made again: its new run 1 has no weights, the old ones are not served
    for suffix in ("", "-wal", "-shm"):
        Path(f"{bob.path}{suffix}").unlink(missing_ok=True)
    ResultsStore(bob.path).start("bptt", "digits", 0, {}, "v")
    code, err, escaped = run_cli(["export", "1", "--nir", str(root / "bob1.nir"),
                                  "--results", str(bob.path)])
    edges.count("a store made again", code, err, escaped, needle="no saved weights")
    # exports that must not overwrite: an existing file, the store, its WAL, even with --force
    mine = root / "mine.nir"
    mine.write_text("notes")
    results = ["--results", str(alice.path)]
    code, err, escaped = run_cli(["export", "1", "--nir", str(mine), *results])
    edges.count("export over an existing file", code, err, escaped, needle="--force")
    edges.files_overwritten += mine.read_text() != "notes"
    for name, target in (("the store", alice.path), ("the store's WAL",
                                                     Path(f"{alice.path}-wal"))):
        before = alice.path.read_bytes()
        code, err, escaped = run_cli(["export", "1", "--nir", str(target), "--force", *results])
        edges.count(f"export --force onto {name}", code, err, escaped,
                    needle="is the results store")
        edges.files_overwritten += alice.path.read_bytes() != before
    # a read-only store exports (it is only read: opening it for writing would fail here)
    original = ResultsStore._migrate

    def read_only(self):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    ResultsStore._migrate = read_only
    try:
        code, err, escaped = run_cli(["export", "1", "--nir", str(root / "ro.nir"), *results])
    finally:
        ResultsStore._migrate = original
    edges.count("export from a read-only store", code, err, escaped, expect=0)
    # work bounded before it starts
    db = root / "bounded.sqlite"
    grid = [f"--grid={name}=" + ",".join(values) for name, values in (
        ("epochs", map(str, range(1, 11))), ("timesteps", map(str, range(1, 11))),
        ("batch_size", map(str, range(1, 11))), ("lr", (f"{k / 1000}" for k in range(1, 11))),
        ("beta", (f"{k / 10}" for k in range(1, 11))),
        ("threshold", (f"{k / 10}" for k in range(5, 15))),
        ("data_seed", map(str, range(10))), ("encoding", ("direct", "rate")))]
    code, err, escaped = run_cli(["sweep", "bptt", *grid, "--seeds", "5", "--results", str(db)])
    edges.count("sweep of 10^8 points × 5 seeds", code, err, escaped, needle="at most 10,000 runs")
    code, err, escaped = run_cli(["sweep", "bptt", "--grid", "epochs=" + ",".join(
        ["1"] * 20_000), "--results", str(db)])
    edges.count("sweep field of 20,000 values", code, err, escaped, needle="20,000 values")
    big = {"bptt": ["--batch-size", "65536", "--timesteps", "1024"],
           "conversion": ["--width", "4096", "--depth", "32", "--batch-size", "65536"],
           "ttl-bptt": ["--batch-size", "65536", "--timesteps", "1024",
                        "--truncation-length", "1024"],
           "noise-single-step": ["--arch", "resnet18", "--batch-size", "65536"],
           "streaming": ["--batch-size", "65536", "--n-time-bins", "64",
                         "--steps-per-frame", "64", "--downsample", "1"]}
    for method, flags in big.items():
        code, err, escaped = run_cli(["run", method, *flags, "--quiet", "--results", str(db)])
        edges.count(f"{method} over the memory limit", code, err, escaped, needle="GiB")
    stray = len(ResultsStore(db).runs()) if db.exists() else 0
    edges.rows_lost += stray  # a refused run stored a row
    # SIGTERM: the run stored cancelled, exit 143
    db = root / "term.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "lab", "run", "bptt", "--epochs", "200",
                             "--quiet", "--results", str(db)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    _wait_for_row(db, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    edges.tried += 1
    statuses = [r.status for r in ResultsStore(db).runs()] if db.exists() else []
    ok = proc.returncode == 143 and statuses == ["cancelled"] and len(err.strip().splitlines()) == 1
    edges.clear += ok
    edges.tracebacks += "Traceback" in err
    edges.rows_lost += statuses != ["cancelled"]
    if not ok:
        edges.unclear.append(("SIGTERM a run", proc.returncode, f"{statuses} {err.strip()[:120]}"))
    # a KILLed process's row reads interrupted (its pid and start time are gone)
    store = ResultsStore(root / "killed.sqlite")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    run_id = store.start("bptt", "digits", 0, {}, "v")
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE runs SET pid=?, process=? WHERE id=?",
                           (child.pid, process_identity(child.pid), run_id))
    child.kill()
    child.wait(30)
    edges.tried += 1
    interrupted = store.get(run_id).status == "interrupted"
    edges.clear += interrupted
    edges.rows_lost += not interrupted
    if not interrupted:
        edges.unclear.append(("a killed run's row", 0, store.get(run_id).status))
    if not quick:  # a sweep under SIGTERM to its whole process group, workers included
        db = root / "sweep.sqlite"
        proc = subprocess.Popen(
            [sys.executable, "-m", "lab", "sweep", "bptt", "--grid", "timesteps=2", "--grid",
             "epochs=1,2,3,4", "--seeds", "3", "--workers", "2", "--quiet", "--results",
             str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True, cwd=Path(__file__).resolve().parents[1])
        _wait_for_row(db, proc)
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=180)
        runs = ResultsStore(db).runs() if db.exists() else []
        keys = [(r.config.get("epochs"), r.seed) for r in runs]
        settled = all(r.status in ("finished", "cancelled") for r in runs)
        edges.tried += 1
        ok = proc.returncode == 143 and len(keys) == len(set(keys)) == 12 and settled
        edges.clear += ok
        edges.tracebacks += "Traceback" in err
        edges.rows_lost += abs(12 - len(set(keys))) + (len(keys) - len(set(keys)))
        edges.rows_lost += sum(r.status not in ("finished", "cancelled") for r in runs)
        if not ok:
            edges.unclear.append(("SIGTERM a sweep", proc.returncode, err.strip()[:120]))
    return edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first 6 fields of each method")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "results.sqlite"
        with contextlib.ExitStack() as stack:
            stack.enter_context(_env("LAB_RESULTS", str(db)))
            tried = clear = tracebacks = 0
            unclear = []
            for argv, field in cases(args.quick):
                code, err, escaped = run_cli(argv)
                tried += 1
                tracebacks += escaped
                lines = err.strip().splitlines()
                named = bool(lines) and (field in lines[0] or field.replace("_", "-") in lines[0])
                ok = code == 2 and len(lines) == 1 and lines[0].startswith("error:") and named
                clear += ok
                if not ok:
                    unclear.append((" ".join(argv), code, err.strip()[:120]))
            hostile = untrusted(Path(tmp), browser=not args.quick)  # files, stores, the page
            tried, clear = tried + hostile.tried, clear + hostile.clear
            tracebacks += hostile.tracebacks
            unclear += hostile.unclear
            edges = edge_cases(Path(tmp), args.quick)  # weights, exports, signals, bounds
            tried, clear = tried + edges.tried, clear + edges.clear
            tracebacks += edges.tracebacks
            unclear += edges.unclear
            lost = store_faults(Path(tmp) / "faults.sqlite") + edges.rows_lost
            rows = ResultsStore(Path(tmp) / "faults.sqlite").runs()
            stored = ResultsStore(db).runs() if db.exists() else []
            invalid = sqlite3.connect(Path(tmp) / "faults.sqlite").execute(
                "SELECT count(*) FROM runs WHERE NOT (json_valid(metrics) AND json_valid(curves)"
                " AND json_valid(timings) AND json_valid(config))").fetchone()[0]
    print(f"{'inputs tried':<28}{tried:>6}")
    print(f"{'clear one-line errors':<28}{clear:>6}")
    print(f"{'tracebacks':<28}{tracebacks:>6}")
    print(f"{'rows after faults':<28}{len(rows):>6}  (lost: {lost})")
    print(f"{'rows stored by bad inputs':<28}{len(stored):>6}  (should be 0)")
    print(f"{'rows left by refused runs':<28}{hostile.stray_rows:>6}  (should be 0)")
    print(f"{'scripts run in the page':<28}{hostile.scripts_run:>6}  (should be 0)")
    print(f"{'files overwritten':<28}{edges.files_overwritten:>6}  (should be 0)")
    for argv, code, err in unclear[:10]:
        print(f"  unclear: {argv} → exit {code}: {err}")
    print(f"RESULT bad_inputs tried={tried} clear_errors={clear} tracebacks={tracebacks} "
          f"rows_lost={lost} invalid_json_rows={invalid} stray_rows={hostile.stray_rows} "
          f"scripts_run={hostile.scripts_run} files_overwritten={edges.files_overwritten}")


@contextlib.contextmanager
def _env(name: str, value: str):
    import os

    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


if __name__ == "__main__":
    main()
