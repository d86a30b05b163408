"""The lab's spiking networks → a NIR graph (`export_nir`) or a NIR file of a stored run."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import BinaryIO

import nir
import numpy as np
import torch
from torch import nn

from ..core.models import TimeDistributed
from ..core.neurons import SpikingNeuron
from ..core.resnet import ResidualBlock
from ..core.results import ResultsStore
from ..version import __version__
from . import files
from .errors import DT, IF_R, SKIPPED, Convention, ExportError, check_convention


def export_nir(model: nn.Module, input_shape: Sequence[int], dt: float = DT,
               convention: Convention = "lab") -> nir.NIRGraph:
    """The NIR graph of a spiking `model` over `[T, B, *input_shape]` (see the package's text).

    `model` is an `nn.Sequential` of `TimeDistributed` layers, `SpikingNeuron`s and
    `ResidualBlock`s (converted SNNs, ResNets included, BPTT networks, noise training's
    multi-step network) or a TTL-BPTT `LocalNet` (its blocks in order; the local heads are
    training aids and are left out). `convention` picks how IF neurons state their input gain
    for the simulator that will read the file: 'lab' and 'spikingjelly' write r = 1/dt (forward
    Euler at dt, NIR's own terms), 'snntorch' r = 1 (its importer's requirement); the graph's
    metadata names it. Nodes are named after their position, e.g. `affine1`, `if2`; a residual
    block's after the block, e.g. `block4_branch_conv0`, `block4_if` (the neuron that receives
    both edges: NIR sums a node's inputs, so the addition is that node's two edges).

    Example:
        >>> from lab.core.models import mlp, to_spiking
        >>> snn = to_spiking(mlp(4, (3,), 2), lambda _: SpikingNeuron(beta=0.9))
        >>> list(export_nir(snn, (4,)).nodes)
        ['input', 'flatten0', 'affine1', 'lif2', 'affine3', 'output']
    """
    convention = check_convention(convention)
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number of seconds > 0, got {dt!r}")
    shape = tuple(int(n) for n in input_shape)
    writer = _Writer(float(dt), convention, shape)
    last, shape, scale = writer.path(_layers(model), "", "input", shape, None)
    if scale is not None:
        raise ExportError(f"layer {scale[1]} emits θ·s, but no weight layer follows to fold θ "
                          "into")
    writer.nodes["output"] = nir.Output(output_type=np.array(shape))
    writer.edges.append((last, "output"))
    return nir.NIRGraph(nodes=writer.nodes, edges=writer.edges,
                        metadata={"dt": dt, "source": f"spike-lab {__version__}",
                                  "convention": convention, "if_r": IF_R[convention]})


Scale = tuple[float, str] | None  # θ of a scaled neuron not yet folded, and the neuron's name


class _Writer:
    """Nodes and edges, written path by path; a residual block writes two paths and a join."""

    def __init__(self, dt: float, convention: Convention, shape: tuple[int, ...]) -> None:
        self.dt, self.convention = dt, convention
        self.nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array(shape))}
        self.edges: list[tuple[str, str]] = []

    def path(self, layers: list[tuple[str, nn.Module]], prefix: str, last: str,
             shape: tuple[int, ...], scale: Scale) -> tuple[str, tuple[int, ...], Scale]:
        """Write `layers` after node `last`; returns the last node, its shape and the scale of
        a scaled neuron still to fold into the next weight layer."""
        for i, (name, layer) in enumerate(layers):
            if isinstance(layer, SKIPPED):
                continue
            if isinstance(layer, ResidualBlock):
                last, shape, scale = self.block(name, layer, f"{prefix}block{i}", last, shape,
                                                scale)
                continue
            kind, node, shape, scale = self.node(name, layer, shape, scale)
            key = f"{prefix}{kind}{i}"
            self.nodes[key] = node
            self.edges.append((last, key))
            last = key
        return last, shape, scale

    def node(self, name: str, layer: nn.Module, shape: tuple[int, ...], scale: Scale
             ) -> tuple[str, nir.NIRNode, tuple[int, ...], Scale]:
        """(kind, node, output shape, scale) of one layer."""
        if isinstance(layer, SpikingNeuron):
            if scale is not None:
                raise ExportError(f"layer {scale[1]} emits θ·s straight into layer {name}: NIR "
                                  "can fold θ only into a weight layer")
            kind = "if" if layer.beta == 1.0 else "lif"
            node = _neuron(name, layer, shape, self.dt, self.convention)
            scale = (_scalar_threshold(name, layer), name) if layer.scale_output else None
            return kind, node, shape, scale
        theta = scale[0] if scale is not None else None
        if isinstance(layer, nn.Linear):
            kind, node, scale = "affine", _affine(layer, theta), None
        elif isinstance(layer, nn.Conv2d):
            kind, node, scale = "conv", _conv(name, layer, shape, theta), None
        elif isinstance(layer, nn.AvgPool2d):
            kind, node = "avgpool", _avgpool(name, layer)
        elif isinstance(layer, nn.Flatten):
            kind, node = "flatten", _flatten(name, layer, shape)
        else:
            raise ExportError(f"layer {name} ({type(layer).__name__}) cannot be expressed in NIR: "
                              "supported are Linear, Conv2d, AvgPool2d, Flatten, SpikingNeuron "
                              "and ResidualBlock; export a spiking network, not its ANN (e.g. "
                              "lab.conversion.convert(ann))")
        with torch.no_grad():
            shape = tuple(layer(torch.zeros(1, *shape)).shape[1:])
        return kind, node, shape, scale

    def block(self, name: str, block: ResidualBlock, prefix: str, last: str,
              shape: tuple[int, ...], scale: Scale) -> tuple[str, tuple[int, ...], Scale]:
        """y = activation(branch(x) + shortcut(x)): both paths end in edges into the activation
        neuron. An identity shortcut after a scaled neuron (x = θ·s) is a node of its own, the
        weight θ·I (a 1×1 convolution or a Linear), since NIR can fold θ only into weights."""
        if not isinstance(block.activation, SpikingNeuron):
            raise ExportError(f"layer {name} (ResidualBlock of an ANN, activation "
                              f"{type(block.activation).__name__}) cannot be expressed in NIR: "
                              "export its spiking network (lab.conversion.convert(ann))")
        ends = []
        for part in ("branch", "shortcut"):
            layers = _unwrap(f"{name}.{part}", getattr(block, part))
            end, out_shape, end_scale = self.path(layers, f"{prefix}_{part}_", last, shape, scale)
            if end == last and scale is not None:  # identity shortcut carrying θ·s
                end, out_shape = self.identity(f"{prefix}_{part}_identity", last, shape, scale)
            elif end_scale is not None:
                raise ExportError(f"layer {end_scale[1]} emits θ·s straight into the addition "
                                  f"of {name}: NIR can fold θ only into a weight layer")
            ends.append((end, out_shape))
        (b_end, b_shape), (s_end, s_shape) = ends
        if b_end == s_end:
            raise ExportError(f"layer {name}: branch and shortcut are both the identity")
        if b_shape != s_shape:
            raise ExportError(f"layer {name}: branch {list(b_shape)} and shortcut "
                              f"{list(s_shape)} differ in shape")
        kind, node, shape, scale = self.node(f"{name}.activation", block.activation, b_shape,
                                             None)
        key = f"{prefix}_{kind}"
        self.nodes[key] = node
        self.edges += [(b_end, key), (s_end, key)]
        return key, shape, scale

    def identity(self, key: str, last: str, shape: tuple[int, ...], scale: tuple[float, str]
                 ) -> tuple[str, tuple[int, ...]]:
        """The weight θ·I after node `last`: the identity map of x = θ·s in NIR's terms."""
        eye = np.eye(shape[0]) * scale[0]  # float64: θ·1 and θ·0 are exact
        if len(shape) == 3:
            node = nir.Conv2d(input_shape=shape[1:], weight=eye[:, :, None, None], stride=1,
                              padding=0, dilation=1, groups=1, bias=np.zeros(shape[0]))
        elif len(shape) == 1:
            node = nir.Linear(weight=eye)
        else:
            raise ExportError(f"layer {scale[1]}: an identity shortcut of shape {list(shape)} "
                              "has no NIR weight to fold θ into")
        self.nodes[key] = node
        self.edges.append((last, key))
        return key, shape


