"""A NIR graph (or file) → the lab's spiking network, spike for spike (`import_nir`)."""

from __future__ import annotations

import os

import nir
import numpy as np
import torch
from torch import Tensor, nn

from ..core.models import TimeDistributed
from ..core.neurons import SpikingNeuron
from ..core.resnet import ResidualBlock
from .checks import check_graph, read_nir
from .errors import DT, ExportError

NEURONS = (nir.IF, nir.LIF)


def import_nir(graph: nir.NIRGraph | str | os.PathLike) -> nn.Sequential:
    """The lab's spiking network of a NIR graph (or file): runs over `[T, B, ...]`.

    The graph is a chain (Input → ... → Output) of Affine, Linear, Conv2d, AvgPool2d, Flatten,
    IF and LIF nodes, where a node may fork into two paths that meet again in a neuron node
    (NIR sums a node's inputs): a `ResidualBlock`, the path with a neuron its branch, the other
    its shortcut (a weight θ·I after a scaled neuron, or no node, is the identity). IF neurons
    may state their input gain either way in use: r = 1 (snnTorch's) or r = 1/dt (forward Euler
    at the graph's dt, SpikingJelly's); both add the step's input unscaled. Without the lab's
    metadata a neuron resets to zero (NIR's v_reset = 0), starts from v[0] = 0 and emits s.
    """
    source = "the graph"
    if isinstance(graph, (str, os.PathLike)):
        graph, source = read_nir(graph), str(graph)  # bounded: a file is data (`checks`)
    check_graph(graph, source)
    return nn.Sequential(*_Reader(graph).sequence()).eval()


def node_order(graph: nir.NIRGraph) -> list[str]:
    """The node names in the order the lab's import builds their layers (a residual block:
    its branch, its shortcut, then the neuron where they meet); ExportError for a graph the lab
    cannot import."""
    reader = _Reader(graph)
    reader.sequence()
    return reader.order


Scale = float | None  # θ of the last scaled neuron, folded into the next weight layer


class _Reader:
    """Walks the graph from its Input, building layers; `order` records the nodes read."""

    def __init__(self, graph: nir.NIRGraph) -> None:
        inputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Input)]
        if len(inputs) != 1:
            raise ExportError(f"the graph must have one Input node, it has {inputs}")
        self.graph, self.dt = graph, float(graph.metadata.get("dt", DT))
        self.after: dict[str, list[str]] = {k: [] for k in graph.nodes}
        self.before: dict[str, list[str]] = {k: [] for k in graph.nodes}
        for a, b in graph.edges:
            if a not in graph.nodes or b not in graph.nodes:
                raise ExportError(f"edge {a} → {b} names a node the graph does not have")
            self.after[a].append(b)
            self.before[b].append(a)
        self.start = inputs[0]
        self.order: list[str] = [self.start]
        self.seen = {self.start}

    def sequence(self) -> list[nn.Module]:
        """The layers from the Input to the end."""
        layers, end, _ = self.path(self.start, None)
        if self.after[end]:
            join = self.after[end][0]
            raise ExportError(f"node {join} has {len(self.before[join])} inputs outside a "
                              "residual block: the lab imports chains and residual blocks only")
        return layers

    def path(self, key: str, scale: Scale) -> tuple[list[nn.Module], str, Scale]:
        """The layers after node `key` until the end or a node with two inputs (a join):
        (layers, the last node read, scale)."""
        layers: list[nn.Module] = []
        while True:
            after = self.after[key]
            if len(after) == 2:
                block, key, scale = self.residual(key, after, scale)
                layers.append(block)
                continue
            if len(after) > 2:
                raise ExportError(f"node {key} → {after}: the lab imports forks into two paths "
                                  "(residual blocks) only")
            if not after or len(self.before[after[0]]) > 1:
                return layers, key, scale
            key = after[0]
            layer, scale = self.layer(key, scale)
            if layer is not None:
                layers.append(layer)

    def residual(self, fork: str, firsts: list[str], scale: Scale
                 ) -> tuple[ResidualBlock, str, Scale]:
        """The block from node `fork` to the neuron where its two paths meet."""
        paths = []
        for first in firsts:
            start = len(self.order)
            if len(self.before[first]) > 1:  # an edge straight into the join: the identity
                paths.append(([], fork, None, first, []))
                continue
            layer, sc = self.layer(first, scale)
            rest, end, sc = self.path(first, sc)
            join = self.after[end][0] if self.after[end] else None
            keys = self.order[start:]
            del self.order[start:]
            paths.append(([layer, *rest], end, sc, join, keys))
        joins = {p[3] for p in paths}
        join = next(iter(joins))
        if (len(joins) != 1 or join is None or not isinstance(self.graph.nodes[join], NEURONS)
                or sorted(self.before[join]) != sorted(p[1] for p in paths)):
            raise ExportError(f"node {fork} forks into paths that do not meet in one IF or LIF "
                              "node: the lab imports residual blocks (two paths summed into a "
                              "neuron) only")
        branch, shortcut = sorted(paths, key=lambda p: (_has_neuron(p[0]), len(p[0])),
                                  reverse=True)
        self.order += branch[4] + shortcut[4]
        neuron, scale = self.layer(join, None)
        shortcut_layers = [] if _is_identity(shortcut[0]) else shortcut[0]
        return (ResidualBlock(nn.Sequential(*branch[0]), nn.Sequential(*shortcut_layers), neuron),
                join, scale)

    def layer(self, key: str, scale: Scale) -> tuple[nn.Module | None, Scale]:
        """Node `key`'s layer (None for Input and Output) and the scale after it."""
        if key in self.seen:
            raise ExportError(f"node {key} is reached twice: the lab imports no recurrent graph")
        self.seen.add(key)
        self.order.append(key)
        node = self.graph.nodes[key]
        if isinstance(node, (nir.Input, nir.Output)):
            return None, scale
        if isinstance(node, NEURONS):
            neuron = _lab_neuron(key, node, self.dt)
            return neuron, float(neuron.threshold) if neuron.scale_output else None
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
        return TimeDistributed(layer), scale


