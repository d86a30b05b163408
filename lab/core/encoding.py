"""Input encodings: static images `[B, ...]` → input over time `[T, B, ...]`.

    direct:  x[t] = x                      (the first layer integrates the analog input)
    rate:    x[t] ~ Bernoulli(x), x ∈ [0, 1]  (so E[Σ_t x[t] / T] = x)

A run makes one `Encoder` and calls it on every batch: its generator is seeded once, so the rate
code draws fresh spikes every batch and epoch, and a re-run draws the same ones.

Example:
    >>> enc = Encoder("rate", timesteps=4, seed=0)
    >>> x = torch.full((2, 3), 0.5)
    >>> bool((enc(x) != enc(x)).any())     # a new draw each call
    True
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Encoding = Literal["direct", "rate"]
ENCODINGS: tuple[Encoding, ...] = ("direct", "rate")


def direct(x: Tensor, timesteps: int) -> Tensor:
    """Constant current: x[t] = x for t = 1..T. `[B, ...]` → `[T, B, ...]` (a view)."""
    check_timesteps(timesteps)
    return x.unsqueeze(0).expand(timesteps, *x.shape)


def rate(x: Tensor, timesteps: int, generator: torch.Generator | None = None) -> Tensor:
    """Bernoulli spikes: s[t] ~ Bernoulli(x), x in [0, 1]. `[B, ...]` → `[T, B, ...]`."""
    check_timesteps(timesteps)
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("rate encoding needs intensities in [0, 1]")
    probs = x.unsqueeze(0).expand(timesteps, *x.shape)
    return torch.bernoulli(probs, generator=generator)


class Encoder:
    """`direct` or `rate` coding for T steps; the rate code draws from one generator per run."""

    def __init__(self, encoding: Encoding, timesteps: int, seed: int = 0) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
        check_timesteps(timesteps)
        self.encoding, self.timesteps, self.seed = encoding, timesteps, seed
        self._generators: dict[torch.device, torch.Generator] = {}

    def __call__(self, x: Tensor) -> Tensor:
        if self.encoding == "direct":
            return direct(x, self.timesteps)
        if x.device not in self._generators:  # one stream per device, seeded once
            self._generators[x.device] = torch.Generator(device=x.device).manual_seed(self.seed)
        return rate(x, self.timesteps, self._generators[x.device])


def encode(x: Tensor, timesteps: int, encoding: Encoding = "direct", seed: int = 0) -> Tensor:
    """One-off encoding (a fresh generator seeded with `seed`): for figures and tests only;
    a training run uses one `Encoder`, so its rate code changes from batch to batch."""
    return Encoder(encoding, timesteps, seed)(x)


def check_timesteps(timesteps: int) -> None:
    if not (isinstance(timesteps, int) and timesteps >= 1):
        raise ValueError(f"timesteps must be an integer ≥ 1, got {timesteps!r}")
