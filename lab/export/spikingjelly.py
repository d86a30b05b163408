"""A NIR graph → SpikingJelly's own import (`SpikingJellyRunner`, `to_spikingjelly`)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import nir
import torch
from torch import Tensor, nn

from .read import node_order
from .runner import NEURON_NODES, Runner, module_name, restate_if_gain
from .write import export_nir


class SpikingJellyRunner(Runner):
    """SpikingJelly's own import of a NIR graph
    (`spikingjelly.activation_based.nir_exchange.import_from_nir`, at the graph's dt), run
    step by step over `[T, B, ...]`, its state handed from step to step.

    What calling the import needs (SpikingJelly 2.0.0), done here and listed in
    `adaptations`: it requires IF r = 1/dt, so a file written with r = 1 (the 'snntorch'
    convention) is read with r = 1/dt, the same neuron.

    How SpikingJelly reads the graph, left as it is unless `as_lab`: nir.IF and nir.LIF
    (r = τ/dt: `LIFNode(decay_input=False)`, v ← (1 − dt/τ)·v + I) reset to v_reset = 0, v[0]
    is 0, and the lab's metadata is ignored; it fires on v ≥ θ and resets in the same step, as
    the lab does. `as_lab=True` gives it the metadata's reset (`v_reset=None`: subtract θ) and
    v[0] = v_init·θ; what remains is its weights with θ folded in float32 and its own float
    order (LIF: v − v/τ + I), which move a potential at θ by a rounding error.
    """

    simulator = "SpikingJelly"

    def __init__(self, graph: nir.NIRGraph, as_lab: bool = False) -> None:
        from spikingjelly.activation_based.nir_exchange import import_from_nir

        super().__init__(graph, as_lab)
        graph = copy.deepcopy(graph)
        if restate_if_gain(graph, 1.0 / self.dt):
            self.adaptations.append(f"IF r = 1 read as r = 1/dt = {1 / self.dt:g}: "
                                    "SpikingJelly requires r·dt = 1, the same neuron")
        self.module = import_from_nir(graph, dt=self.dt)
        names = dict(self.module.named_modules())
        keys = [k for k in node_order(graph) if isinstance(graph.nodes[k], NEURON_NODES)]
        self.names = [module_name(k) for k in keys]
        self.neurons = [names[n] for n in self.names]
        self.nodes = [graph.nodes[k] for k in keys]
        if as_lab:
            for m, node in zip(self.neurons, self.nodes, strict=True):
                if _meta(node, "reset", "zero") == "subtract":
                    m.module.v_reset = None  # SpikingJelly's soft reset: v ← v − θ·s

    def initial_state(self, batch: int) -> dict | None:
        """None (SpikingJelly's v[0] = 0), or with `as_lab` v[0] = v_init·θ per neuron node."""
        if not self.as_lab:
            return None
        state: dict = {name: None for name, _ in self.module.named_children()}
        for name, node in zip(self.names, self.nodes, strict=True):
            theta = torch.as_tensor(float(node.v_threshold.flat[0]))
            v_init = float(_meta(node, "v_init", 0.0))
            state[name] = (torch.zeros(batch, *node.v_threshold.shape) + v_init * theta,)
        return state

    @torch.no_grad()
    def __call__(self, x: Tensor) -> Tensor:
        recorded: list[list[Tensor]] = [[] for _ in self.neurons]
        hooks = [m.register_forward_hook(lambda _m, _i, out, i=i: recorded[i].append(out[0]))
                 for i, m in enumerate(self.neurons)]
        try:
            state, outs = self.initial_state(x.shape[1]), []
            for t in range(x.shape[0]):
                out, state = self.module(x[t], state)
                outs.append(out)
        finally:
            for h in hooks:
                h.remove()
        self.spikes = [torch.stack(r) for r in recorded]
        return torch.stack(outs)


def _meta(node: nir.NIRNode, key: str, default: object) -> object:
    value = node.metadata.get(key, default)
    return value.decode() if isinstance(value, bytes) else value


def to_spikingjelly(model: nn.Module | nir.NIRGraph, input_shape: Sequence[int] | None = None,
                    as_lab: bool = False) -> SpikingJellyRunner:
    """SpikingJelly's import of `model` (exported with `export_nir`, convention
    'spikingjelly') or of a NIR graph, runnable over `[T, B, ...]`."""
    if isinstance(model, nir.NIRGraph):
        return SpikingJellyRunner(model, as_lab)
    if input_shape is None:
        raise ValueError("input_shape (one sample at one step, e.g. (1, 8, 8)) is needed to "
                         "export a module")
    return SpikingJellyRunner(export_nir(model, input_shape, convention="spikingjelly"), as_lab)
