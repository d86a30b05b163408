"""Checks of code a student writes: the IF loop and rate identity (notebook 01), rate coding
and the surrogate gradient (notebook 02b)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from lab.core.neurons import NeuronParams, simulate

from .feedback import Feedback, _call, _check, _list, _tensor, _wrong

# --- notebook 01: the IF/LIF loop -------------------------------------------------------------

@dataclass(frozen=True)
class _Case:
    name: str
    current: Tensor
    params: NeuronParams


def _if_cases() -> list[_Case]:
    g = torch.Generator().manual_seed(0)
    steady = torch.tensor([0.3, 0.45, 0.7], dtype=torch.float64).expand(16, 3)
    exact = torch.tensor([0.5, 0.25], dtype=torch.float64).expand(8, 2)
    uneven = 2 * torch.rand(16, 5, generator=g, dtype=torch.float64) - 0.5
    return [
        _Case("IF neuron, constant inputs 0.3, 0.45, 0.7, θ = 1", steady.clone(),
              NeuronParams(1.0)),
        _Case("inputs 0.5 and 0.25, whose potential reaches θ = 1 exactly", exact.clone(),
              NeuronParams(1.0)),
        _Case("uneven input with negative currents (inhibition)", uneven, NeuronParams(1.0)),
        _Case("θ = 0.5, starting at v[0] = θ/2 (params.v_init = 0.5)", uneven,
              NeuronParams(0.5, v_init=0.5)),
        _Case('reset to zero (params.reset = "zero")', uneven, NeuronParams(1.0, reset="zero")),
        _Case("LIF neuron, leak β = 0.8 (params.beta)", uneven, NeuronParams(1.0, beta=0.8)),
    ]


def _if_variant(current: Tensor, p: NeuronParams, mistake: str) -> tuple[Tensor, Tensor]:
    """The loop with one classic mistake, to recognise it in a student's output."""
    theta = 1.0 if mistake == "threshold" else float(p.threshold)
    beta = 1.0 if mistake == "leak" else p.beta
    reset = {"reset": "subtract" if p.reset == "zero" else "zero"}.get(mistake, p.reset)
    v = torch.full_like(current[0], 0.0 if mistake == "v_init" else p.v_init * theta)
    spikes = []
    for t in range(current.shape[0]):
        fired_before = (v >= theta).double() if mistake == "fire_first" else None
        v = beta * (v + current[t]) if mistake == "leak_after" else beta * v + current[t]
        s = fired_before if fired_before is not None else (
            (v > theta) if mistake == "strict" else (v >= theta)).double()
        if mistake != "no_reset":
            v = v - theta * s if reset == "subtract" else v * (1 - s)
        spikes.append(s)
    return torch.stack(spikes), v


IF_MISTAKES = {
    "strict": "a neuron whose potential reaches θ exactly fires: s = H(v − θ) with H(0) = 1, "
              "so compare with >=, not >.",
    "no_reset": "after a spike, reset in the same step: v − θ·s (subtract) or v·(1 − s) (zero).",
    "reset": "read params.reset: 'subtract' removes θ (v − θ·s), 'zero' sets v to 0 (v·(1 − s)).",
    "leak": "multiply the old potential by params.beta before adding the input: "
            "v = β·v + I[t] (β = 1 is the IF neuron).",
    "leak_after": "the leak acts on the old potential only: v = β·v + I[t], "
                  "not β·(v + I[t]).",
    "threshold": "use params.threshold (θ) for firing and for the reset, not 1.",
    "v_init": "start from v[0] = params.v_init · params.threshold.",
    "fire_first": "integrate first, then fire: the spike at step t depends on v after adding I[t].",
}