def _layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, layer) in order, `TimeDistributed` unwrapped; a LocalNet's blocks in order."""
    from ..streaming.graph import Graph
    from ..streaming.snn import StreamingSNN
    from ..ttl_bptt import LocalNet

    if isinstance(model, (StreamingSNN, Graph)):
        raise ExportError(f"{type(model).__name__} (the streaming network) cannot be exported "
                          "to NIR: every synapse delays spikes by K steps, its input edges hold "
                          "a frame for K steps and its neurons floor v at v_min·θ, and no NIR "
                          "1.0.8 node floors a potential")
    if isinstance(model, LocalNet):
        return [(f"blocks.{b}.{n}", m.layer if isinstance(m, TimeDistributed) else m)
                for b, block in enumerate(model.blocks) for n, m in block.named_children()]
    if isinstance(model, nn.Sequential):
        return _unwrap("", model)
    raise ExportError(f"{type(model).__name__} cannot be exported to NIR: export an "
                      "nn.Sequential of TimeDistributed layers, SpikingNeurons and "
                      "ResidualBlocks, or a LocalNet")


def _unwrap(prefix: str, sequence: nn.Sequential) -> list[tuple[str, nn.Module]]:
    dot = f"{prefix}." if prefix else ""
    return [(f"{dot}{n}", m.layer if isinstance(m, TimeDistributed) else m)
            for n, m in sequence.named_children()]


def _neuron(name: str, layer: SpikingNeuron, shape: tuple[int, ...], dt: float,
            convention: Convention) -> nir.NIRNode:
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
        r = np.full(shape, 1.0 if IF_R[convention] == "1" else 1.0 / dt)  # float64: r·dt = 1
        return nir.IF(r=r, v_threshold=theta, v_reset=zeros, metadata=meta)
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


def export_run(run_id: int, path: Target, store: ResultsStore | str | os.PathLike | None = None,
               convention: Convention = "lab", force: bool = False) -> Target:
    """Run `run_id`'s trained SNN (`lab.load_model`) written to `path` as a NIR file (HDF5) in
    `convention` (see `export_nir`); returns `path`. WeightsError or ExportError, naming the
    run, and nothing written. An existing file is overwritten only with `force`, the results
    store and its weights never (`files.check_target`); the store is only read."""
    from ..weights import load_model, manifest

    if not isinstance(store, ResultsStore):
        store = ResultsStore(store, readonly=True)
    files.check_target(path, store, force)  # before the model is built
    shape = manifest(run_id, store)["architecture"]["input_shape"]
    try:
        graph = export_nir(load_model(run_id, store), shape, convention=convention)
    except ExportError as err:
        raise ExportError(f"run {run_id}: {err}") from err
    files.write(path, graph, store, force)
    return path


