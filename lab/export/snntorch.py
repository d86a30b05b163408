"""A NIR graph → snnTorch's own import (`SnnTorchRunner`, `to_snntorch`)."""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence

import nir
import torch
from torch import Tensor, nn

from .read import node_order
from .runner import NEURON_NODES, Runner, module_name, restate_if_gain
from .write import export_nir


class SnnTorchRunner(Runner):
    """snnTorch's own import of a NIR graph (`snntorch.import_from_nir`), run over `[T, B, ...]`.

    What calling the import needs (snnTorch 1.0.0, nirtorch 2.6), done here and listed in
    `adaptations`: it asserts IF r == 1, so a file written with r = 1/dt (the 'lab' and
    'spikingjelly' conventions) is read with r = 1, the same neuron; its IF neurons return
    (spikes, v) tuples (`init_hidden=False`) that the next layer cannot take, so they keep v
    inside instead; nirtorch maps NIR's Flatten dims to torch's, which count the batch, so they
    are shifted by one; the import prints, silenced.

    How snnTorch reads the graph, left as it is unless `as_lab`: nir.IF becomes
    `Leaky(beta=0.9)` (hard-coded in snnTorch 1.0.0's `import_nir`; fixed upstream in 2026-09),
    nir.LIF resets to zero (NIR's v_reset), v[0] is 0, and the lab's metadata is ignored.
    `as_lab=True` sets β = 1 for IF nodes, the metadata's reset and v[0] = v_init·θ, leaving
    what no parameter changes: snnTorch fires on v > θ (the lab on v ≥ θ) and decides its reset
    from the previous step's potential (while v is still ≥ θ after a reset it subtracts θ
    before testing v, so a potential that needs two spikes in a row fires one), and its weights
    carry θ folded in float32.
    """

    simulator = "snnTorch"

    def __init__(self, graph: nir.NIRGraph, as_lab: bool = False) -> None:
        from snntorch import Leaky
        from snntorch.import_nir import import_from_nir

        super().__init__(graph, as_lab)
        graph = copy.deepcopy(graph)
        if restate_if_gain(graph, 1.0):
            self.adaptations.append("IF r = 1/dt read as r = 1: snnTorch asserts r == 1 (its "
                                    "dt is fixed), the same neuron")
        with contextlib.redirect_stdout(io.StringIO()):
            self.module = import_from_nir(graph)
        flattens = [m for m in self.module.modules() if isinstance(m, nn.Flatten)]
        for m in flattens:
            m.start_dim, m.end_dim = (d + 1 if d >= 0 else d for d in (m.start_dim, m.end_dim))
        for m in self.module.modules():
            if isinstance(m, Leaky):
                m.init_hidden = True
        self.adaptations.append("its neurons keep v inside (init_hidden), so the next layer "
                                "gets spikes, not (spikes, v)")
        if flattens:
            self.adaptations.append("Flatten dims shifted by one: nirtorch hands NIR's (no "
                                    "batch axis) to torch (batch axis)")
        names = dict(self.module.named_modules())
        keys = [k for k in node_order(graph) if isinstance(graph.nodes[k], NEURON_NODES)]
        self.neurons = [names[module_name(k)] for k in keys]
        self.nodes = [graph.nodes[k] for k in keys]
        if as_lab:
            for m, node in zip(self.neurons, self.nodes, strict=True):
                _as_lab(m, node)

    @torch.no_grad()
    def __call__(self, x: Tensor) -> Tensor:
        recorded: list[list[Tensor]] = [[] for _ in self.neurons]
        hooks = [m.register_forward_hook(lambda _m, _i, out, i=i: recorded[i].append(out))
                 for i, m in enumerate(self.neurons)]
        try:
            for m, node in zip(self.neurons, self.nodes, strict=True):
                m.reset_mem()
                if self.as_lab:  # v[0] = v_init·θ, computed as `neurons.initial_state` does
                    v_init = float(node.metadata.get("v_init", 0.0))
                    m.mem = torch.zeros(x.shape[1], *node.v_threshold.shape) + v_init * m.threshold
            out = torch.stack([self.module(x[t])[0] for t in range(x.shape[0])])
        finally:
            for h in hooks:
                h.remove()
        self.spikes = [torch.stack(r) for r in recorded]
        return out


def _as_lab(neuron: nn.Module, node: nir.IF | nir.LIF) -> None:
    """Give snnTorch's neuron the lab's β (IF) and reset (metadata, NIR's 'zero' without)."""
    if isinstance(node, nir.IF):
        neuron.beta.fill_(1.0)
    reset = node.metadata.get("reset", "zero")
    reset = reset.decode() if isinstance(reset, bytes) else str(reset)
    neuron.reset_mechanism_val.fill_(0 if reset == "subtract" else 1)
    neuron.state_function = neuron._base_sub if reset == "subtract" else neuron._base_zero


def to_snntorch(model: nn.Module | nir.NIRGraph, input_shape: Sequence[int] | None = None,
                as_lab: bool = False) -> SnnTorchRunner:
    """snnTorch's import of `model` (exported with `export_nir`, convention 'snntorch') or of a
    NIR graph, runnable over `[T, B, ...]`: `to_snntorch(snn, (1, 8, 8))(x)` → `[T, B, C]`."""
    if isinstance(model, nir.NIRGraph):
        return SnnTorchRunner(model, as_lab)
    if input_shape is None:
        raise ValueError("input_shape (one sample at one step, e.g. (1, 8, 8)) is needed to "
                         "export a module")
    return SnnTorchRunner(export_nir(model, input_shape, convention="snntorch"), as_lab)
