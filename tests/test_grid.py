"""Grids that notebooks print and plot must not depend on the CPU's vector instructions."""

import os
import subprocess
import sys

import pytest
import torch

from lab.core import grid

PROBE = """
import json, sys
from lab.core import grid
from lab.viz import neurons
values = grid.linspace(-0.25, 1.5, 281).tolist() + grid.linspace(-0.5, 1.5, 401).tolist()
figure = neurons.staircase_figure(threshold=1.0, timesteps=4).to_plotly_json()["data"]
json.dump({"grid": values, "figure": figure}, sys.stdout, default=str, sort_keys=True)
"""


def test_grid_has_exact_endpoints_and_matches_linspace():
    values = grid.linspace(-0.5, 1.5, 401)
    assert values[0] == -0.5 and values[-1] == 1.5 and values[200] == 0.5
    assert torch.allclose(values, torch.linspace(-0.5, 1.5, 401, dtype=torch.float64),
                          rtol=0, atol=1e-15)
    assert grid.linspace(0, 1, 5, torch.float32).dtype == torch.float32
    with pytest.raises(ValueError, match="points"):
        grid.linspace(0, 1, 1)


def test_grid_and_figures_are_identical_with_every_cpu_kernel():
    """ATEN_CPU_CAPABILITY=default switches off the AVX2/AVX-512 kernels: CI machines differ."""
    def probe(capability: str | None) -> str:
        env = {"ATEN_CPU_CAPABILITY": capability} if capability else {}
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                             env={**os.environ, **env}, check=True)
        return out.stdout

    assert probe("default") == probe(None)
