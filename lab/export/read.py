"""A NIR graph (or file) → the lab's spiking network, spike for spike (`import_nir`)."""

from __future__ import annotations

import os

import nir
import numpy as np
import torch
from torch import Tensor, nn

from ..core.models import TimeDistributed
from ..core.neurons import SpikingNeuron
from .errors import DT, ExportError


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


