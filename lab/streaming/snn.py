"""The converted SNN: IF neurons whose synaptic delays match the streaming rollout, and its cost.

The SNN runs K = `steps_per_frame` steps per event frame and every synapse delays spikes by K
steps, one rollout step, so that in frame window t

    rate_n[t] = θ_n · (spikes of n in window t) / K  ≈  h_n[t]  of the streaming ANN,

clipped to [0, θ_n] and quantized to θ_n/K. θ_n comes from the ANN's activation statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ..core import config as cfg
from ..core import data, models, neurons, operations
from ..core.neurons import NeuronParams, initial_state
from .anytime import running_mean
from .graph import Graph
from .rollout import unroll

READOUTS = ("running", "window")


def hidden_nodes(graph: Graph) -> list[str]:
    """The nodes that become IF neurons: all but the input and the output (which integrates)."""
    return [n for n in graph.order if n != graph.output]


@torch.no_grad()
def percentile_thresholds(graph: Graph, x: Tensor, rollout: str, percentile: float = 99.9,
                          batch_size: int = 128) -> dict[str, float]:
    """θ per hidden node: the `percentile` of its positive ANN states over recordings `x`
    `[N, T, ...]` at all steps — robust normalization (Rueckauer et al. 2017), silent states
    left out as in `lab.conversion.threshold_balance`, which reads only sequential models."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    hidden = hidden_nodes(graph)
    positive: dict[str, list[Tensor]] = {n: [] for n in hidden}
    graph.eval()
    for xb, _ in data.batches(x, torch.zeros(len(x)), batch_size):
        states = unroll(graph, xb.transpose(0, 1).to(models.device_of(graph)), rollout)
        for n in hidden:
            positive[n].append(states[n][states[n] > 0].cpu())
    values = {n: torch.cat(p).numpy() for n, p in positive.items()}
    return {n: float(np.percentile(v, percentile)) if v.size else 1.0 for n, v in values.items()}


@dataclass
class SNNRun:
    """Output currents `[T·K, B, C]`; per SNN step, summed over the batch: SOPs and spikes."""

    currents: Tensor
    sops: Tensor  # [T·K]
    spikes: dict[str, Tensor]  # node → [T·K]
    steps_per_frame: int


@torch.no_grad()
def simulate(graph: Graph, frames: Tensor, thresholds: dict[str, float], steps_per_frame: int,
             v_init: float = 0.5, v_min: float = 0.0) -> SNNRun:
    """The SNN of `graph` over frames `[T, B, P, H, W]`, one IF step (`neurons.step`) at a time.

    Frame t is the input current during SNN steps tK ≤ n < (t+1)K. Every synapse delays by
    K steps: a node at step n reads its sources' outputs θ·s of step n − K (the input edges read
    frame t − 1), the streaming rollout's delay of one step. Hidden nodes are IF neurons with
    v[0] = v_init·θ and a floor, v ← max(v, v_min·θ) after the reset (v_min = −inf: none), all
    stepped by the core's `neurons.step`; the output node does not fire, its input current is
    the readout.

    Why the floor: a neuron driven negative for several frames piles up negative potential and
    stays silent after its input turns positive (the residual membrane potential, grown across
    frames), so without it the SNN drifts away from the ANN frame after frame.
    """
    graph.check_frames(frames)
    cfg.positive("steps_per_frame", steps_per_frame)
    hidden = hidden_nodes(graph)
    if missing := [n for n in hidden if n not in thresholds]:
        raise ValueError(f"thresholds are missing for layers {missing}")
    k_steps, (n_frames, batch) = steps_per_frame, frames.shape[:2]
    params = {n: NeuronParams(float(thresholds[n]), v_init=v_init, v_min=v_min) for n in hidden}
    state = {n: initial_state(frames.new_zeros(batch, *graph.shapes[n]), params[n])
             for n in hidden}
    ring = {n: [frames.new_zeros(batch, *graph.shapes[n])] * k_steps for n in hidden}
    fan = fanouts(graph)
    currents, sops = [], torch.zeros(n_frames * k_steps)
    spikes = {n: torch.zeros(n_frames * k_steps) for n in hidden}
    graph.eval()
    for step in range(n_frames * k_steps):
        window, k = divmod(step, k_steps)
        if k == 0:  # a new window: the input edges now carry the previous frame
            shown = frames[window - 1] if window else torch.zeros_like(frames[0])
            drive = {e.name: graph.layers[e.name](shown) for e in graph.outgoing(graph.input)}
        # ring[n][k] still holds n's output of step − K: all reads come before any write
        inputs = {n: sum(drive[e.name] if e.src == graph.input
                         else graph.layers[e.name](ring[e.src][k]) for e in graph.incoming(n))
                  for n in graph.order}
        for n in hidden:
            s, state[n] = neurons.step(inputs[n], state[n], params[n])
            ring[n][k] = params[n].threshold * s
            spikes[n][step] = s.sum()
            sops[step] += sum(float((s * fan[e.name]).sum()) for e in graph.outgoing(n))
        currents.append(inputs[graph.output])
    return SNNRun(torch.stack(currents), sops, spikes, k_steps)


