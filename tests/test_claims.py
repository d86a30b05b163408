"""The claims benchmark re-runs notebooks over shifted seeds: its parameters cell, its log."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def claims_benchmark():
    spec = importlib.util.spec_from_file_location("claims", ROOT / "benchmarks" / "claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_with_trained_claims_takes_its_seeds_from_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not any("stats.check(" in c.source for c in code):
        return  # nothing trained is claimed (notebook 01: exact theory only)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "DATA_SEED, FIRST_SEED = 0, 0" in params[0].source
    first_use = next(i for i, c in enumerate(code) if "FIRST_SEED" in c.source
                     and c is not params[0])
    assert code.index(params[0]) < first_use
    # a seed written as a literal where the shifted one belongs would not shift
    assert not any("seeds = range(5)" in c.source or "seed=0)" in c.source and "run(" in c.source
                   for c in code)


def test_claims_are_recorded_per_shift_and_an_error_counts_as_a_failed_claim(tmp_path):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("DATA_SEED, FIRST_SEED = 0, 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from lab.core import stats\n"
        "x = [DATA_SEED + 1.0, DATA_SEED + 1.1, DATA_SEED + 1.2]\n"
        "stats.check(stats.above(x, 0.5, text='above'))\n"
        "stats.check(FIRST_SEED == 0, 'the first seed is 0')\n"
        "raise RuntimeError('boom')")]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3 (ipykernel)"}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    claims, _ = claims_benchmark().run_claims(path, shift=2)
    assert [(c["text"], c["holds"]) for c in claims] == [
        ("above", True), ("the first seed is 0", False), ("the notebook runs to the end", False)]
    assert "boom" in claims[-1]["detail"]
