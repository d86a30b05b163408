"""What every foreign simulator's runner shares, and comparing two spike records."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import nir
import numpy as np
import torch
from torch import Tensor, nn

from ..core.models import spiking_layers
from .errors import DT

NEURON_NODES = (nir.IF, nir.LIF)


class Runner(ABC):
    """A simulator's own import of a NIR graph, run over `[T, B, ...]`.

    `runner(x)` → output `[T, B, C]`; afterwards `spikes` holds each neuron node's spikes
    `[T, B, ...]` in the lab's layer order. `adaptations` says, one sentence each, what the
    lab's runner changed so that the simulator's import runs the file (where the simulator, not
    the file, is at fault); `as_lab` says whether the simulator was also given the lab's
    reset and v[0], which NIR 1.0.8 cannot state.
    """

    simulator = ""

    def __init__(self, graph: nir.NIRGraph, as_lab: bool = False) -> None:
        self.graph, self.as_lab = graph, as_lab
        self.dt = float(graph.metadata.get("dt", DT))
        self.adaptations: list[str] = []
        self.spikes: list[Tensor] = []

    @abstractmethod
    def __call__(self, x: Tensor) -> Tensor:
        """Output `[T, B, C]` of input `x` `[T, B, ...]`; fills `spikes`."""


def module_name(key: str) -> str:
    """The name nirtorch gives node `key`'s module (dots → '_', Python keywords prefixed)."""
    from nirtorch.nir_interpreter import _sanitize_name

    return _sanitize_name(key)


def restate_if_gain(graph: nir.NIRGraph, r: float) -> bool:
    """Write every IF node's input gain as `r` (1 or 1/dt) where `graph` states it the other
    way (both mean the step's input added unscaled); whether any node changed. Edits `graph`;
    leaves any other r as it is, for the simulator's import to refuse."""
    dt, changed = float(graph.metadata.get("dt", DT)), False
    for node in graph.nodes.values():
        if isinstance(node, nir.IF) and not np.all(node.r == r):
            if np.all(node.r == 1) or np.allclose(node.r * dt, 1.0, rtol=1e-6, atol=0):
                node.r, changed = np.full_like(np.asarray(node.r, np.float64), r), True
    return changed


@torch.no_grad()
def run_spikes(net: nn.Module | Runner, x: Tensor) -> tuple[Tensor, list[Tensor]]:
    """(output `[T, B, C]`, the spikes s ∈ {0, 1} of every neuron layer `[T, B, ...]`)."""
    if isinstance(net, Runner):
        out = net(x)
        return out, [s.to(x.dtype) for s in net.spikes]
    was = net.training
    out = net.eval()(x)
    net.train(was)
    return out, [layer.last.spikes for layer in spiking_layers(net)]


def agreement(a: Sequence[Tensor], b: Sequence[Tensor]) -> float:
    """The fraction of (layer, step, sample, neuron) entries where two spike records agree."""
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b, strict=True)):
        raise ValueError(f"spike records differ in layers or shapes: "
                         f"{[list(x.shape) for x in a]} vs {[list(y.shape) for y in b]}")
    same = sum(int((x == y).sum()) for x, y in zip(a, b, strict=True))
    return same / sum(x.numel() for x in a)
