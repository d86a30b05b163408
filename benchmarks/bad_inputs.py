"""Bad input and store faults: every refusal one clear line, no traceback, no lost row.

    python benchmarks/bad_inputs.py [--quick]

The bad inputs are generated from every method's declared fields (`lab.core.config.specs`):
for each number, a value below and above its range, `inf`, `nan` and a word; for each choice, a
name that is not one; plus an unknown flag and a too-large seed. Each runs through the CLI in
this process (`lab.cli.main`): a clear error is exit code 2 with one line `error: NAME ...`
naming the field. Then the store faults: a run whose metrics are not finite, and a run whose
`finish` hits a full disk; each must end as a `failed` row with its reason (a row left
`running` or missing is lost). Last, every stored row's JSON is checked with SQLite's json_valid.
Last line: `RESULT bad_inputs tried=... clear_errors=... tracebacks=... rows_lost=...
invalid_json_rows=...` (goals: tracebacks = rows_lost = invalid_json_rows = 0, clear = tried).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sqlite3
import tempfile
import traceback
from pathlib import Path

from lab import cli, registry
from lab.core import config as cfg
from lab.core.results import ResultsStore


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
            lost = store_faults(Path(tmp) / "faults.sqlite")
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
    for argv, code, err in unclear[:10]:
        print(f"  unclear: {argv} → exit {code}: {err}")
    print(f"RESULT bad_inputs tried={tried} clear_errors={clear} tracebacks={tracebacks} "
          f"rows_lost={lost} invalid_json_rows={invalid}")


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
