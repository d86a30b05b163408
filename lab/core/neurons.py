"""Integrate-and-fire neurons over `[T, B, ...]` tensors (time first), Norse-style.

For each step t, with input current I[t], threshold θ and leak β (β = 1: IF):

    v[t] = β·v[t-1] + I[t]          integrate
    s[t] = H(v[t] − θ)              fire, H(0) = 1
    v[t] = v[t] − θ·s[t]            reset by subtraction, in the same step
           (or v[t]·(1 − s[t])      reset to zero)

Parameters live in one immutable `NeuronParams`; the state (`NeuronState`: v) is passed in and
handed back, so truncation (carry v into the next segment), recording (the trace) and delays
(step one neuron at a time) all use the one loop here. `v[T]` after the last step is the
*residual membrane potential*: summing the equations over t = 1..T gives the exact rate
identity  θ·Σs/T = mean(I) − (v[T] − v[0])/T  for the IF neuron. The surrogate gradient of H
comes from snnTorch's `surrogate` module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
from snntorch import surrogate
from torch import Tensor, nn

Reset = Literal["subtract", "zero"]
RESETS: tuple[Reset, ...] = ("subtract", "zero")
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


@dataclass(frozen=True)
class NeuronParams:
    """θ (> 0; a float or one value per neuron), β in [0, 1], the reset, and v[0] in units of θ.

    `v_min` (units of θ, −inf: none) floors v after the reset; only the streaming SNN uses it.
    """

    threshold: float | Tensor = 1.0
    beta: float = 1.0
    reset: Reset = "subtract"
    v_init: float = 0.0
    v_min: float = -math.inf

    def __post_init__(self) -> None:
        t = self.threshold
        low = float(t.min()) if isinstance(t, Tensor) else float(t)
        high = float(t.max()) if isinstance(t, Tensor) else float(t)
        if not (low > 0 and math.isfinite(high)):
            raise ValueError(f"threshold must be finite and > 0, got {low if low <= 0 else high}")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta (leak) must be in [0, 1], got {self.beta}")
        if self.reset not in RESETS:
            raise ValueError(f"reset must be 'subtract' or 'zero', got {self.reset!r}")
        if not math.isfinite(self.v_init):
            raise ValueError(f"v_init must be finite (units of θ), got {self.v_init}")
        if math.isnan(self.v_min) or self.v_min == math.inf:
            raise ValueError(f"v_min must be a number or -inf (units of θ), got {self.v_min}")


class NeuronState(NamedTuple):
    """The membrane potential v `[B, ...]` between steps."""

    v: Tensor


def initial_state(like: Tensor, params: NeuronParams) -> NeuronState:
    """v[0] = v_init·θ, shaped like one step of the input `like` `[B, ...]`."""
    return NeuronState(torch.zeros_like(like) + params.v_init * params.threshold)


class NeuronOutput(NamedTuple):
    """Spikes `[T, B, ...]`, the final state (v[T], the residual potential), the trace of v."""

    spikes: Tensor
    state: NeuronState
    v_trace: Tensor | None

    @property
    def v_final(self) -> Tensor:
        return self.state.v


def step(current: Tensor, state: NeuronState, params: NeuronParams,
         spike_fn: SpikeFn | None = None, detach_reset: bool = True
         ) -> tuple[Tensor, NeuronState]:
    """One step: v ← β·v + I;  s = H(v − θ);  v ← v − θ·s (then v ← max(v, v_min·θ)).

    `current` and `state.v` are `[B, ...]`; returns the spikes `[B, ...]` and the new state.
    """
    theta = params.threshold
    v = params.beta * state.v + current
    s = fire(v - theta, spike_fn)
    r = s.detach() if detach_reset else s
    v = v - theta * r if params.reset == "subtract" else v * (1.0 - r)
    if params.v_min > -math.inf:
        v = torch.maximum(v, torch.as_tensor(params.v_min * theta, dtype=v.dtype,
                                             device=v.device))
    return s, NeuronState(v)


def simulate(current: Tensor, params: NeuronParams | None = None,
             state: NeuronState | None = None, *, spike_fn: SpikeFn | None = None,
             record: bool = False, detach_reset: bool = True) -> NeuronOutput:
    """Run `step` over the first axis of `current` `[T, B, ...]` from `state` (default v[0]).

    Returns spikes `[T, B, ...]`, the final state and, with `record=True`, the trace of v after
    each reset `[T, B, ...]`. Without autograd an in-place path computes the same numbers.

    Example:
        >>> out = simulate(torch.full((4, 1), 0.5), NeuronParams(threshold=1.0))
        >>> out.spikes.flatten().tolist(), out.state.v.item()
        ([0.0, 1.0, 0.0, 1.0], 0.0)
    """
    params = params or NeuronParams()
    if current.dim() < 1 or current.shape[0] < 1:
        raise ValueError(f"current must be [T, ...] with T ≥ 1, got shape {tuple(current.shape)}")
    state = state if state is not None else initial_state(current[0], params)
    if not (torch.is_grad_enabled() and (current.requires_grad or state.v.requires_grad)):
        return _simulate_in_place(current, params, state, record)
    spikes, trace = [], []
    for t in range(current.shape[0]):
        s, state = step(current[t], state, params, spike_fn, detach_reset)
        spikes.append(s)
        if record:
            trace.append(state.v)
    return NeuronOutput(torch.stack(spikes), state, torch.stack(trace) if record else None)


def _simulate_in_place(current: Tensor, params: NeuronParams, state: NeuronState,
                       record: bool) -> NeuronOutput:
    """The same dynamics without autograd: three in-place passes per step, no stacking.

    Inference is memory-bound, so this runs about 2× faster than `step` (benchmarks/simulate.py).
    """
    spikes = torch.empty_like(current)
    trace = torch.empty_like(current) if record else None
    v = state.v.to(current.dtype).expand_as(current[0]).clone()
    theta = torch.as_tensor(params.threshold, dtype=v.dtype, device=v.device)
    floor = params.v_min * theta if params.v_min > -math.inf else None
    for t in range(current.shape[0]):
        if params.beta != 1.0:
            v.mul_(params.beta)
        v.add_(current[t])
        torch.ge(v, theta, out=spikes[t])
        if params.reset == "subtract":
            v.addcmul_(spikes[t], theta, value=-1.0)
        else:
            v.mul_(1.0 - spikes[t])
        if floor is not None:
            torch.maximum(v, floor, out=v)
        if record:
            trace[t] = v
    return NeuronOutput(spikes, NeuronState(v), trace)


class SpikingNeuron(nn.Module):
    """A layer of IF (β = 1) or LIF neurons over `[T, B, ...]`, a thin wrapper of `simulate`.

    The threshold is a buffer (one value, or one per neuron) so a converted network can set it
    from the ANN; `v_init` is in units of θ; `scale_output=True` emits θ·s, so the next layer
    sees the rate in the ANN's units (conversion). `forward(current, state)` starts from `state`
    (default v[0]); afterwards `last` holds the run's `NeuronOutput` (detached; with the trace
    of v while `record` is set, see `recording`).

    Example:
        >>> layer = SpikingNeuron(threshold=1.0, v_init=0.5)
        >>> layer(torch.full((2, 1, 3), 0.6)).shape        # [T, B, neurons]
        torch.Size([2, 1, 3])
        >>> layer.last.state.v                              # v[T]: 0.5 + 1.2 − 1
        tensor([[0.7000, 0.7000, 0.7000]])
    """

    def __init__(self, threshold: float | Tensor = 1.0, beta: float = 1.0,
                 v_init: float = 0.0, reset: Reset = "subtract",
                 spike_fn: SpikeFn | None = None, scale_output: bool = False,
                 v_min: float = -math.inf) -> None:
        super().__init__()
        NeuronParams(threshold, beta, reset, v_init, v_min)  # validates
        self.register_buffer("threshold", torch.as_tensor(threshold, dtype=torch.float32))
        self.beta, self.v_init, self.reset, self.v_min = beta, v_init, reset, v_min
        self.scale_output = scale_output
        self.spike_fn = spike_fn or default_surrogate()
        self.record = False
        self.last: NeuronOutput | None = None

    @property
    def params(self) -> NeuronParams:
        return NeuronParams(self.threshold, self.beta, self.reset, self.v_init, self.v_min)

    def run(self, current: Tensor, state: NeuronState | None = None) -> NeuronOutput:
        """Simulate from `state`; the output's spikes are θ·s when `scale_output` is set."""
        out = simulate(current, self.params, state, spike_fn=self.spike_fn, record=self.record)
        self.last = NeuronOutput(out.spikes.detach(), NeuronState(out.state.v.detach()),
                                 out.v_trace.detach() if out.v_trace is not None else None)
        spikes = out.spikes * self.threshold if self.scale_output else out.spikes
        return NeuronOutput(spikes, out.state, out.v_trace)

    def forward(self, current: Tensor, state: NeuronState | None = None) -> Tensor:
        return self.run(current, state).spikes

    @property
    def residual_potential(self) -> Tensor | None:
        """v[T] of the last run `[B, ...]`."""
        return self.last.state.v if self.last is not None else None

    def extra_repr(self) -> str:
        kind = "IF" if self.beta == 1.0 else f"LIF(β={self.beta})"
        return f"{kind}, v_init={self.v_init}·θ, reset={self.reset}, scaled={self.scale_output}"


class recording:  # noqa: N801  (used as a context manager, like torch.no_grad)
    """`with recording(model): model(x)` keeps the trace of v in every neuron's `last`."""

    def __init__(self, model: nn.Module) -> None:
        self.layers = [m for m in model.modules() if isinstance(m, SpikingNeuron)]

    def __enter__(self) -> list[SpikingNeuron]:
        for m in self.layers:
            m.record = True
        return self.layers

    def __exit__(self, *exc: object) -> None:
        for m in self.layers:
            m.record = False
