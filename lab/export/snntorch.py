"""A NIR graph → snnTorch's own import, and comparing two spike records."""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence

import nir
import torch
from torch import Tensor, nn

from ..core.models import spiking_layers
from .read import chain
from .write import export_nir


class SnnTorchRunner:
    """snnTorch's own import of a NIR graph (`snntorch.import_from_nir`), run over `[T, B, ...]`.

    `runner(x)` → output `[T, B, C]`; afterwards `spikes` holds each neuron node's spikes
    `[T, B, ...]`, in the graph's order. What calling the import needs (snnTorch 1.0.0, nirtorch
    2.6), done here: its IF neurons return (spikes, v) tuples (`init_hidden=False`) that the
    next layer cannot take, so they keep v inside instead; nirtorch maps NIR's Flatten dims to
    torch's, which count the batch, so they are shifted by one; the import prints, silenced.

    How snnTorch reads the graph, left as it is unless `as_lab`: nir.IF becomes
    `Leaky(beta=0.9)` (hard-coded in `import_nir`), nir.LIF resets to zero (NIR's v_reset), v[0]
    is 0, and the lab's metadata is ignored. `as_lab=True` sets β = 1 for IF nodes, the
    metadata's reset and v[0] = v_init·θ, leaving what no parameter changes: snnTorch fires on
    v > θ (the lab on v ≥ θ) and decides its reset from the previous step's potential (while v
    is still ≥ θ after a reset it subtracts θ before testing v, so a potential that needs two
    spikes in a row fires one), and its weights carry θ folded in float32.
    """

    def __init__(self, graph: nir.NIRGraph, as_lab: bool = False) -> None:
        from snntorch import Leaky
        from snntorch.import_nir import import_from_nir

        with contextlib.redirect_stdout(io.StringIO()):
            self.module = import_from_nir(copy.deepcopy(graph))
        for m in self.module.modules():
            if isinstance(m, Leaky):
                m.init_hidden = True
            elif isinstance(m, nn.Flatten):
                m.start_dim, m.end_dim = (d + 1 if d >= 0 else d for d in (m.start_dim,
                                                                          m.end_dim))
        names = dict(self.module.named_children())
        keys = [k for k in chain(graph) if isinstance(names.get(k), Leaky)]
        self.neurons = [names[k] for k in keys]
        self.nodes = [graph.nodes[k] for k in keys]
        self.as_lab = as_lab
        if as_lab:
            for m, node in zip(self.neurons, self.nodes, strict=True):
                _as_lab(m, node)
        self.spikes: list[Tensor] = []

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
    """snnTorch's import of `model` (exported with `export_nir`) or of a NIR graph, runnable
    over `[T, B, ...]`: `to_snntorch(snn, (1, 8, 8))(x)` → output `[T, B, C]`."""
    if isinstance(model, nir.NIRGraph):
        return SnnTorchRunner(model, as_lab)
    if input_shape is None:
        raise ValueError("input_shape (one sample at one step, e.g. (1, 8, 8)) is needed to "
                         "export a module")
    return SnnTorchRunner(export_nir(model, input_shape), as_lab)


# --- comparing spikes ----------------------------------------------------------------------------

@torch.no_grad()
def run_spikes(net: nn.Module | SnnTorchRunner, x: Tensor) -> tuple[Tensor, list[Tensor]]:
    """(output `[T, B, C]`, the spikes s ∈ {0, 1} of every neuron layer `[T, B, ...]`)."""
    if isinstance(net, SnnTorchRunner):
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
