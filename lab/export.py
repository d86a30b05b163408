"""The lab's spiking networks as NIR graphs, and back: into the lab and into snnTorch.

NIR (the Neuromorphic Intermediate Representation, package `nir` 1.0.8) states neurons in
continuous time; the lab's neuron is one discrete step (METHODS.md §0):

    v[t] = β·v[t-1] + I[t];   s[t] = H(v[t] − θ), H(0) = 1;   v[t] ← v[t] − θ·s[t]

`export_nir` writes it with this discretisation, the one snnTorch's importer reads back:

    IF  (β = 1)  nir.IF(r = 1, v_threshold = θ, v_reset = 0). dv/dt = R·I, with a step's input
                 the charge it delivers: one step adds r·I[t] = I[t].
    LIF (β < 1)  nir.LIF(τ = dt/(1 − β), r = τ/dt, v_leak = 0, v_threshold = θ, v_reset = 0).
                 Forward Euler of τ·dv/dt = (v_leak − v) + R·I over one step dt gives
                 v[t] = (1 − dt/τ)·v[t-1] + (dt·R/τ)·I[t] = β·v[t-1] + I[t]; dt = 1e-4 s
                 (snnTorch's), kept in the graph's metadata. τ and r are float64, so 1 − dt/τ
                 rounds to the same float32 β.

What NIR 1.0.8 cannot say goes into each neuron node's metadata; the lab's `import_nir` honours
it, other importers ignore it (snnTorch: see `SnnTorchRunner`):

    reset         'subtract' or 'zero'. NIR's IF and LIF reset to v_reset (here 0); NIR has no
                  reset by subtraction.
    v_init        v[0] in units of θ. NIR nodes have no initial state; elsewhere v[0] = 0.
    scale_output  the neuron emits θ·s (converted networks). θ is folded into the next weight
                  layer, W' = θ·W, stored in float64, where the product of two float32 numbers
                  is exact: the lab's import divides it out exactly (W = W'/θ) and simulates the
                  same float32 arithmetic as the original, spike for spike.

Refused, naming the layer: a neuron with a floor (v_min), a scaled neuron with per-neuron θ or
no weight layer after it, and any layer but Linear, Conv2d, AvgPool2d, Flatten, Dropout,
Identity and SpikingNeuron (a ReLU or QCFS ANN, MaxPool). The streaming SNN is refused as a
whole: every synapse delays spikes by K steps, its input edges hold a frame for K steps and its
neurons floor v at v_min·θ — no NIR 1.0.8 node floors a potential.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
from collections.abc import Sequence
from typing import BinaryIO

import nir
import numpy as np
import torch
from torch import Tensor, nn

from . import __version__
from .core.models import TimeDistributed, spiking_layers
from .core.neurons import SpikingNeuron
from .core.results import ResultsStore

DT = 1e-4  # s per step for nir.LIF: snnTorch's, so its importer reads β back
SKIPPED = (nn.Dropout, nn.Identity)  # no-ops at inference


class ExportError(ValueError):
    """A network, layer or node that the other side cannot express; the message names it."""


# --- the lab → NIR -------------------------------------------------------------------------------

def export_nir(model: nn.Module, input_shape: Sequence[int], dt: float = DT) -> nir.NIRGraph:
    """The NIR graph of a spiking `model` over `[T, B, *input_shape]` (see the module's text).

    `model` is an `nn.Sequential` of `TimeDistributed` layers and `SpikingNeuron`s (converted
    SNNs, BPTT networks, noise training's multi-step network) or a TTL-BPTT `LocalNet` (its
    blocks in order; the local heads are training aids and are left out). Nodes are named after
    their position, e.g. `affine1`, `if2`.

    Example:
        >>> from lab.core.models import mlp, to_spiking
        >>> snn = to_spiking(mlp(4, (3,), 2), lambda _: SpikingNeuron(beta=0.9))
        >>> list(export_nir(snn, (4,)).nodes)
        ['input', 'flatten0', 'affine1', 'lif2', 'affine3', 'output']
    """
    shape = tuple(int(n) for n in input_shape)
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array(shape))}
    edges: list[tuple[str, str]] = []
    last, scale, scaled_by = "input", None, ""
    for i, (name, layer) in enumerate(_layers(model)):
        if isinstance(layer, SKIPPED):
            continue
        if isinstance(layer, SpikingNeuron):
            if scale is not None:
                raise ExportError(f"layer {scaled_by} emits θ·s straight into layer {name}: NIR "
                                  "can fold θ only into a weight layer")
            kind, node = ("if" if layer.beta == 1.0 else "lif"), _neuron(name, layer, shape, dt)
            if layer.scale_output:
                scale, scaled_by = _scalar_threshold(name, layer), name
        elif isinstance(layer, nn.Linear):
            kind, node = "affine", _affine(layer, scale)
            scale = None
        elif isinstance(layer, nn.Conv2d):
            kind, node = "conv", _conv(name, layer, shape, scale)
            scale = None
        elif isinstance(layer, nn.AvgPool2d):
            kind, node = "avgpool", _avgpool(name, layer)
        elif isinstance(layer, nn.Flatten):
            kind, node = "flatten", _flatten(name, layer, shape)
        else:
            raise ExportError(f"layer {name} ({type(layer).__name__}) cannot be expressed in NIR: "
                              "supported are Linear, Conv2d, AvgPool2d, Flatten and "
                              "SpikingNeuron (a spiking network, not its ANN)")
        if not isinstance(layer, SpikingNeuron):
            with torch.no_grad():
                shape = tuple(layer(torch.zeros(1, *shape)).shape[1:])
        nodes[f"{kind}{i}"] = node
        edges.append((last, f"{kind}{i}"))
        last = f"{kind}{i}"
    if scale is not None:
        raise ExportError(f"layer {scaled_by} emits θ·s, but no weight layer follows to fold θ "
                          "into")
    nodes["output"] = nir.Output(output_type=np.array(shape))
    edges.append((last, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={"dt": dt, "source": f"spike-lab {__version__}"})


def _layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, layer) in order, `TimeDistributed` unwrapped; a LocalNet's blocks in order."""
    from .streaming.graph import Graph
    from .streaming.snn import StreamingSNN
    from .ttl_bptt import LocalNet

    if isinstance(model, (StreamingSNN, Graph)):
        raise ExportError(f"{type(model).__name__} (the streaming network) cannot be exported "
                          "to NIR: every synapse delays spikes by K steps, its input edges hold "
                          "a frame for K steps and its neurons floor v at v_min·θ, and no NIR "
                          "1.0.8 node floors a potential")
    if isinstance(model, LocalNet):
        named = [(f"blocks.{b}.{n}", m) for b, block in enumerate(model.blocks)
                 for n, m in block.named_children()]
    elif isinstance(model, nn.Sequential):
        named = list(model.named_children())
    else:
        raise ExportError(f"{type(model).__name__} cannot be exported to NIR: export an "
                          "nn.Sequential of TimeDistributed layers and SpikingNeurons or a "
                          "LocalNet")
    return [(n, m.layer if isinstance(m, TimeDistributed) else m) for n, m in named]


def _neuron(name: str, layer: SpikingNeuron, shape: tuple[int, ...], dt: float) -> nir.NIRNode:
    if layer.v_min > -math.inf:
        raise ExportError(f"layer {name} (SpikingNeuron with floor v_min = {layer.v_min}·θ) "
                          "cannot be expressed in NIR: no NIR 1.0.8 node floors a potential")
    try:
        theta = np.broadcast_to(layer.threshold.detach().cpu().numpy(), shape).astype(np.float32)
    except ValueError as err:
        raise ExportError(f"layer {name}: threshold of shape {list(layer.threshold.shape)} "
                          f"does not fit the layer's shape {list(shape)}") from err
    meta = {"reset": layer.reset, "v_init": float(layer.v_init),
            "scale_output": bool(layer.scale_output)}
    zeros = np.zeros(shape, np.float32)
    if layer.beta == 1.0:
        return nir.IF(r=np.ones(shape, np.float32), v_threshold=theta, v_reset=zeros,
                      metadata=meta)
    tau = np.full(shape, dt / (1.0 - layer.beta))
    return nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(shape), v_threshold=theta,
                   v_reset=zeros, metadata=meta)