@_check
def check_if_loop(neuron: Callable[[Tensor, NeuronParams], tuple[Tensor, Tensor]]) -> Feedback:
    """Compare `neuron(current, params) -> (spikes, v_final)` with `lab.core.neurons.simulate`."""
    cases = _if_cases()
    for case in cases:
        T, B = case.current.shape
        out = _call(neuron, case.current.clone(), case.params,
                    hint="follow the three lines of the table: integrate, fire, reset.")
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise _wrong("your function should return two things: (spikes, v_final).",
                         "end with `return torch.stack(spikes), v`.")
        spikes = _tensor(out[0], "spikes", (T, B))
        v_final = _tensor(out[1], "v_final", (B,))
        ref = simulate(case.current, case.params)
        spikes_ok = torch.equal(spikes, ref.spikes)
        if spikes_ok and torch.allclose(v_final, ref.state.v, atol=1e-9):
            continue
        for mistake, hint in IF_MISTAKES.items():
            s, v = _if_variant(case.current, case.params, mistake)
            if torch.equal(spikes, s) and torch.allclose(v_final, v, atol=1e-9):
                raise _wrong(f"case '{case.name}': your neuron differs from simulate.", hint)
        if spikes_ok:
            raise _wrong(f"case '{case.name}': the spikes are right, v[T] is not "
                         f"(yours {_list(v_final)}, simulate's {_list(ref.state.v)}).",
                         "return v after the last step's reset.")
        t, i = (int(k) for k in torch.nonzero(spikes != ref.spikes)[0])
        did = "fired" if spikes[t, i] else "did not fire"
        raise _wrong(f"case '{case.name}': at step t = {t} neuron {i} {did}, simulate's "
                     f"{'did not' if spikes[t, i] else 'did'}.",
                     "print v step by step for that neuron and compare with the equations: "
                     "v = β·v + I[t];  s = 1 if v ≥ θ;  then the reset.")
    return Feedback("solved", f"your neuron matches lab.core.neurons.simulate in all "
                    f"{len(cases)} cases: IF and LIF, both resets, θ reached exactly, "
                    "uneven input.")


# --- notebook 01: the rate identity -----------------------------------------------------------

@_check
def check_rate_identity(rate: Callable[[Tensor, Tensor, Tensor], Tensor]) -> Feedback:
    """Compare `rate(current, v_init, v_final)` with the measured rate θ·Σs/T of `simulate`."""
    g = torch.Generator().manual_seed(1)
    current = 2 * torch.rand(16, 200, generator=g, dtype=torch.float64) - 0.5
    for params in (NeuronParams(1.0), NeuronParams(1.0, v_init=0.5), NeuronParams(0.5)):
        T = current.shape[0]
        out = simulate(current, params)
        measured = params.threshold * out.spikes.mean(0)
        v0 = torch.full_like(out.state.v, params.v_init * params.threshold)
        yours = _tensor(_call(rate, current.clone(), v0.clone(), out.state.v.clone(),
                              hint="rate = mean(I) − (v[T] − v[0]) / T, with the mean over "
                                   "time (axis 0)."),
                        "the rate", (current.shape[1],))
        if torch.allclose(yours, measured, atol=1e-9):
            continue
        mean = current.mean(0)
        known = {
            "you left out the residual term: charge still in the neuron at the end did not "
            "become spikes.": mean,
            "check the sign: charge still in the neuron was not sent as spikes, so it is "
            "subtracted from the input.": mean + (out.state.v - v0) / T,
            "the neuron started with v[0] of charge that was not input: only the change "
            "v[T] − v[0] counts.": mean - out.state.v / T,
            "a rate is per step: use the mean of the input over time, and divide the "
            "residual by T.": current.sum(0) - (out.state.v - v0),
        }
        for hint, value in known.items():
            if torch.allclose(yours, value, atol=1e-9):
                raise _wrong(f"with θ = {params.threshold}, v[0] = {params.v_init}·θ your rate "
                             "differs from θ·Σs/T measured by simulate.", hint)
        worst = int((yours - measured).abs().argmax())
        raise _wrong(f"with θ = {params.threshold}, v[0] = {params.v_init}·θ: neuron {worst} "
                     f"has rate {float(measured[worst]):.4f}, yours says "
                     f"{float(yours[worst]):.4f}.",
                     "sum v[t] = v[t−1] + I[t] − θ·s[t] over t = 1..T and solve for θ·Σs/T.")
    return Feedback("solved", "rate = mean(I) − (v[T] − v[0])/T holds to 1e-9 for 200 neurons "
                    "with uneven input, θ = 1 and 0.5, v[0] = 0 and θ/2: nothing is lost.")


# --- notebook 02b: rate coding and the surrogate gradient --------------------------------------

