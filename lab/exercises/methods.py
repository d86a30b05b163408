"""Checks of code a student writes for the methods: QCFS (notebook 02), the single-step noise
identity (03), the truncated segment of TTL-BPTT (04), the first step in a graph with delays (05),
a pattern the converter refuses, rewritten so that it converts (06).

Each runs the student's function against the lab's own implementation of the method."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from .feedback import Feedback, _call, _check, _wrong


def _values(value: Any, what: str, shape: tuple[int, ...]) -> Tensor:
    """`value` as a float64 tensor of `shape`, or a 'wrong' feedback that says why not."""
    if not isinstance(value, Tensor):
        raise _wrong(f"{what} should be a torch tensor, got {type(value).__name__}.",
                     "use torch operations on the input tensor (torch.floor, torch.clamp, …).")
    if tuple(value.shape) != shape:
        raise _wrong(f"{what} should have the input's shape {list(shape)}, got "
                     f"{list(value.shape)}.", "work element by element: no sum, mean or stack.")
    return value.detach().double()


# --- notebook 02: QCFS ------------------------------------------------------------------------

QCFS_MISTAKES = {
    "no_shift": "you left out the neuron's start: v[0] = θ/2 is half a spike of charge in the "
                "neuron before any input arrives, so the charge is v[0] + L·z. Without it QCFS "
                "rounds down and is θ/(2L) low on average.",
    "round": "torch.round rounds a half to the even number (round(0.5) = 0, round(1.5) = 2); "
             "the neuron fires when v reaches θ exactly, so where the charge is a whole number "
             "of θ every one of them is a spike: count whole θ with torch.floor.",
    "round_shift": "torch.round(x + 1/2) adds the half twice (round already rounds to the "
                   "nearest): count the whole θ in the charge with torch.floor.",
    "no_clip": "clip the level to 0…L: a neuron cannot fire a negative number of spikes, and "
               "fires at most once per step (at most θ).",
    "no_upper": "clip from above too: an IF neuron fires at most once per step, so the output "
                "is at most θ (level L).",
    "no_lower": "clip from below too: a neuron cannot fire a negative number of spikes.",
    "levels": "scale the spike count back to the units of z: the output is the rate "
              "θ·count/L, not the count.",
    "no_theta": "the rate is θ·count/L, not count/L: each spike carries θ (the case θ = 2 "
                "tells them apart).",
    "clip_unit": "clip the spike count to [0, L] (or the fraction count/L to [0, 1]), "
                 "not the count to [0, 1].",
}


def _qcfs_variant(z: Tensor, threshold: float, levels: int, mistake: str = "") -> Tensor:
    """θ/L·clip(floor(z·L/θ + 1/2), 0, L), or the same with one classic mistake."""
    u = z * levels / threshold
    q = {"no_shift": torch.floor(u), "round": torch.round(u),
         "round_shift": torch.round(u + 0.5)}.get(mistake, torch.floor(u + 0.5))
    low, high = {"no_clip": (None, None), "no_upper": (0, None), "no_lower": (None, levels),
                 "clip_unit": (0, 1)}.get(mistake, (0, levels))
    q = torch.clamp(q, low, high) if (low, high) != (None, None) else q
    return {"levels": q, "no_theta": q / levels}.get(mistake, threshold / levels * q)


@_check
def check_qcfs(qcfs: Callable[[Tensor, float, int], Tensor]) -> Feedback:
    """Compare `qcfs(z, threshold, levels)` with `lab.conversion.activations.qcfs` (φ = 1/2)."""
    from lab.conversion.activations import qcfs as reference

    cases = [(1.0, 4), (2.0, 4), (0.5, 8), (1.0, 1)]  # powers of 2: the halves are exact
    for theta, levels in cases:
        ties = (torch.arange(-2, 2 * levels + 3, dtype=torch.float64) / 2) * theta / levels
        z = torch.cat([torch.linspace(-1.0, 2.5, 141, dtype=torch.float64) * theta, ties])
        yours = _values(_call(qcfs, z.clone(), theta, levels,
                              hint="write it with torch.floor and torch.clamp on the tensor z."),
                        "the output", tuple(z.shape))
        ref = reference(z, theta, levels).double()
        if torch.allclose(yours, ref, atol=1e-9):
            continue
        where = f"with θ = {theta:g}, L = {levels}"
        for mistake, hint in QCFS_MISTAKES.items():
            if torch.allclose(yours, _qcfs_variant(z, theta, levels, mistake), atol=1e-9):
                raise _wrong(f"{where} your QCFS differs from lab.conversion's.", hint)
        i = int((yours - ref).abs().argmax())
        raise _wrong(f"{where}, at z = {float(z[i]):.4g} yours gives {float(yours[i]):.4g}, "
                     f"QCFS gives {float(ref[i]):.4g}.",
                     "count the spikes: how many whole θ does the charge v[0] + L·z hold "
                     "(v[0] = θ/2)? At least 0, at most L (one per step); the output is the "
                     "rate θ·count/L.")
    return Feedback("solved", f"your QCFS matches lab.conversion.activations.qcfs on "
                    f"{len(cases)} settings of θ and L, halfway points included: L + 1 levels "
                    "0, θ/L, …, θ, each the rate of an IF neuron (v[0] = θ/2) after T = L steps.")


# --- notebook 03: the single-step noise identity ----------------------------------------------

def _normal_cdf(x: Tensor) -> Tensor:
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


NOISE_MISTAKES = {
    "sigma_units": "σ is in units of θ: the noise is n = θ·σ·ε, so the condition on ε divides "
                   "by σ·θ, not by σ.",
    "no_v0": "the neuron starts at v0 = v_init·θ, not 0: the margin is I + v0 − θ.",
    "v_init_units": "v_init is in units of θ: v0 = v_init·θ.",
    "flipped": "that is P(no spike). The neuron fires when the noise lifts v to θ: "
               "P(n ≥ θ − I − v0), which grows with I.",
    "no_sqrt2": "Φ(x) = ½·(1 + erf(x/√2)): the √2 is missing (torch.special.ndtr is Φ).",
    "no_half": "Φ(x) = ½·(1 + erf(x/√2)) lies in [0, 1]; erf alone lies in [−1, 1].",
    "hard": "that is the neuron without noise: a step at I = θ − v0. Average H(v − θ) over the "
            "Gaussian noise instead.",
    "pdf": "that is the noise's density at the threshold; E[s] is the probability of being "
           "above it: the area under the density, the CDF Φ.",
}


def _noise_variant(current: Tensor, threshold: float, v_init: float, noise_std: float,
                   mistake: str = "") -> Tensor:
    """Φ((I + v0 − θ)/(σθ)), or the same with one classic mistake."""
    v0 = {"no_v0": 0.0, "v_init_units": v_init}.get(mistake, v_init * threshold)
    x = (current + v0 - threshold) / (noise_std * (1 if mistake == "sigma_units" else threshold))
    return {"flipped": lambda: _normal_cdf(-x), "no_sqrt2": lambda: (1 + torch.erf(x)) / 2,
            "no_half": lambda: torch.erf(x / math.sqrt(2)), "hard": lambda: (x >= 0).double(),
            "pdf": lambda: torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi),
            }.get(mistake, lambda: _normal_cdf(x))()


@_check
def check_expected_spike(expected_spike: Callable[[Tensor, float, float, float], Tensor]
                         ) -> Feedback:
    """Compare `expected_spike(current, threshold, v_init, noise_std)` with
    `lab.noise_training.expected_spike` (Gaussian noise) and with a Monte-Carlo estimate."""
    from lab import noise_training as nt

    cases = [(1.0, 0.5, 0.3), (2.0, 0.5, 0.3), (1.0, 0.0, 0.5), (0.5, 0.25, 0.2)]
    worst_mc = 0.0
    for theta, v_init, std in cases:
        current = torch.linspace(-1.0, 2.0, 61, dtype=torch.float64) * theta
        yours = _values(_call(expected_spike, current.clone(), theta, v_init, std,
                              hint="Φ(x) is torch.special.ndtr(x), or 0.5·(1 + torch.erf(x/√2))."),
                        "E[s]", tuple(current.shape))
        ref = nt.expected_spike(current, "gaussian", std, theta, v_init)
        mc = nt.monte_carlo_spike(current, "gaussian", std, theta, v_init, samples=20_000)
        worst_mc = max(worst_mc, float((mc - ref).abs().max()))
        if torch.allclose(yours, ref, atol=1e-6):
            continue
        where = f"with θ = {theta:g}, v_init = {v_init:g}, σ = {std:g}"
        for mistake, hint in NOISE_MISTAKES.items():
            if torch.allclose(yours, _noise_variant(current, theta, v_init, std, mistake),
                              atol=1e-6):
                raise _wrong(f"{where} your E[s] differs from the lab's.", hint)
        i = int((yours - mc).abs().argmax())
        raise _wrong(f"{where}, at I = {float(current[i]):.3g} yours is {float(yours[i]):.4f}; "
                     f"the fraction of 20 000 noisy steps that fire is {float(mc[i]):.4f}.",
                     "E[s] = P(I + v0 + n ≥ θ) with n = θ·σ·ε, ε ~ N(0, 1): rewrite the "
                     "event as ε ≥ a, and use P(ε ≥ a) = 1 − Φ(a) = Φ(−a).")
    return Feedback("solved", f"E[s] = Φ((I + v0 − θ)/(σθ)) matches "
                    f"lab.noise_training.expected_spike in {len(cases)} settings, and 20 000 "
                    f"noisy steps per current agree with it to {worst_mc:.3f}: one noisy step "
                    "fires, on average, at the rate an IF neuron reaches over many steps.")


# --- notebook 04: the truncated segment -------------------------------------------------------

def _segments(current: Tensor, params: Any, truncation_length: int,
              carry_state: bool = True) -> Tensor:
    """Spikes of lab.ttl_bptt's segment logic (`forward_segment`) on one layer of neurons."""
    from lab.core.neurons import SpikingNeuron
    from lab.ttl_bptt import forward_segment

    block = nn.Sequential(SpikingNeuron(params.threshold, params.beta, params.v_init,
                                        params.reset))
    state: dict = {}
    parts = []
    for start in range(0, current.shape[0], truncation_length):
        if not carry_state:
            state.clear()
        parts.append(forward_segment(block, current[start:start + truncation_length], state))
    return torch.cat(parts)


