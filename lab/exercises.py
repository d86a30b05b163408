"""The checks a student runs in the course notebooks, and the tool that writes student versions.

Each check runs the student's code against the lab's own implementation and returns a
`Feedback` that the notebook shows: "✓ …" when it is right; "not solved yet: …" while the
student's function still raises NotImplementedError (the stub nbgrader leaves in the student
version); otherwise what is wrong and a hint — never a bare False.

    check_if_loop(fn)             fn(current [T, B], params) -> (spikes [T, B], v[T] [B])
    check_rate_identity(fn)       fn(current [T, B], v_init [B], v_final [B]) -> rate [B]
    check_rate_encoding(fn)       fn(x [B, ...], timesteps, generator) -> spikes [T, B, ...]
    check_surrogate_gradient(fn)  fn(x, alpha) -> dS/dx, the arctan surrogate's derivative
    check_prediction(name, fn)    fn() -> the number predicted before running the experiment

`make_student(src, dst)` writes the student version of an instructor notebook with nbgrader's
preprocessors; `python -m lab.exercises notebooks build/student` does every notebook with
exercises (`make student`).

Example:
    >>> check_prediction("if_spike_count", lambda: 7).status
    'solved'
    >>> check_prediction("if_spike_count", lambda: 8)
    ✗ you predicted 8: that is too high.
    Hint: count the charge: how much comes in over 16 steps, and how much does each spike take away?
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor

from lab.core.neurons import NeuronParams, simulate

Status = Literal["solved", "unsolved", "wrong"]
PREFIX: dict[Status, str] = {"solved": "✓ ", "unsolved": "not solved yet: ", "wrong": "✗ "}


@dataclass(frozen=True)
class Feedback:
    """The result of a check: its status and what to tell the student (shown as its repr)."""

    status: Status
    message: str

    def __bool__(self) -> bool:
        return self.status == "solved"

    def __repr__(self) -> str:
        return PREFIX[self.status] + self.message


class _Stop(Exception):
    """Ends a check early with its feedback."""

    def __init__(self, feedback: Feedback) -> None:
        super().__init__(feedback.message)
        self.feedback = feedback


def _wrong(what: str, hint: str) -> _Stop:
    return _Stop(Feedback("wrong", f"{what}\nHint: {hint}"))


def _check(fn: Callable[..., Feedback]) -> Callable[..., Feedback]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Feedback:
        try:
            return fn(*args, **kwargs)
        except _Stop as stop:
            return stop.feedback
    return run


def _call(fn: Callable[..., Any], *args: Any, hint: str, todo: str = "your code") -> Any:
    """fn(*args), turning NotImplementedError into 'not solved yet' and other errors into a hint."""
    name = getattr(fn, "__name__", "your function")
    try:
        return fn(*args)
    except NotImplementedError:
        raise _Stop(Feedback("unsolved", f"{name} still raises NotImplementedError. Replace "
                             f"`raise NotImplementedError()` with {todo}, run that cell, "
                             "then run this one again.")) from None
    except Exception as error:  # the student's bug, reported with a hint instead of a traceback
        raise _wrong(f"{name} raised {type(error).__name__}: {error}", hint) from None


def _tensor(value: Any, what: str, shape: tuple[int, ...]) -> Tensor:
    if not isinstance(value, Tensor):
        raise _wrong(f"{what} should be a torch tensor, got {type(value).__name__}.",
                     "build it with torch operations on the input tensor (torch.stack, …).")
    if tuple(value.shape) != shape:
        raise _wrong(f"{what} should have shape {list(shape)}, got {list(value.shape)}.",
                     "time is the first axis: [T, B] for spikes, [B] for one value per neuron.")
    return value.detach().double()


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


# --- predictions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prediction:
    """A question answered with one number before the experiment; `answer` runs the lab."""

    question: str
    answer: Callable[[], float]
    tolerance: float
    explain: str  # shown when right, formatted with {answer}
    hint: str     # shown when wrong; it does not give the answer away


def _count(current: float, timesteps: int, params: NeuronParams) -> float:
    drive = torch.full((timesteps, 1), current, dtype=torch.float64)
    return float(simulate(drive, params).spikes.sum())


def _zero_reset_rate() -> float:
    drive = torch.full((16, 1), 0.6, dtype=torch.float64)
    return float(simulate(drive, NeuronParams(1.0, reset="zero")).spikes.mean())


@functools.cache
def _bptt_memory_ratio() -> float:
    from lab import bptt

    saved = {T: bptt.run(bptt.Config(timesteps=T, epochs=1, device="cpu"))["metrics"][
        "saved_bytes"] for T in (8, 16)}
    return saved[16] / saved[8]


def _expected_spike(current: float, noise: str, std: float) -> float:
    from lab import noise_training

    return float(noise_training.expected_spike(torch.tensor([current], dtype=torch.float64),
                                               noise, std))


def _if_rate(current: float, timesteps: int, v_init: float) -> float:
    from lab import noise_training

    rate = noise_training.if_rate(torch.tensor([current], dtype=torch.float64), timesteps,
                                  v_init=v_init)
    return float(rate[-1, 0])


def _spikes(currents: list[float], v_init: float = 0.0) -> float:
    drive = torch.tensor(currents, dtype=torch.float64).unsqueeze(1)
    return float(simulate(drive, NeuronParams(1.0, v_init=v_init)).spikes.sum())


def _streaming_steps() -> int:
    import lab.streaming as streaming

    config = streaming.Config()
    return config.n_time_bins * config.steps_per_frame


@functools.cache
def _ttl_ratios() -> tuple[float, float]:
    """(saved bytes, forward MACs) of TTL with K = 1, one block, over BPTT's, T = 4, digits."""
    from lab import ttl_bptt

    config = ttl_bptt.Config(timesteps=4, truncation_length=1, block_size=3, device="cpu")
    split, shape = ttl_bptt.load(config)
    ttl, bptt = ttl_bptt.step_costs(config, split, shape)
    return ttl.saved_bytes / bptt.saved_bytes, ttl.macs_forward / bptt.macs_forward