@_check
def check_rate_encoding(encode: Callable[[Tensor, int, torch.Generator], Tensor]) -> Feedback:
    """Check `encode(x, timesteps, generator)`: Bernoulli(x) spikes, fresh at every step."""
    x = torch.tensor([[0.0, 0.1, 0.25, 0.5], [0.75, 0.9, 1.0, 0.5]])
    T = 400

    def run(seed: int) -> Tensor:
        return _tensor(_call(encode, x.clone(), T, torch.Generator().manual_seed(seed),
                             hint="torch.rand(timesteps, *x.shape, generator=generator) < x "
                                  "gives one draw per step and pixel."),
                       "the spikes", (T, *x.shape))

    spikes = run(0)
    if not ((spikes == 0) | (spikes == 1)).all():
        raise _wrong("spikes should be 0 or 1.",
                     "compare a uniform random number with x: (rand < x) is a spike with "
                     "probability x; turn it into numbers with .float().")
    if (spikes == spikes[0]).all():
        raise _wrong("every time step has the same spikes.",
                     "draw a fresh random number for every step: the random tensor must have "
                     "shape [T, *x.shape], not x.shape.")
    if spikes[:, 0, 0].any() or not spikes[:, 1, 2].all():
        raise _wrong("a pixel of intensity 0 must never fire and one of intensity 1 always.",
                     "use rand < x: rand is in [0, 1), so x = 0 never passes and x = 1 always.")
    rates = spikes.mean(0)
    if (rates - x).abs().max() > 0.1:  # 4 standard deviations of a rate over 400 steps
        flipped = (rates - (1 - x)).abs().max() < 0.1
        raise _wrong(f"the rate over {T} steps should approach x = {_list(x.flatten())}, "
                     f"yours is {_list(rates.flatten())}.",
                     "a spike has probability x" + (": yours fire with probability 1 − x, "
                                                   "flip the comparison." if flipped else "."))
    if torch.equal(run(0), run(1)):
        raise _wrong("the spikes do not depend on the generator.",
                     "pass generator=generator to torch.rand (or torch.bernoulli): one "
                     "seeded generator per run makes a run reproducible.")
    if not torch.equal(spikes, run(0)):
        raise _wrong("the same generator seed gave different spikes.",
                     "draw only from the generator you are given, not from torch's global one.")
    return Feedback("solved", "Bernoulli spikes with P(spike) = x, fresh at every step and "
                    "reproducible from the generator (lab.core.encoding.rate does the same).")


def _atan_reference(x: Tensor, alpha: float) -> Tensor:
    """dS/dx of snnTorch's atan surrogate, by autograd through `surrogate.atan(alpha)`."""
    from snntorch import surrogate

    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        surrogate.atan(alpha=alpha)(x).sum().backward()
    return x.grad


@_check
def check_surrogate_gradient(grad: Callable[[Tensor, float], Tensor]) -> Feedback:
    """Compare `grad(x, alpha)` with autograd through snnTorch's atan surrogate."""
    x = torch.linspace(-2, 2, 81)
    for alpha in (2.0, 5.0):
        ref = _atan_reference(x, alpha)
        yours = _tensor(_call(grad, x.clone(), alpha,
                              hint="use torch operations on x: torch.pi, **2, division."),
                        "the derivative", tuple(x.shape))
        if torch.allclose(yours, ref.double(), rtol=1e-4, atol=1e-6):
            continue
        u = math.pi / 2 * alpha * x.double()
        if torch.allclose(yours, torch.zeros_like(yours)):
            hint = ("that is the true derivative of the step H: zero everywhere (except at 0, "
                    "where it is infinite). The surrogate differentiates the smooth S instead.")
        elif torch.allclose(yours, 1 / (1 + u ** 2), rtol=1e-4):
            hint = "the chain rule brings out the inner factor: the peak at x = 0 is α/2."
        elif torch.allclose(yours, alpha / 2 / (1 + (alpha * x.double()) ** 2), rtol=1e-4):
            hint = "inside the square is (π/2)·α·x, the argument of arctan."
        else:
            hint = ("d/dx arctan(u) = u′/(1 + u²) with u = (π/2)·α·x; S has a factor 1/π in "
                    "front. At x = 0 the derivative should be α/2.")
        raise _wrong(f"with α = {alpha:g}, at x = 0 yours is {float(yours[40]):.4f}, the "
                     f"surrogate's {float(ref[40]):.4f}; at x = 1 yours is "
                     f"{float(yours[60]):.4f}, the surrogate's {float(ref[60]):.4f}.", hint)
    return Feedback("solved", "your derivative is snnTorch's arctan surrogate (the lab's "
                    "default_surrogate, α = 2): a bump of height α/2 at the threshold, "
                    "narrower for larger α.")
