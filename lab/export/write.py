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
from ..core.results import ResultsStore
from ..version import __version__
from .errors import DT, SKIPPED, ExportError


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
    from ..streaming.graph import Graph
    from ..streaming.snn import StreamingSNN
    from ..ttl_bptt import LocalNet

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
    from ..weights import load_model, manifest

    shape = manifest(run_id, store)["architecture"]["input_shape"]
    try:
        graph = export_nir(load_model(run_id, store), shape)
    except ExportError as err:
        raise ExportError(f"run {run_id}: {err}") from err
    nir.write(path, graph)
    return path


