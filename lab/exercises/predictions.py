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