def _jacobian(spikes: Tensor, current: Tensor) -> Tensor:
    """J[t, t', b] = ∂s[t, b]/∂I[t', b] (the neurons are independent)."""
    rows = []
    for t in range(spikes.shape[0]):
        (g,) = torch.autograd.grad(spikes[t].sum(), current, retain_graph=True,
                                   allow_unused=True)
        rows.append(torch.zeros_like(current) if g is None else g)
    return torch.stack(rows).detach()


@_check
def check_truncated_rollout(rollout: Callable[[Tensor, Any, int], Tensor]) -> Feedback:
    """Compare `rollout(current, params, truncation_length)` with lab.ttl_bptt's segments:
    the same spikes as an uncut run, and gradients that stop at every segment boundary."""
    from lab.core.neurons import NeuronParams

    g = torch.Generator().manual_seed(4)
    base = torch.rand(8, 3, generator=g, dtype=torch.float64)
    cases = [(NeuronParams(1.0, v_init=0.5), 2), (NeuronParams(1.0, beta=0.9), 3),
             (NeuronParams(0.5), 1), (NeuronParams(1.0, v_init=0.5), 8)]
    for params, k in cases:
        where = f"with K = {k} (T = 8, β = {params.beta:g})"
        current = base.clone().requires_grad_(True)
        with torch.enable_grad():
            out = _call(rollout, current, params, k,
                        hint="call step(current[t], state, params) once per step and keep "
                             "its new state.")
            spikes = _values(out, "the spikes", tuple(base.shape))
            ref_out = _segments(current, params, k)
            ref = ref_out.detach().double()
            if not torch.equal(spikes, ref):
                reset = _segments(base, params, k, carry_state=False).detach().double()
                t = int(torch.nonzero((spikes != ref).any(1))[0])
                raise _wrong(f"{where}, the spikes at step {t} differ from lab.ttl_bptt's.",
                             "the cut keeps v's value, it only stops the gradient: "
                             "NeuronState(state.v.detach()), not a fresh initial_state."
                             if torch.equal(spikes, reset) else
                             "truncation must not change the forward pass: the same spikes "
                             "as one uncut run of step().")
            if not out.requires_grad:
                raise _wrong(f"{where}, your spikes carry no gradient.",
                             "detach only the carried state v at a segment start, never the "
                             "input or the spikes.")
            yours, theirs = _jacobian(out, current), _jacobian(ref_out, current)
        extra = torch.nonzero(((yours.abs() > 1e-12) & (theirs.abs() <= 1e-12)).any(2))
        missing = torch.nonzero(((yours.abs() <= 1e-12) & (theirs.abs() > 1e-12)).any(2))
        if len(extra):
            t, t_in = (int(i) for i in extra[0])
            raise _wrong(f"{where}, the spike at step {t} still gets a gradient from the input "
                         f"at step {t_in}, across the cut at step {t // k * k}.",
                         "a segment starts at t = 0, K, 2K, …: there, replace the state by "
                         "NeuronState(state.v.detach()) before the step.")
        if len(missing):
            t, t_in = (int(i) for i in missing[0])
            raise _wrong(f"{where}, the spike at step {t} gets no gradient from the input at "
                         f"step {t_in}, in the same segment.",
                         "cut only where a segment starts (t % K == 0), not at every step.")
        if not torch.allclose(yours, theirs, rtol=1e-6, atol=1e-9):
            raise _wrong(f"{where}, your gradients differ in size from lab.ttl_bptt's.",
                         "use the lab's step(current[t], state, params): its surrogate "
                         "gradient is the one TTL-BPTT trains with.")
    return Feedback("solved", "your loop gives lab.ttl_bptt's spikes and gradients for K = 1, "
                    "2, 3 and 8: v's value crosses every cut, its gradient none; a loss after "
                    "the next cut has zero gradient for an earlier input.")