def _scalar_threshold(name: str, layer: SpikingNeuron) -> float:
    if layer.threshold.numel() != 1:
        raise ExportError(f"layer {name} emits θ·s with one θ per neuron: NIR cannot fold "
                          "per-neuron θ through the layers that follow")
    return float(layer.threshold)


def _weight(layer: nn.Module, scale: float | None) -> np.ndarray:
    """W, or θ·W in float64 (exact) when the layer reads a scaled neuron."""
    w = layer.weight.detach().cpu().numpy()
    return w if scale is None else w.astype(np.float64) * scale


def _affine(layer: nn.Linear, scale: float | None) -> nir.NIRNode:
    if layer.bias is None:
        return nir.Linear(weight=_weight(layer, scale))
    return nir.Affine(weight=_weight(layer, scale), bias=layer.bias.detach().cpu().numpy())


def _conv(name: str, layer: nn.Conv2d, shape: tuple[int, ...], scale: float | None
          ) -> nir.Conv2d:
    if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
        raise ExportError(f"layer {name} (Conv2d): only numeric zero padding is exported")
    bias = (layer.bias.detach().cpu().numpy() if layer.bias is not None
            else np.zeros(layer.out_channels, np.float32))
    return nir.Conv2d(input_shape=shape[1:], weight=_weight(layer, scale), stride=layer.stride,
                      padding=layer.padding, dilation=layer.dilation, groups=layer.groups,
                      bias=bias)


