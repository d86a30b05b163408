"""The two rollouts of a graph over event frames, and training with a loss at every step.

Sequential: each edge keeps its own delay (0 for feed-forward and skip edges), so frame t
passes through every layer within step t. Streaming: every edge has delay 1, so every layer
updates in parallel from the previous step's states — the delays an SNN has.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import config as cfg
from ..core import data, training
from .graph import Graph

ROLLOUTS = ("sequential", "streaming")


def delays(graph: Graph, rollout: str) -> list[int]:
    """Each edge's delay in `rollout`: the graph's own (sequential) or 1 (streaming)."""
    cfg.one_of("rollout", rollout, ROLLOUTS)
    return [1] * len(graph.edges) if rollout == "streaming" else [e.delay for e in graph.edges]


def unroll(graph: Graph, frames: Tensor, rollout: str = "streaming") -> dict[str, Tensor]:
    """Every node's state `[T, B, ...]` over frames `[T, B, P, H, W]`; h[t < 0] = 0."""
    graph.check_frames(frames)
    edge_delays = delays(graph, rollout)
    incoming = {n: [(e, d) for e, d in zip(graph.edges, edge_delays, strict=True) if e.dst == n]
                for n in graph.order}
    zeros = {n: frames.new_zeros(frames.shape[1], *shape) for n, shape in graph.shapes.items()}
    history: dict[str, list[Tensor]] = {n: [] for n in graph.shapes}
    for t in range(frames.shape[0]):
        history[graph.input].append(frames[t])
        for node in graph.order:  # zero-delay sources come first, their state at t is ready
            current = sum(graph.layers[e.name](history[e.src][t - d] if t >= d else zeros[e.src])
                          for e, d in incoming[node])
            history[node].append(graph.activations[node](current))
    return {n: torch.stack(states) for n, states in history.items()}


def path_delays(graph: Graph, rollout: str, horizon: int) -> dict[str, set[int]]:
    """For each node, the delays d ≤ horizon of its paths from the input: h_n[t] sees x[t − d]."""
    edge_delays = delays(graph, rollout)
    found: dict[str, set[int]] = {n: set() for n in graph.shapes}
    found[graph.input].add(0)
    frontier = [(graph.input, 0)]
    while frontier:
        node, d = frontier.pop()
        for e, de in zip(graph.edges, edge_delays, strict=True):
            if e.src == node and d + de <= horizon and d + de not in found[e.dst]:
                found[e.dst].add(d + de)
                frontier.append((e.dst, d + de))
    return found


def first_step(graph: Graph, rollout: str) -> int:
    """The first step at which the output can have seen frame 0: its shortest path delay."""
    return min(path_delays(graph, rollout, horizon=len(graph.shapes))[graph.output])


def seen_frames(graph: Graph, rollout: str, step: int) -> dict[str, list[int]]:
    """The frames each node's state at `step` depends on (the ANN keeps no other memory)."""
    return {n: sorted(step - d for d in ds if step - d >= 0)
            for n, ds in path_delays(graph, rollout, step).items()}


def anytime_loss(outputs: Tensor, labels: Tensor, start: int) -> Tensor:
    """(1 / (T − t0)) Σ_{t0 ≤ t < T} CE(y[t], label): every step from t0 = `start` on, equally.

    Steps before t0 are left out: there the output has seen no frame, only the biases.
    """
    if not 0 <= start < outputs.shape[0]:
        raise ValueError(f"start must be in [0, {outputs.shape[0]}) (steps), got {start}")
    steps = outputs[start:]
    return F.cross_entropy(steps.flatten(0, 1), labels.repeat(steps.shape[0]))


def forward(rollout: str) -> Callable[[nn.Module, Tensor], Tensor]:
    """Recordings `[B, T, P, H, W]` → the output at every step `[T, B, C]`."""
    return lambda graph, x: unroll(graph, x.transpose(0, 1), rollout)[graph.output]


def train(graph: Graph, split: data.Split, rollout: str, *, epochs: int, lr: float,
          batch_size: int, seed: int, device: torch.device | None = None,
          progress: training.Progress | None = None) -> list[float]:
    """Train `graph` in `rollout` on `anytime_loss` through the core's training loop."""
    start = first_step(graph, rollout)
    return training.train(graph, split, forward(rollout), epochs=epochs, lr=lr,
                          batch_size=batch_size, seed=seed, device=device,
                          loss=lambda out, y: anytime_loss(out, y, start), progress=progress)