def _ttl_updates(timesteps: int, truncation_length: int) -> float:
    """Optimizer updates in one TTL step, counted on a tiny network."""
    from lab import ttl_bptt

    config = ttl_bptt.Config(timesteps=timesteps, truncation_length=truncation_length,
                             device="cpu")
    model = ttl_bptt.build(config, (1, 8, 8), 10)
    count = {"updates": 0}

    class Counter(torch.optim.SGD):
        def step(self, closure=None):
            count["updates"] += 1

    x = torch.rand(timesteps, 2, 1, 8, 8)
    ttl_bptt.ttl_step(model, x, torch.tensor([0, 1]), Counter(model.parameters(), lr=0.0),
                      truncation_length)
    return float(count["updates"])


def _first_step(skips: bool) -> float:
    import lab.streaming as streaming

    graph = streaming.make_graph((2, 17, 17), 10, skips)
    return float(streaming.first_step(graph, "streaming"))


PREDICTIONS: dict[str, Prediction] = {
    "ttl_saved_ratio": Prediction(
        "TTL-BPTT with K = 1 and the whole network as one block, T = 4: the bytes saved for "
        "backward, as a fraction of full BPTT's?",
        lambda: _ttl_ratios()[0], 0.1,
        "measured {answer:.2f}: the activations shrink to one step of four, but what every "
        "backward pass needs whatever K is (the weights, saved to compute the input's gradient) "
        "does not, so the ratio sits well above 1/4 on a network this small.",
        "the activations scale with the steps in a segment; what else does autograd keep "
        "that does not depend on K?"),
    "ttl_forward_macs": Prediction(
        "Same TTL step: its forward MACs, as a fraction of full BPTT's?",
        lambda: _ttl_ratios()[1], 1e-6,
        "{answer:g}: truncation cuts the gradient, not the forward pass: every step of every "
        "layer is still computed.",
        "does cutting the backward pass in time change how many steps are computed forward?"),
    "ttl_updates": Prediction(
        "T = 8, K = 2: how many optimizer updates does one TTL-BPTT training step make?",
        lambda: _ttl_updates(8, 2), 0.0,
        "{answer:.0f}: one update per segment, T/K of them, where BPTT makes one. That is why "
        "the benchmark tunes the learning rate of every configuration.",
        "the loss is back-propagated and the weights updated after every segment."),
    "streaming_first_step_deep": Prediction(
        "Streaming rollout, the deep path input → conv1 → conv2 → fc → output only (no skips), "
        "every edge delayed by one step: at which step does the output first see frame 0?",
        lambda: _first_step(False), 0.0,
        "step {answer:.0f}: four edges, one step each.",
        "count the edges on the path; each adds one step."),
    "streaming_first_step_skips": Prediction(
        "The same graph with its skip edges conv1 → fc and conv1 → output: the first step?",
        lambda: _first_step(True), 0.0,
        "step {answer:.0f}: the shortest path, input → conv1 → output, has two edges: coarse "
        "answers come early, and longer paths refine them later.",
        "find the shortest path from the input to the output."),
    "streaming_snn_steps": Prediction(
        "The converted SNN runs K = 8 IF steps per frame and the stream has 8 frames: how many "
        "SNN steps in all?",
        lambda: float(_streaming_steps()), 0.0,
        "{answer:.0f}: 8 frames × 8 steps; every synapse delays by K steps, one frame.",
        "each frame is shown to the SNN for K steps."),

    "qcfs_at_t_equal_l": Prediction(
        "QCFS with L = 4, λ = 1 maps z = 0.6 to 0.5. Its IF neuron (θ = λ = 1, v[0] = θ/2) gets "
        "the constant input 0.6 for T = L = 4 steps: how many spikes?",
        lambda: _spikes([0.6] * 4, v_init=0.5), 0.0,
        "{answer:.0f}: 0.5 + 4 × 0.6 = 2.9 units of charge, two spikes, and a rate of 2/4 = 0.5 "
        "= QCFS(0.6): zero conversion error at T = L for even input.",
        "count the charge: v[0] plus T·z, then how many θ = 1 fit in it?"),
    "uneven_arrival": Prediction(
        "IF neuron, θ = 1, v[0] = 0. Its input over T = 4 steps is 1.0, −0.5, 0, 0 (total 0.5): "
        "how many spikes?",
        lambda: _spikes([1.0, -0.5, 0.0, 0.0]), 0.0,
        "{answer:.0f}: it fires at step 1 before the negative input arrives, and ends with "
        "v[T] = −0.5 < 0. Evenly spread, 0.5 would give floor(0.5) = 0 spikes: the residual "
        "error misrepresents this neuron's input.",
        "follow v step by step: does anything undo a spike once it is fired?"),
    "one_step_quantization": Prediction(
        "The same QCFS neuron (θ = 1, v[0] = θ/2) with input 0.6 for a single step, T = 1: "
        "what rate θ·Σs/T does it send on?",
        lambda: _spikes([0.6], v_init=0.5), 0.0,
        "{answer:g}: 0.5 + 0.6 ≥ 1, so it fires; at T = 1 a neuron can only send 0 or θ, where "
        "QCFS sends 0.5. No order is involved in one step: the T = 1 error is quantization.",
        "at T = 1 there are only two possible rates. Which one does v = 0.5 + 0.6 give?"),

    "uniform_single_step": Prediction(
        "Single-step neuron, θ = 1, v0 = 1/2, uniform noise with σ = 1/√12 (so v0 + n is "
        "uniform on [0, 1)), input I = 0.3: the probability that it fires, E[s]?",
        lambda: _expected_spike(0.3, "uniform", 1 / 12**0.5), 0.01,
        "{answer:.2f}: it fires when v0 + n ≥ 1 − I = 0.7, a stretch of length 0.3 of [0, 1): "
        "E[s] = I/θ, the identity.",
        "v = v0 + n + I fires when v0 + n ≥ θ − I. How long is that part of [0, 1)?"),
    "gaussian_single_step_at_zero": Prediction(
        "Single-step neuron, θ = 1, v0 = 1/2, Gaussian noise σ = 0.3, input I = 0: E[s]? "
        "(Φ(−1.67) ≈ 0.05.)",
        lambda: _expected_spike(0.0, "gaussian", 0.3), 0.01,
        "{answer:.3f}: the noise has to cover the whole distance θ − v0 = 0.5 alone, 1.67 σ. "
        "The IF rate at I = 0 is 0: this small gap at the ramp's corner is the price of a "
        "smooth Gaussian.",
        "the neuron fires when n ≥ θ − v0 − I; in units of σ, how far is that?"),
    "if_rate_rounds": Prediction(
        "IF neuron, θ = 1, v[0] = 1/2, constant input 0.3, N = 4 steps: the rate Σs/N?",
        lambda: _if_rate(0.3, 4, 0.5), 1e-6,
        "{answer:g}: 4 × 0.3 = 1.2 units of charge plus the start 0.5 make 1.7: one spike. "
        "From v[0] = θ/2 the count is round(N·I/θ) = round(1.2) = 1, so the rate is 1/4.",
        "add up the charge: v[0] plus N·I. How many times does it pass θ = 1?"),

    "if_spike_count": Prediction(
        "IF neuron, θ = 1, v[0] = 0, constant input 0.45 for T = 16 steps: how many spikes?",
        lambda: _count(0.45, 16, NeuronParams(1.0)), 0.0,
        "16 steps × 0.45 = 7.2 units of charge came in; {answer:.0f} spikes of θ = 1 carried "
        "{answer:.0f} away, and v[T] = 0.2 is still in the neuron.",
        "count the charge: how much comes in over 16 steps, and how much does each spike "
        "take away?"),
    "leak_spike_count": Prediction(
        "LIF neuron, β = 0.8, θ = 1, constant input 0.15 for T = 16 steps: how many spikes?",
        lambda: _count(0.15, 16, NeuronParams(1.0, beta=0.8)), 0.0,
        "{answer:.0f}: v climbs towards I/(1 − β) = 0.75, where the leak removes as much as "
        "the input brings, and never reaches θ = 1. (The IF neuron fires twice: 16 × 0.15 = "
        "2.4.)",
        "with a leak, v does not grow for ever: at which v does the leak (1 − β)·v remove as "
        "much as the input I brings each step? Compare that level with θ."),
    "zero_reset_rate": Prediction(
        "IF neuron, θ = 1, reset to zero, constant input z = 0.6, T = 16: what rate θ·Σs/T?",
        _zero_reset_rate, 1e-6,
        "{answer:g}: v goes 0.6, 1.2 → spike → 0, 0.6, 1.2 → spike → 0, …: one spike every "
        "second step. Each reset throws away the overshoot 0.2; reset by subtraction keeps it "
        "and fires 9 times (rate 0.5625 → 0.6 as T grows).",
        "follow v for the first four steps. What happens to the 0.2 above θ at a reset to "
        "zero?"),
    "silent_pixel_probability": Prediction(
        "Rate coding, T = 8: what fraction of pixels with intensity 0.25 fire no spike at all?",
        lambda: 0.75 ** 8, 0.01,
        "0.75^8 = {answer:.3f}: one in ten such pixels is silent for the whole window, so at "
        "small T the rate code loses information that the direct code keeps.",
        "at every step a pixel fires with probability 0.25, independently; a silent pixel "
        "misses all 8 steps."),
    "bptt_memory_ratio": Prediction(
        "BPTT keeps every step's graph for the backward pass. The lab's MLP on the digits at "
        "T = 16: how many times the memory saved at T = 8?",
        _bptt_memory_ratio, 0.3,
        "measured: {answer:.2f}×. Every extra step adds its activations, so the memory grows "
        "linearly with T; the part that does not depend on T (such as the input images) keeps "
        "the ratio a little under 2. Notebook 04 cuts this growth.",
        "what does autograd keep for one step, and how many steps are there?"),
}