def _avgpool(name: str, layer: nn.AvgPool2d) -> nir.AvgPool2d:
    if layer.ceil_mode or layer.divisor_override is not None:
        raise ExportError(f"layer {name} (AvgPool2d): ceil_mode and divisor_override have no "
                          "NIR counterpart")

    def pair(x: int | Sequence[int]) -> np.ndarray:
        return np.array([x, x] if isinstance(x, int) else list(x))

    return nir.AvgPool2d(kernel_size=pair(layer.kernel_size),
                         stride=pair(layer.stride or layer.kernel_size),
                         padding=pair(layer.padding))


def _flatten(name: str, layer: nn.Flatten, shape: tuple[int, ...]) -> nir.Flatten:
    # torch counts the batch axis, NIR does not: its dims are one lower (negative ones agree)
    if layer.start_dim == 0:
        raise ExportError(f"layer {name} (Flatten from dim 0) flattens the batch")
    start, end = (d - 1 if d > 0 else d for d in (layer.start_dim, layer.end_dim))
    return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=start, end_dim=end)


Target = str | os.PathLike | BinaryIO


def export_run(run_id: int, path: Target, store: ResultsStore | str | os.PathLike | None = None
               ) -> Target:
    """Run `run_id`'s trained SNN (`lab.load_model`) written to `path` as a NIR file (HDF5);
    returns `path`. WeightsError or ExportError, naming the run, and nothing written."""
    from .weights import load_model, manifest

    shape = manifest(run_id, store)["architecture"]["input_shape"]
    try:
        graph = export_nir(load_model(run_id, store), shape)
    except ExportError as err:
        raise ExportError(f"run {run_id}: {err}") from err
    nir.write(path, graph)
    return path


# --- NIR → the lab ---------------------------------------------------------------------------

