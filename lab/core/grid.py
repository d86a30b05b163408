"""Evenly spaced values that are bit-for-bit the same on every CPU.

`torch.linspace` is computed by vectorised kernels whose rounding depends on the instruction
set (AVX2 or AVX-512), so a grid point meant to be 0.25 may come out one ulp either side of it
— and land on the other side of a spike threshold, or print differently in a notebook. Here
every point is

    x_k = (lo·(n − 1 − k) + hi·k) / (n − 1),    k = 0, …, n − 1,

made of separate IEEE multiplications, one addition and one division, each rounded exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor


def linspace(lo: float, hi: float, points: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """`points` values from `lo` to `hi` inclusive, identical on every machine."""
    if points < 2:
        raise ValueError(f"points must be ≥ 2, got {points}")
    k = torch.arange(points, dtype=torch.float64)
    values = (lo * (points - 1 - k) + hi * k) / (points - 1)
    return values.to(dtype)