def _has_neuron(layers: list[nn.Module]) -> bool:
    return any(isinstance(m, (SpikingNeuron, ResidualBlock)) for m in layers)


def _is_identity(layers: list[nn.Module]) -> bool:
    """One weight layer that maps x to x exactly: W = I (1×1, stride 1, no padding), no bias."""
    if len(layers) != 1 or not isinstance(layers[0], TimeDistributed):
        return False
    layer = layers[0].layer
    if isinstance(layer, nn.Conv2d):
        if (layer.kernel_size, layer.stride, layer.padding, layer.groups) != ((1, 1), (1, 1),
                                                                               (0, 0), 1):
            return False
    elif not isinstance(layer, nn.Linear):
        return False
    w = layer.weight.detach().reshape(layer.weight.shape[0], -1)
    bias_free = layer.bias is None or not bool(layer.bias.detach().any())
    return w.shape[0] == w.shape[1] and torch.equal(w, torch.eye(w.shape[0])) and bias_free


def _lab_neuron(key: str, node: nir.IF | nir.LIF, dt: float) -> SpikingNeuron:
    meta = {k: v.decode() if isinstance(v, bytes) else v for k, v in node.metadata.items()}
    if np.any(np.asarray(node.v_reset) != 0):
        raise ExportError(f"node {key}: v_reset ≠ 0 has no lab neuron")
    theta = np.asarray(node.v_threshold, np.float32)
    threshold = (torch.tensor(theta.flat[0]) if np.all(theta == theta.flat[0])
                 else torch.from_numpy(theta.copy()))
    if isinstance(node, nir.IF):
        r = np.asarray(node.r, np.float64)
        if not (np.all(r == 1) or np.allclose(r * dt, 1.0, rtol=1e-6, atol=0)):
            raise ExportError(f"node {key} (IF): r = {r.flat[0]:.6g}; the lab's IF adds its "
                              f"input unscaled, written r = 1 or r = 1/dt = {1 / dt:.6g} "
                              f"(dt = {dt} s)")
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