# --- notebook 05: the first step in a graph with delays ---------------------------------------

def _first_steps_variant(graph: Any, delay: list[int], longest: bool = False) -> dict[str, int]:
    """Shortest (or, among acyclic paths, longest) path delay from the input to every node."""
    first = {graph.input: 0}
    edges = [(e.src, e.dst, d) for e, d in zip(graph.edges, delay, strict=True)]
    if longest:
        order = [graph.input, *graph.order]
        edges = [(s, t, d) for s, t, d in edges if order.index(s) < order.index(t)]
    for _ in edges:
        for src, dst, d in edges:
            if src in first:
                pick = max if longest else min
                first[dst] = pick(first.get(dst, first[src] + d), first[src] + d)
    return first


FIRST_STEP_MISTAKES = {
    "own": "in the streaming rollout every edge delays by one step, whatever its own delay "
           "(lab.streaming.delays(graph, 'streaming')).",
    "ones": "in the sequential rollout each edge keeps its own delay (0 for a feed-forward "
            "edge): frame 0 passes through every layer within step 0.",
    "longest": "a node can depend on frame 0 as soon as one path has brought it there: take "
               "the minimum over the incoming edges, not the maximum.",
}


def _graphs() -> list[tuple[str, Any]]:
    from lab import streaming as S

    def dense(n: int = 4) -> nn.Module:
        return nn.Linear(4, n)

    mixed = S.Graph((4,), {"a": nn.ReLU(), "b": nn.ReLU(), "out": nn.Identity()},
                    [(S.Edge("input", "a", 1), dense()), (S.Edge("a", "b", 0), dense()),
                     (S.Edge("b", "out", 0), dense()), (S.Edge("input", "out", 3), dense()),
                     (S.Edge("b", "b", 1), dense())], output="out")
    return [("the deep path (no skips)", S.make_graph((2, 5, 5), 3, skips=False)),
            ("the graph with skips", S.make_graph((2, 5, 5), 3, skips=True)),
            ("a graph with delays 1 and 3 and a recurrent edge b → b", mixed)]


