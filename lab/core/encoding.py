"""Input encodings: static images `[B, ...]` → input over time `[T, B, ...]`."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Encoding = Literal["direct", "rate"]
ENCODINGS = ("direct", "rate")


def direct(x: Tensor, timesteps: int) -> Tensor:
    """Constant current: x[t] = x for t = 1..T (the first layer integrates the analog input)."""
    _check_timesteps(timesteps)
    return x.unsqueeze(0).expand(timesteps, *x.shape)


def rate(x: Tensor, timesteps: int, generator: torch.Generator | None = None) -> Tensor:
    """Bernoulli spikes: s[t] ~ Bernoulli(x), x in [0, 1], so E[Σs/T] = x."""
    _check_timesteps(timesteps)
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("rate encoding needs intensities in [0, 1]")
    probs = x.unsqueeze(0).expand(timesteps, *x.shape)
    return torch.bernoulli(probs, generator=generator)


def encode(x: Tensor, timesteps: int, encoding: Encoding = "direct", seed: int = 0) -> Tensor:
    """`direct` or `rate` encoding by name; the rate code is seeded for reproducibility."""
    if encoding == "direct":
        return direct(x, timesteps)
    if encoding == "rate":
        return rate(x, timesteps, torch.Generator(device=x.device).manual_seed(seed))
    raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")


def _check_timesteps(timesteps: int) -> None:
    if timesteps < 1:
        raise ValueError(f"timesteps must be ≥ 1, got {timesteps}")