class StreamingSNN(nn.Module):
    """A trained graph as its converted SNN, ready to run: `forward(frames)` → output currents.

    θ per hidden node is a float64 buffer (in `hidden_nodes` order), saved with the weights;
    K = `steps_per_frame`, `v_init` and `v_min` are as in `simulate`.
    """

    def __init__(self, graph: Graph, thresholds: dict[str, float], steps_per_frame: int,
                 v_init: float = 0.5, v_min: float = 0.0) -> None:
        super().__init__()
        self.graph, self.nodes = graph, hidden_nodes(graph)
        self.register_buffer("thresholds", torch.tensor(  # float64: the run's θ exactly
            [float(thresholds[n]) for n in self.nodes], dtype=torch.float64))
        self.steps_per_frame, self.v_init, self.v_min = steps_per_frame, v_init, v_min

    def run(self, frames: Tensor) -> SNNRun:
        """`simulate` over frames `[T, B, P, H, W]`."""
        return simulate(self.graph, frames, dict(zip(self.nodes, self.thresholds.tolist(),
                                                     strict=True)),
                        self.steps_per_frame, self.v_init, self.v_min)

    def forward(self, frames: Tensor) -> Tensor:
        """Frames `[T, B, P, H, W]` → output currents `[T·K, B, C]`."""
        return self.run(frames).currents


def outputs(run: SNNRun, start: int, readout: str = "running") -> Tensor:
    """The SNN's answer at every frame step `[T, B, C]`, from one simulation.

    'window': the mean output current over frame t's K steps (what the ANN's y[t] stands for);
    'running': the mean over SNN steps K·min(t0, t) ≤ n < K·(t+1), since the output could first
    see input (t0 = `start`), so later frames refine the answer instead of replacing it.
    """
    cfg.one_of("readout", readout, READOUTS)
    per_frame = run.currents.unflatten(0, (-1, run.steps_per_frame)).mean(1)
    return per_frame if readout == "window" else running_mean(per_frame, start)


def fanouts(graph: Graph) -> dict[str, Tensor]:
    """Per edge, the fan-out of every source unit `[*src_shape]`: how many targets it reaches.

    Σ of an edge's fan-outs is its number of synapses (the MACs of one dense ANN step); a spike
    of unit i costs fan-out(i) synaptic operations (`lab.core.operations.fanout`).
    """
    return {e.name: operations.fanout(_path(graph.layers[e.name]), graph.shapes[e.src]).to(
        models.device_of(graph)) for e in graph.edges}


def _path(layer: nn.Module) -> list[nn.Module]:
    """An edge's layer as a list of modules (a Sequential of pooling and a weight layer)."""
    return list(layer) if isinstance(layer, nn.Sequential) else [layer]


def membrane_updates(graph: Graph, steps_per_frame: int) -> float:
    """Membrane updates per frame step and sample: every hidden neuron, every one of K steps."""
    return float(sum(torch.Size(graph.shapes[n]).numel() for n in hidden_nodes(graph))
                 * steps_per_frame)


def ops_per_step(graph: Graph, run: SNNRun, batch: int) -> tuple[list[float], list[float]]:
    """Per frame step and sample: (ANN MACs, SNN operations).

    The ANN computes every edge densely at every step. The SNN's input edges carry analog
    frames: their current is computed once per frame, at the same dense MAC cost; every other
    edge costs the synaptic operations of the spikes it carries, over the frame's K steps; and
    every hidden neuron updates its membrane at each of the K steps (one accumulate each,
    `membrane_updates`), which an event count alone would leave out.
    """
    macs = {name: float(f.sum()) for name, f in fanouts(graph).items()}
    input_macs = sum(macs[e.name] for e in graph.outgoing(graph.input))
    sops = run.sops.unflatten(0, (-1, run.steps_per_frame)).sum(1) / batch
    updates = membrane_updates(graph, run.steps_per_frame)
    return [sum(macs.values())] * len(sops), (input_macs + sops + updates).tolist()