@_check
def check_first_steps(first_steps: Callable[[Any, str], dict]) -> Feedback:
    """Compare `first_steps(graph, rollout)` with the minima of `lab.streaming.path_delays`."""
    from lab import streaming as S

    checked = 0
    for name, graph in _graphs():
        for rollout in S.ROLLOUTS:
            where = f"{name}, {rollout} rollout"
            out = _call(first_steps, graph, rollout,
                        hint="walk the edges (graph.edges: e.src, e.dst, e.delay) from "
                             "graph.input.")
            if not isinstance(out, dict):
                raise _wrong(f"first_steps should return a dict {{node: step}}, got "
                             f"{type(out).__name__}.", "start from {graph.input: 0}.")
            layers = list(graph.activations)
            if lost := [n for n in layers if n not in out]:
                raise _wrong(f"{where}: no step for {lost}.",
                             f"return one entry per layer: {layers}.")
            if out.get(graph.input, 0) != 0:
                raise _wrong(f"{where}: the input sees frame 0 at step {out[graph.input]}.",
                             "h_input[t] = x[t]: the input holds frame 0 at step 0.")
            yours = {n: int(out[n]) for n in layers}
            horizon = len(graph.shapes) * max(1, *S.delays(graph, rollout))
            ref = {n: min(ds) for n, ds in S.path_delays(graph, rollout, horizon).items()
                   if n in layers}
            checked += 1
            if yours == ref:
                continue
            own, ones = [e.delay for e in graph.edges], [1] * len(graph.edges)
            variants = {"own": _first_steps_variant(graph, own),
                        "ones": _first_steps_variant(graph, ones),
                        "longest": _first_steps_variant(graph, S.delays(graph, rollout), True)}
            for mistake, steps in variants.items():
                if yours == {n: steps[n] for n in layers}:
                    raise _wrong(f"{where}: yours says {yours}, the lab's {ref}.",
                                 FIRST_STEP_MISTAKES[mistake])
            node = next(n for n in layers if yours[n] != ref[n])
            raise _wrong(f"{where}: {node} first sees frame 0 at step {ref[node]}, yours says "
                         f"{yours[node]}.",
                         "first[dst] = min over the edges src → dst of first[src] + delay; "
                         "repeat the pass until nothing changes.")
    return Feedback("solved", f"your first steps match lab.streaming.path_delays in {checked} "
                    "graphs and rollouts: a node first sees frame 0 at its shortest path's "
                    "total delay, so the streaming rollout answers later, and skips earlier.")


