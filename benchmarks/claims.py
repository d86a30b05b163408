"""Do the course's claims hold on other seeds? Every notebook's asserted claims, re-run shifted.

    python benchmarks/claims.py [--quick] [--shifts 1 2 3] [--notebooks 02 03]

A notebook's trained claims are the `lab.core.stats.check` calls in it, each a sentence tested
at a chosen false-failure rate (`lab.core.stats`: "no measurable difference" jointly over its
comparisons, "ahead" only at the bound its interval gives). Each notebook with a `parameters`
cell (`DATA_SEED, FIRST_SEED = 0, 0`) is executed in a fresh kernel with both seeds shifted:
shift s uses data seed s and model seeds from 10·s on, so no model seed is shared with the
stored run. `LAB_CLAIMS_LOG` makes every check record its claim instead of raising, so one run
reports all of them; an exception anywhere else counts as a failed claim naming the cell.
A claim that fails on a shift held by luck, and would fail on another machine.

`--quick` re-runs the claims of the cheapest notebook (02b) over 3 shifts, under a minute.
Last line: `RESULT claims claims_total=... claims_failed=... seed_shifts=... notebooks=...`
(goal: claims_failed = 0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
QUICK = ("02b",)  # 30 s over 3 shifts on 2 cores; 04 adds 23 s a shift


def with_parameters(nb: nbformat.NotebookNode, data_seed: int, first_seed: int) -> bool:
    """Set the notebook's `parameters` cell to the shifted seeds; False if it has none."""
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = f"DATA_SEED, FIRST_SEED = {data_seed}, {first_seed}"
            return True
    return False


def run_claims(path: Path, shift: int, timeout: int = 600) -> tuple[list[dict], float]:
    """The claims of notebook `path` executed with data seed `shift`, model seeds from 10·shift."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from lab.core.stats import CLAIMS_LOG
    from lab.notebooks import sliced_polling

    sliced_polling()
    nb = nbformat.read(path, as_version=4)
    if not with_parameters(nb, shift, 10 * shift):
        return [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "claims.jsonl"
        before = os.environ.get(CLAIMS_LOG)
        os.environ[CLAIMS_LOG] = str(log)  # the kernel inherits this process's environment
        start = time.perf_counter()
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            error = None
        except CellExecutionError as e:
            error = str(e).strip().splitlines()[-1][:200]
        finally:
            if before is None:
                os.environ.pop(CLAIMS_LOG, None)
            else:
                os.environ[CLAIMS_LOG] = before
        seconds = time.perf_counter() - start
        claims = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    if error:
        claims.append({"text": "the notebook runs to the end", "holds": False, "detail": error})
    return claims, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the claims of notebook 02b only (under a minute)")
    parser.add_argument("--shifts", type=int, nargs="+", default=[1, 2, 3],
                        help="seed shifts (data seed s, model seeds from 10·s); default 1 2 3")
    parser.add_argument("--notebooks", nargs="+", default=None,
                        help="notebook name prefixes, e.g. 02 03 (default: every notebook)")
    args = parser.parse_args()
    if any(s < 0 or s > 1000 for s in args.shifts):
        parser.error("--shifts must be integers in [0, 1000]")
    prefixes = args.notebooks or (QUICK if args.quick else None)
    paths = [p for p in sorted(NOTEBOOKS.glob("*.ipynb"))
             if prefixes is None or any(p.name.split("_")[0] == x for x in prefixes)]
    if not paths:
        parser.error(f"no notebook matches {prefixes}")
    rows, used = [], []
    for path in paths:
        for shift in args.shifts:
            claims, seconds = run_claims(path, shift)
            if not claims:
                break  # no parameters cell: nothing trained to re-run
            used.append(path.stem)
            print(f"{path.stem}, shift {shift}: {len(claims)} claims in {seconds:.0f} s",
                  file=sys.stderr)
            rows += [(path.stem, shift, c) for c in claims]
    print(f"{'notebook':<34}{'shift':>6}  {'held':<5} claim")
    for name, shift, c in rows:
        print(f"{name:<34}{shift:>6}  {'yes' if c['holds'] else 'NO':<5} {c['text']}")
        if not c["holds"]:
            print(f"{'':<47}{c['detail']}")
    failed = sum(not c["holds"] for _, _, c in rows)
    print(f"RESULT claims claims_total={len(rows)} claims_failed={failed} "
          f"seed_shifts={len(args.shifts)} notebooks={len(set(used))}")


if __name__ == "__main__":
    main()
