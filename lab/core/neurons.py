"""Integrate-and-fire neurons over `[T, B, ...]` tensors (time first).

For each step t, with input current I[t], threshold θ and leak β (β = 1: IF):

    v[t] = β·v[t-1] + I[t]          integrate
    s[t] = H(v[t] − θ)              fire, H(0) = 1
    v[t] = v[t] − θ·s[t]            reset by subtraction, in the same step
           (or v[t]·(1 − s[t])      reset to zero)

`v[T]` after the last step is the *residual membrane potential*: summing the equations over
t = 1..T gives the exact rate identity  θ·Σs/T = mean(I) − (v[T] − v[0])/T  for the IF neuron.
The surrogate gradient of H comes from snnTorch's `surrogate` module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

import torch
from snntorch import surrogate
from torch import Tensor, nn

Reset = Literal["subtract", "zero"]
SpikeFn = Callable[[Tensor], Tensor]


def default_surrogate() -> SpikeFn:
    """snnTorch's arctan surrogate: forward H(x), backward 1 / (1 + (π·α·x/2)²)·α/2."""
    return surrogate.atan(alpha=2.0)


_ATAN = default_surrogate()


def fire(x: Tensor, spike_fn: SpikeFn | None = None) -> Tensor:
    """s = H(x) with H(0) = 1, differentiable through `spike_fn` (default: arctan) when needed.

    snnTorch's surrogates fire on x > 0; the conversion theory needs x ≥ 0 (a neuron whose
    potential reaches θ exactly fires), so the equality case is added without a gradient.
    """
    if not (torch.is_grad_enabled() and x.requires_grad):
        return (x >= 0).to(x.dtype)
    return (spike_fn or _ATAN)(x) + (x == 0).to(x.dtype)


class NeuronOutput(NamedTuple):
    """Spikes `[T, B, ...]`, residual potential v[T] `[B, ...]`, optionally v `[T, B, ...]`."""

    spikes: Tensor
    v_final: Tensor
    v_trace: Tensor | None


def step(
    current: Tensor,
    v: Tensor,
    threshold: float | Tensor = 1.0,
    beta: float = 1.0,
    reset: Reset = "subtract",
    spike_fn: SpikeFn | None = None,
    detach_reset: bool = True,
) -> tuple[Tensor, Tensor]:
    """One step: v ← β·v + I;  s = H(v − θ);  v ← v − θ·s. Returns (s, v)."""
    v = beta * v + current
    s = fire(v - threshold, spike_fn)
    r = s.detach() if detach_reset else s
    v = v - threshold * r if reset == "subtract" else v * (1.0 - r)
    return s, v


def simulate(
    current: Tensor,
    threshold: float | Tensor = 1.0,
    beta: float = 1.0,
    v_init: float | Tensor = 0.0,
    reset: Reset = "subtract",
    spike_fn: SpikeFn | None = None,
    record: bool = False,
    detach_reset: bool = True,
) -> NeuronOutput:
    """Run `step` over the first axis of `current` `[T, B, ...]`.

    `v_init` is v[0] (QCFS uses θ/2); `record=True` also returns the trace of v after reset.
    """
    validate(threshold=threshold, beta=beta, reset=reset)
    if current.dim() < 1 or current.shape[0] < 1:
        raise ValueError(f"current must be [T, ...] with T ≥ 1, got shape {tuple(current.shape)}")
    if not (torch.is_grad_enabled() and current.requires_grad):
        return _simulate_in_place(current, threshold, beta, v_init, reset, record)
    v = torch.zeros_like(current[0]) + v_init
    spikes, trace = [], []
    for t in range(current.shape[0]):
        s, v = step(current[t], v, threshold, beta, reset, spike_fn, detach_reset)
        spikes.append(s)
        if record:
            trace.append(v)
    return NeuronOutput(torch.stack(spikes), v, torch.stack(trace) if record else None)


def _simulate_in_place(current: Tensor, threshold: float | Tensor, beta: float,
                       v_init: float | Tensor, reset: Reset, record: bool) -> NeuronOutput:
    """The same dynamics without autograd: three in-place passes per step, no stacking.

    Inference is memory-bound, so this runs about 2× faster than `step` (benchmarks/simulate.py).
    """
    spikes = torch.empty_like(current)
    trace = torch.empty_like(current) if record else None
    v = torch.zeros_like(current[0]) + v_init
    theta = torch.as_tensor(threshold, dtype=v.dtype)
    for t in range(current.shape[0]):
        if beta != 1.0:
            v.mul_(beta)
        v.add_(current[t])
        torch.ge(v, threshold, out=spikes[t])
        if reset == "subtract":
            v.addcmul_(spikes[t], theta, value=-1.0)
        else:
            v.mul_(1.0 - spikes[t])
        if record:
            trace[t] = v
    return NeuronOutput(spikes, v, trace)


def validate(threshold: float | Tensor, beta: float, reset: str) -> None:
    """Raise ValueError naming the parameter when it is outside its valid range."""
    low = float(threshold.min()) if isinstance(threshold, Tensor) else float(threshold)
    if not low > 0:
        raise ValueError(f"threshold must be > 0, got {low}")
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta (leak) must be in [0, 1], got {beta}")
    if reset not in ("subtract", "zero"):
        raise ValueError(f"reset must be 'subtract' or 'zero', got {reset!r}")


class SpikingNeuron(nn.Module):
    """A layer of IF (β = 1) or LIF neurons over `[T, B, ...]`; keeps v[T] of its last run.

    The threshold is a buffer (one value, or one per neuron) so a converted network can set it
    from the ANN; `scale_output=True` emits θ·s, so the next layer sees the rate in the ANN's
    units (conversion); `residual_potential` holds v[T] after each forward, for measurement.
    """

    def __init__(
        self,
        threshold: float | Tensor = 1.0,
        beta: float = 1.0,
        v_init: float = 0.0,
        reset: Reset = "subtract",
        spike_fn: SpikeFn | None = None,
        scale_output: bool = False,
    ) -> None:
        super().__init__()
        validate(threshold, beta, reset)
        self.scale_output = scale_output
        self.register_buffer("threshold", torch.as_tensor(threshold, dtype=torch.float32))
        self.beta, self.v_init, self.reset = beta, v_init, reset
        self.spike_fn = spike_fn or default_surrogate()
        self.residual_potential: Tensor | None = None

    def forward(self, current: Tensor) -> Tensor:
        """v_init is given in units of θ (0.5 → v[0] = θ/2)."""
        out = simulate(
            current, self.threshold, self.beta, self.v_init * self.threshold, self.reset,
            self.spike_fn,
        )
        self.residual_potential = out.v_final.detach()
        return out.spikes * self.threshold if self.scale_output else out.spikes

    def extra_repr(self) -> str:
        kind = "IF" if self.beta == 1.0 else f"LIF(β={self.beta})"
        return f"{kind}, v_init={self.v_init}·θ, reset={self.reset}, scaled={self.scale_output}"
