"""The one noise model: zero-mean noise of a given standard deviation, in units of θ.

    e = μ + σ·ε,   E[ε] = 0, Var[ε] = 1
    gaussian:  ε ~ N(0, 1)
    uniform:   ε ~ U(−√3, √3)     (so σ = 1/√12 gives U(−1/2, 1/2): the ideal residual)
    none:      e = 0

Conversion's residual-noise ANN adds λ·e to the activation (Huang et al. 2025); noise-based
single-step training adds θ·e to the starting potential (Jiang & Zhang 2023). Both draw it here.

Example:
    >>> NoiseModel("uniform", IDEAL_RESIDUAL_STD).sample((100_000,)).abs().max() <= 0.5
    tensor(True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

NoiseKind = Literal["gaussian", "uniform", "none"]
NOISE_KINDS: tuple[NoiseKind, ...] = ("gaussian", "uniform", "none")
IDEAL_RESIDUAL_STD = 1.0 / math.sqrt(12.0)  # the std of U[0, 1): a residual spread evenly


@dataclass(frozen=True)
class NoiseModel:
    """e = μ + σ·ε in units of θ; `kind` picks ε (see the module docstring)."""

    kind: NoiseKind = "gaussian"
    std: float = 0.0
    mean: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in NOISE_KINDS:
            raise ValueError(f"noise kind must be one of {', '.join(NOISE_KINDS)}, "
                             f"got {self.kind!r}")
        if not (math.isfinite(self.std) and self.std >= 0):
            raise ValueError(f"noise std (σ) must be finite and ≥ 0, got {self.std}")
        if not math.isfinite(self.mean):
            raise ValueError(f"noise mean (μ) must be finite, got {self.mean}")

    @property
    def silent(self) -> bool:
        return self.kind == "none" or (self.std == 0 and self.mean == 0)

    def sample(self, shape: torch.Size | tuple[int, ...], generator: torch.Generator | None = None,
               device: torch.device | None = None) -> Tensor:
        """A draw of e of `shape` (from `generator`, else torch's global, seeded generator)."""
        if self.kind == "none":
            return torch.zeros(shape, device=device)
        if self.kind == "gaussian":
            eps = torch.randn(shape, generator=generator, device=device)
        else:
            eps = (torch.rand(shape, generator=generator, device=device) * 2.0 - 1.0) * 3.0**0.5
        return self.mean + self.std * eps

    def cdf_above(self, margin: Tensor) -> Tensor:
        """P(margin + e ≥ 0) for every entry of `margin` (units of θ), in closed form."""
        margin = margin + self.mean
        if self.kind == "none" or self.std == 0:
            return (margin >= 0).to(margin.dtype)
        if self.kind == "gaussian":
            return 0.5 * (1.0 + torch.erf(margin / (self.std * math.sqrt(2.0))))
        half_width = self.std * 3.0**0.5
        return ((margin + half_width) / (2.0 * half_width)).clamp(0.0, 1.0)
