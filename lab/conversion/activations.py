"""ANN activations built for conversion to IF neurons, and the residual error modelled as noise.

With threshold λ (the converted neuron's θ), L levels and shift φ (Bu et al., ICLR 2022):

    clipped ReLU      h(z) = clip(z, 0, λ)
    QCFS              h(z) = λ · clip(floor(z·L/λ + φ) / L, 0, 1)
    residual noise    h(z) = QCFS(z) + λ·e,   e = μ + σ·ε   (training only; Huang et al. 2025)

floor has a straight-through gradient, so ∂h/∂z = 1 on 0 < z < λ and ∂h/∂λ = (h − z)/λ there
(1 above λ, 0 below 0). An IF neuron with θ = λ and v[0] = θ/2, fed a constant z for T = L
steps, fires exactly QCFS(z)·T/θ times: that is why QCFS converts with zero expected error at
T = L. `e` stands for the residual error the SNN adds (spikes that arrive unevenly in time leave
v[T] outside [0, θ)); it is in units of λ so that one σ means the same for every layer.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from ..core.noise import NoiseModel

NOISE_KINDS = ("gaussian", "uniform")  # the residual's models (core.noise also has 'none')


class _FloorSTE(torch.autograd.Function):
    """floor(x) forward, identity backward (straight-through estimator)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        return torch.floor(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return grad


def floor_ste(x: Tensor) -> Tensor:
    """floor(x) with a straight-through gradient."""
    return _FloorSTE.apply(x)


def qcfs(z: Tensor, threshold: Tensor | float, levels: int, shift: float = 0.5) -> Tensor:
    """λ · floor(clip(z/λ, 0, 1)·L + φ) / L — equal to λ·clip(floor(z·L/λ + φ)/L, 0, 1) for φ < 1.

    Clipping before the floor (as in the QCFS code) keeps the gradient of z at 0 outside [0, λ].
    """
    return threshold * floor_ste(torch.clamp(z / threshold, 0.0, 1.0) * levels + shift) / levels


def _check_threshold(threshold: float) -> None:
    if not threshold > 0:
        raise ValueError(f"threshold (λ) must be > 0, got {threshold}")


class ClippedReLU(nn.Module):
    """h(z) = clip(z, 0, λ) with a trainable clipping level λ (the converted neuron's θ)."""

    is_activation = True

    def __init__(self, threshold: float = 1.0) -> None:
        super().__init__()
        _check_threshold(threshold)
        self.threshold = nn.Parameter(torch.tensor(float(threshold)))

    def forward(self, z: Tensor) -> Tensor:
        return torch.minimum(torch.relu(z), self.threshold)


class QCFS(nn.Module):
    """Quantization-clip-floor-shift: h(z) = λ·clip(floor(z·L/λ + φ)/L, 0, 1), trainable λ."""

    is_activation = True

    def __init__(self, levels: int = 4, threshold: float = 1.0, shift: float = 0.5) -> None:
        super().__init__()
        if not (isinstance(levels, int) and levels >= 1):
            raise ValueError(f"levels (L) must be an integer ≥ 1, got {levels!r}")
        _check_threshold(threshold)
        self.levels, self.shift = levels, shift
        self.threshold = nn.Parameter(torch.tensor(float(threshold)))

    def forward(self, z: Tensor) -> Tensor:
        return qcfs(z, self.threshold, self.levels, self.shift)

    def extra_repr(self) -> str:
        return f"L={self.levels}, φ={self.shift}, λ={self.threshold.item():.3g}"


class ResidualNoise(QCFS):
    """QCFS plus the residual error as noise, in training only: h(z) = QCFS(z) + λ·e.

    `noise` is swappable (kind, σ, μ); `calibration.fit_noise` sets σ per layer from the gap
    measured on the converted SNN. λ is detached in the noise term: the noise models an
    error of the SNN, it is not a path for λ's gradient.
    """

    def __init__(self, levels: int = 4, threshold: float = 1.0, shift: float = 0.5,
                 noise: NoiseModel | None = None) -> None:
        super().__init__(levels, threshold, shift)
        self.noise = noise or NoiseModel()

    def forward(self, z: Tensor) -> Tensor:
        h = super().forward(z)
        if not self.training or self.noise.silent:
            return h
        return h + self.threshold.detach() * self.noise.sample(h.shape, device=h.device)

    def set_noise(self, **changes: float | str) -> None:
        """Replace fields of the noise model, e.g. `set_noise(std=0.2)`."""
        self.noise = dataclasses.replace(self.noise, **changes)

    def extra_repr(self) -> str:
        n = self.noise
        return f"{super().extra_repr()}, noise={n.kind}(μ={n.mean:.3g}, σ={n.std:.3g})·λ"
