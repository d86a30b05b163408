"""Predict-then-check exercises: each answer is computed by the lab, never typed in."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from lab.core.neurons import NeuronParams, simulate

from .feedback import Feedback, _call, _check, _wrong


@dataclass(frozen=True)
class Prediction:
    """A question answered with one number before the experiment; `answer` runs the lab."""

    question: str
    answer: Callable[[], float]
    tolerance: float
    explain: str  # shown when right, formatted with {answer}
    hint: str     # shown when wrong; it does not give the answer away
    # common wrong answers -> what that answer shows the student overlooked (a hint, not the
    # answer); each must lie outside the tolerance (tests/test_exercises.py feeds every one)
    wrong: dict[float, str] = field(default_factory=dict)


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


@functools.cache
def _ttl_saved(timesteps: int, truncation_length: int, block_size: int) -> tuple[float, float]:
    """Bytes autograd saves in one training step on the digits: (TTL's, full BPTT's)."""
    from lab import ttl_bptt

    config = ttl_bptt.Config(timesteps=timesteps, truncation_length=truncation_length,
                             block_size=block_size, device="cpu")
    split, shape = ttl_bptt.load(config)
    ttl, bptt = ttl_bptt.step_costs(config, split, shape)
    return ttl.saved_bytes, bptt.saved_bytes


def _gradient_reach(timesteps: int, truncation_length: int) -> float:
    """How many inputs I[t'] get a gradient from the last spike s[T−1] of one layer of LIF
    neurons run in segments of K (lab.ttl_bptt.forward_segment)."""
    from .methods import _segments

    current = torch.full((timesteps, 1), 0.3, dtype=torch.float64, requires_grad=True)
    spikes = _segments(current, NeuronParams(1.0, beta=0.9), truncation_length)
    (grad,) = torch.autograd.grad(spikes[-1].sum(), current)
    return float((grad != 0).sum())


def _deep_path(*extra: tuple[str, str, int]) -> Any:
    """input → conv1 → conv2 → fc → output (delay 0) plus `extra` edges (src, dst, delay)."""
    from torch import nn

    import lab.streaming as streaming

    names = ["input", "conv1", "conv2", "fc", "output"]
    chain = [(a, b, 0) for a, b in zip(names, names[1:], strict=False)]
    edges = [(streaming.Edge(*edge), nn.Linear(4, 4)) for edge in chain + list(extra)]
    nodes = {**{n: nn.ReLU() for n in names[1:-1]}, "output": nn.Identity()}
    return streaming.Graph((4,), nodes, edges, output="output")


def _first_seen(graph: Any, rollout: str) -> float:
    import lab.streaming as streaming

    return float(streaming.first_step(graph, rollout))


def _frames_seen(graph: Any, rollout: str, step: int) -> float:
    import lab.streaming as streaming

    return float(len(streaming.seen_frames(graph, rollout, step)[graph.output]))


@functools.cache
def _only_new_from(change: int, frames: int = 8) -> float:
    """The graph with skips, streaming: the first step from which the output is the same for
    two streams that differ only in frames 0 … change − 1 (measured with `unroll`)."""
    import lab.streaming as streaming

    with torch.random.fork_rng():
        torch.manual_seed(0)
        graph = streaming.make_graph((2, 5, 5), 3, skips=True).double()
        old = torch.rand(frames, 4, 2, 5, 5, dtype=torch.float64)
        new = old.clone()
        new[:change] = torch.rand(change, 4, 2, 5, 5, dtype=torch.float64)
    with torch.no_grad():
        a, b = (streaming.unroll(graph, x, "streaming")[graph.output] for x in (old, new))
    same = [bool(torch.equal(a[t], b[t])) for t in range(frames)]
    return float(next(t for t in range(frames) if all(same[t:])))


def _first_spike(current: float, threshold: float, v_init: float) -> float:
    """The first T (steps counted from 1) by which an IF neuron with constant input fired."""
    drive = torch.full((256, 1), current, dtype=torch.float64)
    spikes = simulate(drive, NeuronParams(threshold, v_init=v_init)).spikes[:, 0]
    return float(spikes.nonzero()[0, 0] + 1)


def _gap(current: float, threshold: float, v_init: float, timesteps: int) -> float:
    """(SNN rate − ANN activation)/θ of an IF neuron with constant input, rate θ·Σs/T."""
    drive = torch.full((timesteps, 1), current, dtype=torch.float64)
    spikes = simulate(drive, NeuronParams(threshold, v_init=v_init)).spikes
    return float((threshold * spikes.sum() / timesteps - current) / threshold)


PREDICTIONS: dict[str, Prediction] = {
    "ttl_gradient_reach": Prediction(
        "One layer of LIF neurons runs T = 8 steps (t = 0 … 7) in TTL-BPTT's segments of "
        "K = 3. A loss reads the last step's spikes s[7] alone: how many of the 8 inputs "
        "I[0], …, I[7] get a nonzero gradient from it?",
        lambda: _gradient_reach(8, 3), 0.0,
        "{answer:.0f}: segments start at t = 0, 3, 6, so the last one holds steps 6 and 7 only. "
        "Inside it the gradient flows from s[7] back through v to I[6]; at t = 6, v entered the "
        "segment detached, so no earlier input gets any. Full BPTT would reach all 8.",
        "mark where the segments start, counting from t = 0; inside a segment, through what "
        "does s[7] depend on an earlier input?",
        wrong={
            3: "that counts K steps back from the last one; segments are cut from the start, "
               "t = 0, K, 2K, …, so the last segment can be shorter than K.",
            8: "that is full BPTT: at every segment start v keeps its value but loses its "
               "gradient.",
            1: "inside a segment the gradient also flows back in time, through the membrane "
               "potential v from step to step."}),
    "ttl_saved_ratio": Prediction(
        "TTL-BPTT with K = 1 and the whole network as one block, T = 4: the bytes saved for "
        "backward, as a fraction of full BPTT's?",
        lambda: _ttl_saved(4, 1, 3)[0] / _ttl_saved(4, 1, 3)[1], 0.1,
        "measured {answer:.2f}: the activations shrink to one step of four, but what every "
        "backward pass needs whatever K is (the weights, saved to compute the input's gradient) "
        "does not, so the ratio sits well above 1/4 on a network this small.",
        "the activations scale with the steps in a segment; what else does autograd keep "
        "that does not depend on K?",
        wrong={
            0.25: "1/T counts only the activations, which shrink to one step of four; autograd "
                  "also keeps tensors whose size does not depend on K.",
            1: "truncation leaves the forward pass whole, but autograd holds one segment's "
               "graph at a time, not all T steps'."}),
    "ttl_memory_over_t": Prediction(
        "TTL-BPTT with K = 2 and blocks of one layer: the bytes it saves for backward in one "
        "training step at T = 16, as a multiple of those it saves at T = 4?",
        lambda: _ttl_saved(16, 2, 1)[0] / _ttl_saved(4, 2, 1)[0], 0.05,
        "measured {answer:.2f}×: autograd holds one unit, K steps of one block, whatever T is: "
        "each segment's backward pass frees its graph before the next segment runs, and v "
        "enters the next segment detached, as data. Full BPTT's memory grows with T, so TTL's "
        "saving grows with T (the table below).",
        "what does autograd hold at once during a TTL step, and does any of it grow with T?",
        wrong={
            4: "16/4 is how a graph of all T steps grows (BPTT's); TTL runs each segment's "
               "backward pass before the next segment's forward.",
            0.25: "TTL's share of BPTT's memory falls as T grows; the question asks for TTL's "
                  "own bytes."}),
    "streaming_mixed_first_step": Prediction(
        "A graph: the deep path input → conv1 → conv2 → fc → output (every edge of delay 0) and "
        "a delay line input → output whose own delay is 3 steps. In the streaming rollout, at "
        "which step does the output first see frame 0?",
        lambda: _first_seen(_deep_path(("input", "output", 3)), "streaming"), 0.0,
        "step {answer:.0f}: in the streaming rollout every edge delays by one step, whatever its "
        "own delay, and a node sees frame 0 as soon as one path brings it there: the delay line "
        "is one edge. (The sequential rollout keeps the own delays: there the deep path brings "
        "frame 0 at step 0.)",
        "which delay does each edge have in the streaming rollout, and which path arrives first?",
        wrong={
            3: "an edge keeps its own delay only in the sequential rollout.",
            4: "a node sees frame 0 as soon as one path brings it there, not when the longest "
               "does.",
            0: "that is the sequential rollout, where the edges of the deep path have delay 0."}),
    "streaming_switch": Prediction(
        "Streaming rollout of the graph with skips (paths of 2, 3 and 4 edges from the input to "
        "the output), 8 frames. The stream changes at frame 3: frames 0–2 show one digit, frames "
        "3–7 another. From which step on does the output depend on the new digit's frames only?",
        lambda: _only_new_from(3), 0.0,
        "step {answer:.0f}: the output at step t sees frames t − 2, t − 3 and t − 4, one per "
        "path. The shortest path brings the new digit at step 5, but the longest still brings "
        "the old one while t − 4 < 3: for two steps the answer mixes both digits, the price of "
        "paths of different lengths (measured: two streams that differ in frames 0–2 give the "
        "same output from then on).",
        "at step t, which frame reaches the output along each of its three paths?",
        wrong={
            5: "that is when the output first sees the new digit, along its shortest path; the "
               "longer paths still bring older frames.",
            3: "that is the sequential rollout, where the output at step t sees frame t alone.",
            4: "the output is two to four edges from the input, and each edge delays by one "
               "step."}),
    "streaming_recurrent_memory": Prediction(
        "The deep path input → conv1 → conv2 → fc → output without skips, plus a recurrent edge "
        "fc → fc (delay 1). Streaming rollout: on how many of the frames 0–7 does the output at "
        "step 7 depend?",
        lambda: _frames_seen(_deep_path(("fc", "fc", 1)), "streaming", 7), 0.0,
        "{answer:.0f}: frames 0–3. The deep path delays a frame by 4 steps, so frames 4–7 have "
        "not reached the output yet, and the loop at fc keeps every older frame: a recurrent "
        "edge gives memory back to the start, the path delay sets how recent the newest frame "
        "is. Without the loop the output sees frame 3 alone.",
        "which is the newest frame that can have reached the output at step 7, and how far back "
        "does the loop at fc reach?",
        wrong={
            1: "that is the path without the recurrent edge; the loop fc → fc can be taken "
               "again and again.",
            8: "in the streaming rollout every edge delays by one step: the newest frames have "
               "not reached the output yet."}),

    "qcfs_at_t_equal_l": Prediction(
        "QCFS with L = 4, λ = 1 maps z = 0.6 to 0.5. Its IF neuron (θ = λ = 1, v[0] = θ/2) gets "
        "the constant input 0.6 for T = L = 4 steps: how many spikes?",
        lambda: _spikes([0.6] * 4, v_init=0.5), 0.0,
        "{answer:.0f}: 0.5 + 4 × 0.6 = 2.9 units of charge, two spikes, and a rate of 2/4 = 0.5 "
        "= QCFS(0.6): zero conversion error at T = L for even input.",
        "count the charge: v[0] plus T·z, then how many θ = 1 fit in it?",
        wrong={
            3: "3 spikes carry 3 units of charge away: do v[0] and 4 steps of 0.6 bring that "
               "much?",
            2.4: "spikes are whole, and the neuron starts with v[0] = θ/2 of charge already in "
                 "it.",
            0.5: "that is QCFS's output, a rate; the question asks for the number of spikes in "
                 "T = 4 steps (rate = θ·spikes/T)."}),
    "uneven_arrival": Prediction(
        "IF neuron, θ = 1, v[0] = 0. Its input over T = 4 steps is 1.0, −0.5, 0, 0 (total 0.5): "
        "how many spikes?",
        lambda: _spikes([1.0, -0.5, 0.0, 0.0]), 0.0,
        "{answer:.0f}: it fires at step 1 before the negative input arrives, and ends with "
        "v[T] = −0.5 < 0. Evenly spread, 0.5 would give floor(0.5) = 0 spikes: the residual "
        "error misrepresents this neuron's input.",
        "follow v step by step: does anything undo a spike once it is fired?",
        wrong={
            0: "that is the count for the same total spread evenly. Follow v step by step: "
               "does it reach θ at some step before the negative input arrives?",
            0.5: "spikes are whole: a neuron fires 0, 1, 2, … times, whatever its total "
                 "input."}),
    "one_step_quantization": Prediction(
        "The same QCFS neuron (θ = 1, v[0] = θ/2) with input 0.6 for a single step, T = 1: "
        "what rate θ·Σs/T does it send on?",
        lambda: _spikes([0.6], v_init=0.5), 0.0,
        "{answer:g}: 0.5 + 0.6 ≥ 1, so it fires; at T = 1 a neuron can only send 0 or θ, where "
        "QCFS sends 0.5. No order is involved in one step: the T = 1 error is quantization.",
        "at T = 1 there are only two possible rates. Which one does v = 0.5 + 0.6 give?",
        wrong={
            0.5: "that is QCFS's value, the rate at T = L = 4; in one step a neuron fires 0 "
                 "or 1 times, so it sends 0 or θ.",
            0.6: "that is the input z; in one step the rate can only be 0 or θ.",
            0: "the neuron starts at v[0] = θ/2, not at 0: add the input and compare with "
               "θ."}),

    "uniform_single_step": Prediction(
        "Single-step neuron, θ = 1, v0 = 1/2, uniform noise with σ = 1/√12 (so v0 + n is "
        "uniform on [0, 1)), input I = 0.3: the probability that it fires, E[s]?",
        lambda: _expected_spike(0.3, "uniform", 1 / 12**0.5), 0.01,
        "{answer:.2f}: it fires when v0 + n ≥ 1 − I = 0.7, a stretch of length 0.3 of [0, 1): "
        "E[s] = I/θ, the identity.",
        "v = v0 + n + I fires when v0 + n ≥ θ − I. How long is that part of [0, 1)?",
        wrong={
            0.7: "that is the chance that v0 + n lands below θ − I: the neuron stays silent "
                 "then.",
            0: "that is the neuron without noise (v0 + I is below θ); with the noise, v0 + n "
               "sometimes starts high enough.",
            0.5: "that is the chance that v0 + n lands above its mean v0; the neuron needs "
                 "v0 + n ≥ θ − I, which is higher.",
            0.8: "v0 + I is a potential, not a probability."}),
    "gaussian_single_step_at_zero": Prediction(
        "Single-step neuron, θ = 1, v0 = 1/2, Gaussian noise σ = 0.3, input I = 0: E[s]? "
        "(torch.special.ndtr(x) is Φ(x), the standard normal CDF.)",
        lambda: _expected_spike(0.0, "gaussian", 0.3), 0.01,
        "{answer:.3f}: the noise has to cover the whole distance θ − v0 = 0.5 alone, 1.67 σ. "
        "The IF rate at I = 0 is 0: this small gap at the ramp's corner is the price of a "
        "smooth Gaussian.",
        "the neuron fires when n ≥ θ − v0 − I; in units of σ, how far is that?",
        wrong={
            0: "that is the neuron without noise, or the IF rate: with Gaussian noise, v0 + n "
               "can reach θ even without input.",
            0.5: "that is P(n ≥ 0); the neuron needs the noise to cover the whole distance "
                 "from v0 to θ.",
            0.952: "that is the probability that it stays silent: it fires when n is large, "
                   "above the distance to θ.",
            0.309: "measure the distance to θ in units of σ: the noise's standard deviation is "
                   "0.3, not 1.",
            0.181: "σ = 0.3 is the standard deviation of the noise, not its variance."}),
    "if_rate_rounds": Prediction(
        "IF neuron, θ = 1, v[0] = 1/2, constant input 0.3, N = 4 steps: the rate Σs/N?",
        lambda: _if_rate(0.3, 4, 0.5), 1e-6,
        "{answer:g}: 4 × 0.3 = 1.2 units of charge plus the start 0.5 make 1.7: one spike. "
        "From v[0] = θ/2 the count is round(N·I/θ) = round(1.2) = 1, so the rate is 1/4.",
        "add up the charge: v[0] plus N·I. How many times does it pass θ = 1?",
        wrong={
            0.3: "that is the input, the rate's limit for large N; over N = 4 steps the rate is "
                 "a whole number of spikes divided by 4.",
            0.425: "that divides the charge by N, but spikes are whole: each one takes θ away "
                   "only when v reaches θ.",
            0.5: "two spikes carry away 2 units of charge: do v[0] and 4 steps of 0.3 bring "
                 "that much?",
            0: "v adds up over the steps: the charge in the neuron is v[0] + N·I, not one "
               "step's input."}),

    "if_spike_count": Prediction(
        "IF neuron, θ = 1, v[0] = 0, constant input 0.45 for T = 16 steps: how many spikes?",
        lambda: _count(0.45, 16, NeuronParams(1.0)), 0.0,
        "16 steps × 0.45 = 7.2 units of charge came in; {answer:.0f} spikes of θ = 1 carried "
        "{answer:.0f} away, and v[T] = 0.2 is still in the neuron.",
        "count the charge: how much comes in over 16 steps, and how much does each spike "
        "take away?",
        wrong={
            7.2: "that counts the charge that came in, not the spikes: a spike is whole, fired "
                 "only when v reaches θ, and charge that has not reached θ stays in v.",
            8: "8 spikes would carry away 8 units of charge: does that much come in over 16 "
               "steps?",
            5: "that is a reset to zero, which throws away the overshoot above θ; this neuron "
               "resets by subtraction and keeps it.",
            16: "one spike per step needs v to reach θ at every step: can 0.45 a step do that?"}),
    "leak_spike_count": Prediction(
        "LIF neuron, β = 0.8, θ = 1, constant input 0.15 for T = 16 steps: how many spikes?",
        lambda: _count(0.15, 16, NeuronParams(1.0, beta=0.8)), 0.0,
        "{answer:.0f}: v climbs towards I/(1 − β) = 0.75, where the leak removes as much as "
        "the input brings, and never reaches θ = 1. (The IF neuron fires twice: 16 × 0.15 = "
        "2.4.)",
        "with a leak, v does not grow for ever: at which v does the leak (1 − β)·v remove as "
        "much as the input I brings each step? Compare that level with θ.",
        wrong={
            2: "that is the IF neuron's count: with β = 0.8 a fifth of v leaks away every "
               "step, more the higher v is. Can v still climb to θ?",
            2.4: "16 × 0.15 counts the input charge of a neuron without a leak, and spikes are "
                 "whole: the leak drains v at every step.",
            1: "one spike needs v to reach θ once: find the level at which the leak takes away "
               "as much as the input brings, and compare it with θ."}),
    "zero_reset_rate": Prediction(
        "IF neuron, θ = 1, reset to zero, constant input z = 0.6, T = 16: what rate θ·Σs/T?",
        _zero_reset_rate, 1e-6,
        "{answer:g}: v goes 0.6, 1.2 → spike → 0, 0.6, 1.2 → spike → 0, …: one spike every "
        "second step. Each reset throws away the overshoot 0.2; reset by subtraction keeps it "
        "and fires 9 times (rate 0.5625 → 0.6 as T grows).",
        "follow v for the first four steps. What happens to the 0.2 above θ at a reset to "
        "zero?",
        wrong={
            0.5625: "that is reset by subtraction (9 spikes in 16 steps), which keeps the "
                    "overshoot; a reset to zero throws it away at every spike.",
            0.6: "a rate equal to the input needs every bit of charge to leave as spikes: what "
                 "happens to the overshoot above θ at a reset to zero?",
            1: "one spike per step needs v ≥ θ at every step: after a reset to zero, is one "
               "input of 0.6 enough?"}),
    "silent_pixel_probability": Prediction(
        "Rate coding, T = 8: what fraction of pixels with intensity 0.25 fire no spike at all?",
        lambda: 0.75 ** 8, 0.01,
        "0.75^8 = {answer:.3f}: one in ten such pixels is silent for the whole window, so at "
        "small T the rate code loses information that the direct code keeps.",
        "at every step a pixel fires with probability 0.25, independently; a silent pixel "
        "misses all 8 steps.",
        wrong={
            0: "a pixel of intensity 0.25 fires 2 times on average over 8 steps, but the count "
               "varies from pixel to pixel: some get none.",
            0.75: "that is the chance to stay silent at one step; a silent pixel stays silent "
                  "at every one of the 8 steps, independently.",
            0.25: "that is the chance to fire at one step, not the chance to stay silent for "
                  "the whole window."}),
    "bptt_memory_ratio": Prediction(
        "BPTT keeps every step's graph for the backward pass. From the bytes saved at T = 2 and "
        "T = 4 (measured above), the lab's MLP on the digits at T = 16: how many times the "
        "memory saved at T = 8?",
        _bptt_memory_ratio, 0.05,
        "measured: {answer:.2f}×. Every step adds the same bytes (its activations), and a part "
        "is kept once, whatever T is (such as the weights of the layers whose input needs a "
        "gradient): the memory is a straight line in T that does not pass through 0, so "
        "doubling T multiplies it by less than 2. Notebook 04 cuts this growth.",
        "what does each extra step add, and what is kept once, whatever T is? Read both off "
        "the measurements at T = 2 and T = 4.",
        wrong={
            1: "autograd keeps every step's graph until the loss at the end: more steps, more "
               "bytes.",
            2: "a memory proportional to T would double from T = 2 to T = 4 as well: does it? "
               "Part of it is kept once, whatever T is.",
            4: "each step keeps its own activations once; a later step does not keep the "
               "earlier steps' again, so the memory does not grow like T².",
            1.59: "that is the ratio from T = 2 to T = 4: a fixed part weighs less at larger T, "
                  "so doubling T does not multiply the memory by the same factor every time."}),

    "silent_first_spike": Prediction(
        "The classic setting: θ = the layer's largest activation, here 4, and v[0] = 0. A "
        "neuron whose ANN activation is 0.5 gets the constant input 0.5 at every step: at which "
        "T has it fired for the first time?",
        lambda: _first_spike(0.5, 4.0, 0.0), 0.0,
        "T = {answer:.0f}: from v[0] = 0 it needs θ/0.5 = 8 steps of charge before its first "
        "spike, so up to T = 7 it is silent although the ANN has it active: the diagnosis's "
        "silent %. An activation far below the rare maximum is the common case.",
        "how much charge does the neuron need before its first spike, and how much arrives at "
        "each step?",
        wrong={
            4: "that is a neuron that starts half full, v[0] = θ/2; the classic setting starts "
               "it empty.",
            1: "active in the ANN does not mean firing at once: v has to reach θ first."}),
    "clipped_gap": Prediction(
        "The fix lowers θ to the 99th percentile, here 2, and starts every neuron at "
        "v[0] = θ/2. A neuron whose ANN activation is 3 (above θ: clipped) gets the constant "
        "input 3 for T = 8 steps. Its gap, (SNN rate − ANN activation)/θ, with the rate "
        "θ·Σs/T?",
        lambda: _gap(3.0, 2.0, 0.5, 8), 0.01,
        "{answer:g}: it fires at every step, 8 spikes, the most an IF neuron can (one per "
        "step), so its rate is θ = 2, not 3; the charge it cannot send piles up in v. That is "
        "the clip % column: a lower percentile gives up a few large activations to make every "
        "other one reach θ sooner.",
        "how many spikes can a neuron send in one step at most?",
        wrong={
            0: "an IF neuron cannot send any rate: it fires at most once per step.",
            -1: "the gap is measured in units of θ.",
            0.5: "the SNN sends less than the ANN here: mind the sign."}),
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
    for value, why in item.wrong.items():  # a classic slip gets its own hint
        if abs(prediction - value) <= max(item.tolerance, 1e-6):
            raise _wrong(f"you predicted {prediction:g}: that is too {side}. {why}", item.hint)
    raise _wrong(f"you predicted {prediction:g}: that is too {side}.", item.hint)