@_check
def check_prediction(name: str, prediction: Any) -> Feedback:
    """Compare a prediction (a number, or a function returning it) with the lab's answer."""
    if name not in PREDICTIONS:
        raise ValueError(f"no prediction named {name!r}; known: {', '.join(PREDICTIONS)}")
    item = PREDICTIONS[name]
    if callable(prediction):
        prediction = _call(prediction, hint="your function should return one number.",
                           todo=f"`return <your number>` ({item.question})")
    if prediction is None or prediction is Ellipsis:
        return Feedback("unsolved", f"write your prediction first. {item.question}")
    if isinstance(prediction, Tensor) and prediction.numel() == 1:
        prediction = prediction.item()
    if isinstance(prediction, bool) or not isinstance(prediction, int | float):
        raise _wrong(f"a prediction is one number, got {prediction!r}.",
                     "return a number such as 3 or 0.25.")
    answer = item.answer()
    if abs(prediction - answer) <= item.tolerance + 1e-9:
        return Feedback("solved", item.explain.format(answer=answer))
    side = "high" if prediction > answer else "low"
    raise _wrong(f"you predicted {prediction:g}: that is too {side}.", item.hint)


def _list(t: Tensor) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in t.tolist()) + "]"


# --- the student version ----------------------------------------------------------------------