def import_nir(graph: nir.NIRGraph | str | os.PathLike) -> nn.Sequential:
    """The lab's spiking network of a NIR graph (or file): runs over `[T, B, ...]`.

    The graph must be a chain (Input → ... → Output) of Affine, Linear, Conv2d, AvgPool2d,
    Flatten, IF and LIF nodes, with the discretisation of `export_nir`. Without the lab's
    metadata a neuron resets to zero (NIR's v_reset = 0), starts from v[0] = 0 and emits s.
    """
    if isinstance(graph, (str, os.PathLike)):
        graph = nir.read(graph)
    dt = float(graph.metadata.get("dt", DT))
    layers: list[nn.Module] = []
    scale = None  # θ of the last scaled neuron, folded into the next weight layer
    for key in chain(graph):
        node = graph.nodes[key]
        if isinstance(node, (nir.Input, nir.Output)):
            continue
        if isinstance(node, (nir.IF, nir.LIF)):
            neuron = _lab_neuron(key, node, dt)
            scale = float(neuron.threshold) if neuron.scale_output else None
            layers.append(neuron)
            continue
        if isinstance(node, (nir.Affine, nir.Linear)):
            weight = _unfold(node.weight, scale)
            layer = nn.Linear(weight.shape[1], weight.shape[0], bias=isinstance(node, nir.Affine))
            scale = None
        elif isinstance(node, nir.Conv2d):
            weight = _unfold(node.weight, scale)
            layer = nn.Conv2d(weight.shape[1] * int(node.groups), weight.shape[0],
                              tuple(weight.shape[2:]), stride=_ints(node.stride),
                              padding=_ints(node.padding), dilation=_ints(node.dilation),
                              groups=int(node.groups))
            scale = None
        elif isinstance(node, nir.AvgPool2d):
            layer = nn.AvgPool2d(_ints(node.kernel_size), _ints(node.stride),
                                 _ints(node.padding))
        elif isinstance(node, nir.Flatten):
            start, end = (int(d) + 1 if int(d) >= 0 else int(d)
                          for d in (node.start_dim, node.end_dim))
            layer = nn.Flatten(start, end)
        else:
            raise ExportError(f"node {key} ({type(node).__name__}) has no lab layer: the lab "
                              "imports Affine, Linear, Conv2d, AvgPool2d, Flatten, IF and LIF")
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            with torch.no_grad():
                layer.weight.copy_(weight)
                if layer.bias is not None:
                    layer.bias.copy_(torch.from_numpy(np.asarray(node.bias, np.float32)))
        layers.append(TimeDistributed(layer))
    return nn.Sequential(*layers).eval()


def chain(graph: nir.NIRGraph) -> list[str]:
    """The node names from the Input to the Output; ExportError unless the graph is a chain."""
    inputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise ExportError(f"the graph must have one Input node, it has {inputs}")
    order = inputs
    while True:
        after = [b for a, b in graph.edges if a == order[-1]]
        if not after:
            return order
        before = [a for a, b in graph.edges if b == after[0]]
        if len(after) > 1 or len(before) > 1 or after[0] in order:
            raise ExportError(f"node {order[-1]} → {after}: the lab imports chains only")
        order.append(after[0])


def _lab_neuron(key: str, node: nir.IF | nir.LIF, dt: float) -> SpikingNeuron:
    meta = {k: v.decode() if isinstance(v, bytes) else v for k, v in node.metadata.items()}
    if np.any(np.asarray(node.v_reset) != 0):
        raise ExportError(f"node {key}: v_reset ≠ 0 has no lab neuron")
    theta = np.asarray(node.v_threshold, np.float32)
    threshold = (torch.tensor(theta.flat[0]) if np.all(theta == theta.flat[0])
                 else torch.from_numpy(theta.copy()))
    if isinstance(node, nir.IF):
        if np.any(np.asarray(node.r) != 1):
            raise ExportError(f"node {key} (IF): r ≠ 1; the lab's IF adds its input unscaled")
        beta = 1.0
    else:
        tau, r = np.asarray(node.tau, np.float64), np.asarray(node.r, np.float64)
        if np.any(np.asarray(node.v_leak) != 0) or np.any(tau != tau.flat[0]):
            raise ExportError(f"node {key} (LIF): the lab's LIF needs v_leak = 0 and one τ")
        beta, gain = 1.0 - dt / float(tau.flat[0]), r * dt / tau
        if not np.allclose(gain, 1.0, rtol=1e-6):
            raise ExportError(f"node {key} (LIF): input gain r·dt/τ = {gain.flat[0]:.6g} ≠ 1 "
                              f"at dt = {dt}; the lab's LIF adds its input unscaled")
    return SpikingNeuron(threshold, beta=beta, v_init=float(meta.get("v_init", 0.0)),
                         reset=str(meta.get("reset", "zero")),
                         scale_output=bool(meta.get("scale_output", False)))


def _unfold(weight: np.ndarray, scale: float | None) -> Tensor:
    """W from the stored weight: W'/θ in float64 after a scaled neuron (exact for θ·W)."""
    w = np.asarray(weight, np.float64)
    return torch.from_numpy((w if scale is None else w / scale).astype(np.float32))


def _ints(x: object) -> tuple[int, ...]:
    return tuple(int(v) for v in np.atleast_1d(np.asarray(x)))


# --- NIR → snnTorch ------------------------------------------------------------------------------

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