# --- notebook 06: a pattern the converter refuses, rewritten ---------------------------------

class ScaledResidual(nn.Module):
    """An MLP on 8×8 images whose residual branch is scaled by 1/2; the converter refuses the
    multiply. Notebook 06 shows the same class as its author would write it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(64, 32), nn.Linear(32, 32), nn.Linear(32, 10)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.fc1(torch.flatten(x, 1)))
        h = torch.relu(h + 0.5 * self.fc2(h))
        return self.out(h)


REWRITE_MISTAKES = {
    "refused": "an IF network has no multiply by a constant: a current is scaled only by the "
               "weights it passes through. Where else can the factor on fc2's output live?",
    "in_place": "your function changed the network it was given (its output moved): scale a "
                "copy of the layer (copy.deepcopy) and leave the user's trained network as it "
                "was.",
    "no_scale": "your model adds fc2(h) where the original adds 0.5·fc2(h): the branch now "
                "weighs twice as much as it did.",
    "weight_only": "0.5·(W·h + b) = (0.5·W)·h + 0.5·b: the bias is scaled too.",
    "doubled": "fc2's output has to shrink to half, not double.",
}


def _rewrite_variant(model: ScaledResidual, x: Tensor, mistake: str) -> Tensor:
    """ScaledResidual's output with fc2 rewritten with one classic mistake: its weight and
    bias scaled by these factors instead of both by 1/2."""
    weight, bias = {"no_scale": (1.0, 1.0), "weight_only": (0.5, 1.0),
                    "doubled": (2.0, 2.0)}[mistake]
    h = torch.relu(model.fc1(torch.flatten(x, 1)))
    branch = h @ (weight * model.fc2.weight).T + bias * model.fc2.bias
    return model.out(torch.relu(h + branch))


@_check
def check_rewrite(convertible: Callable[[nn.Module], nn.Module]) -> Feedback:
    """`convertible(model)` for a trained `ScaledResidual`: a model that computes the same
    function, that `lab.conversion` accepts, and that leaves `model` as it was."""
    from lab.conversion import NotConvertible, layout

    seeds = (0, 1, 2)
    for seed in seeds:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model, x = ScaledResidual().eval(), torch.rand(32, 1, 8, 8)
        with torch.no_grad():
            before = model(x)
            yours = _call(convertible, model,
                          hint="build the model from the given layers; change none of them.")
            if not isinstance(yours, nn.Module):
                raise _wrong(f"convertible should return a torch.nn.Module, got "
                             f"{type(yours).__name__}.", "return the rewritten model.")
            try:
                names = layout(yours).names
            except NotConvertible as refusal:
                raise _wrong(f"lab.conversion still refuses your model: {refusal}",
                             REWRITE_MISTAKES["refused"]) from None
            if not torch.allclose(model(x), before, atol=1e-6):
                raise _wrong("after your function the model it was given computes something "
                             "else.", REWRITE_MISTAKES["in_place"])
            out = yours.eval()(x)
            if not isinstance(out, Tensor) or out.shape != before.shape:
                raise _wrong(f"your model's output should have shape {list(before.shape)}.",
                             "it takes the same images and returns the same 10 logits.")
            if torch.allclose(out, before, atol=1e-5):
                continue
            for mistake in ("no_scale", "weight_only", "doubled"):
                if torch.allclose(out, _rewrite_variant(model, x, mistake), atol=1e-5):
                    raise _wrong("your model computes something other than the network it "
                                 "was given.", REWRITE_MISTAKES[mistake])
            raise _wrong(f"your model's logits differ from the original's by up to "
                         f"{float((out - before).abs().max()):.3g}.",
                         "the rewrite must compute exactly what ScaledResidual computes, with "
                         "its trained weights: no retraining, no new random layers.")
    return Feedback("solved", f"your model computes what ScaledResidual computes ({len(seeds)} "
                    f"networks, 32 images each) and lab.conversion reads it: {len(names)} IF "
                    "layers, the second integrating h and fc2's current. A constant factor on a "
                    "layer's output belongs in its weights and bias, as BatchNorm folds into "
                    "the layer before it.")