def has_exercises(path: str | Path) -> bool:
    """True if the notebook at `path` has a cell marked as an nbgrader solution."""
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    return any(cell.get("metadata", {}).get("nbgrader", {}).get("solution") for cell in cells)


def make_student(src: str | Path, dst: str | Path) -> Path:
    """Write the student version of the instructor notebook `src` to `dst`.

    nbgrader's preprocessors do it, never a hand edit: CheckCellMetadata (valid, unique
    grade ids), ClearSolutions (each `### BEGIN SOLUTION … ### END SOLUTION` becomes
    `raise NotImplementedError()`), LockCells (check cells read-only) and ClearOutput (the
    instructor's outputs would give the predictions away). The stored widget state and nbval's
    test tags go too: students run the notebook themselves.
    """
    import nbformat
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearOutput,
        ClearSolutions,
        LockCells,
    )

    notebook = nbformat.read(src, as_version=4)
    resources: dict[str, Any] = {}
    for step in (CheckCellMetadata(), ClearSolutions(), ClearHiddenTests(), LockCells(),
                 ClearOutput()):
        notebook, resources = step.preprocess(notebook, resources)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        tags = [t for t in cell.metadata.get("tags", []) if not t.startswith("nbval")]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, dst)
    return dst


def make_students(src_dir: str | Path, dst_dir: str | Path) -> list[Path]:
    """The student version of every notebook in `src_dir` that has exercises, in `dst_dir`."""
    return [make_student(path, Path(dst_dir) / path.name)
            for path in sorted(Path(src_dir).glob("*.ipynb")) if has_exercises(path)]


def main(argv: Iterable[str] | None = None) -> int:
    """`python -m lab.exercises SRC_DIR DST_DIR`: exit 0 when at least one notebook was written."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.stderr.write("usage: python -m lab.exercises SRC_DIR DST_DIR\n")
        return 2
    written = make_students(*args)
    sys.stdout.write("".join(f"{path}\n" for path in written))
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
