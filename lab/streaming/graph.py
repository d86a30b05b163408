"""A network as a graph: named nodes (an activation each) joined by edges (a layer and a delay).

    h_n[t] = σ_n( Σ_{edges e: m → n} W_e · h_m[t − d_e] ),    h_input[t] = x[t]

Everything that can be wrong with a graph is refused when it is built, naming the edge or layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Edge:
    """A connection src → dst that delays the source's state by `delay` steps."""

    src: str
    dst: str
    delay: int = 0

    @property
    def name(self) -> str:
        return f"{self.src}->{self.dst}"


class Graph(nn.Module):
    """Named nodes (an activation each) joined by edges (a weight layer each); one input node.

    Checked when built: edges join known nodes, nothing feeds the input, every node is reachable
    from the input, no cycle has zero total delay, and the layers' shapes agree.
    `order` lists the nodes so that every zero-delay edge runs forward; `shapes` holds each
    node's state shape (without the batch).
    """

    def __init__(self, input_shape: tuple[int, ...], nodes: dict[str, nn.Module],
                 edges: list[tuple[Edge, nn.Module]], output: str, input: str = "input") -> None:
        super().__init__()
        self.input_shape, self.input, self.output = tuple(input_shape), input, output
        self.activations = nn.ModuleDict(nodes)
        self.edges = [edge for edge, _ in edges]
        _check_edges(input, list(nodes), output, self.edges)
        self.layers = nn.ModuleDict({edge.name: layer for edge, layer in edges})
        self.order = _zero_delay_order(input, list(nodes), self.edges)
        self.shapes = self._infer_shapes()

    def incoming(self, node: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == node]

    def outgoing(self, node: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node]

    def check_frames(self, frames: Tensor) -> None:
        """ValueError unless `frames` is `[T, B, *input_shape]` with T ≥ 1."""
        if (frames.dim() != 2 + len(self.input_shape) or frames.shape[0] < 1
                or tuple(frames.shape[2:]) != self.input_shape):
            raise ValueError(f"frames must be [T, B, {', '.join(map(str, self.input_shape))}] "
                             f"for this model's sensor (polarity, height, width), got "
                             f"{list(frames.shape)}")

    def _infer_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {self.input: self.input_shape}
        pending = list(self.order)
        while pending:  # a recurrent edge may come from a node later in the order
            node = next(n for n in pending if any(e.src in shapes for e in self.incoming(n)))
            edge = next(e for e in self.incoming(node) if e.src in shapes)
            shapes[node] = self._edge_shape(edge, shapes[edge.src])
            pending.remove(node)
        for edge in self.edges:
            shape = self._edge_shape(edge, shapes[edge.src])
            if shape != shapes[edge.dst]:
                raise ValueError(f"edge {edge.name} gives shape {list(shape)}, but layer "
                                 f"{edge.dst} has shape {list(shapes[edge.dst])}")
        return shapes

    def _edge_shape(self, edge: Edge, src_shape: tuple[int, ...]) -> tuple[int, ...]:
        try:
            with torch.no_grad():
                return tuple(self.layers[edge.name](torch.zeros(1, *src_shape)).shape[1:])
        except RuntimeError as err:
            raise ValueError(f"edge {edge.name}: its layer cannot take the state of "
                             f"{edge.src} (shape {list(src_shape)}): {err}") from err


def _check_edges(input: str, nodes: list[str], output: str, edges: list[Edge]) -> None:
    known = [input, *nodes]
    if input in nodes or output not in nodes:
        raise ValueError(f"output must be one of the layers {nodes} (not the input {input!r}), "
                         f"got {output!r}")
    for e in edges:
        for end in (e.src, e.dst):
            if end not in known:
                raise ValueError(f"edge {e.name} names an unknown layer {end!r}; layers: {known}")
        if e.dst == input:
            raise ValueError(f"edge {e.name}: nothing can feed the input {input!r}")
        if not (isinstance(e.delay, int) and e.delay >= 0):
            raise ValueError(f"edge {e.name}: delay must be an integer ≥ 0, got {e.delay!r}")
    names = [e.name for e in edges]
    if len(set(names)) != len(names):
        raise ValueError(f"edges must be unique, got {names}")
    reached, frontier = {input}, [input]
    while frontier:
        node = frontier.pop()
        for e in edges:
            if e.src == node and e.dst not in reached:
                reached.add(e.dst)
                frontier.append(e.dst)
    if unreached := [n for n in nodes if n not in reached]:
        raise ValueError(f"layers {unreached} are not reachable from the input {input!r}")


def _zero_delay_order(input: str, nodes: list[str], edges: list[Edge]) -> list[str]:
    """Nodes in an order where every zero-delay edge runs forward (Kahn's algorithm)."""
    zero = [e for e in edges if e.delay == 0 and e.src != input]
    waiting = {n: sum(e.dst == n for e in zero) for n in nodes}
    order = [n for n in nodes if waiting[n] == 0]
    for node in order:  # the list grows while it is walked
        for e in zero:
            if e.src == node:
                waiting[e.dst] -= 1
                if waiting[e.dst] == 0:
                    order.append(e.dst)
    if len(order) < len(nodes):
        cycle = _a_cycle([n for n in nodes if n not in order], zero)
        raise ValueError(f"edges of zero delay form a cycle, {cycle}: a state cannot "
                         f"depend on itself within one step; give one of its edges delay ≥ 1")
    return order


def _a_cycle(left: list[str], edges: list[Edge]) -> str:
    """One cycle among the nodes Kahn's algorithm could not order (each has a predecessor)."""
    path = [left[0]]
    while True:
        node = next(e.src for e in edges if e.dst == path[-1] and e.src in left)
        if node in path:
            cycle = path[path.index(node):][::-1]  # it was walked against the edges
            first = min(range(len(cycle)), key=lambda i: left.index(cycle[i]))
            cycle = cycle[first:] + cycle[:first]
            return " -> ".join([*cycle, cycle[0]])
        path.append(node)


def make_graph(input_shape: tuple[int, int, int], num_classes: int, skips: bool = True,
               channels: tuple[int, int] = (8, 16), hidden: int = 64) -> Graph:
    """input → conv1 → conv2 → fc → output: 3×3 stride-2 convolutions, ReLU, every edge of
    delay 0 (the sequential network). `skips` adds conv1 → fc and conv1 → output, so paths of
    2 and 3 edges run beside the deep one of 4."""
    c, h, w = input_shape
    (c1, c2), (h1, w1) = channels, ((h + 1) // 2, (w + 1) // 2)
    h2, w2 = (h1 + 1) // 2, (w1 + 1) // 2

    def dense(features: int, out: int) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(features, out))

    edges = [(Edge("input", "conv1"), nn.Conv2d(c, c1, 3, stride=2, padding=1)),
             (Edge("conv1", "conv2"), nn.Conv2d(c1, c2, 3, stride=2, padding=1)),
             (Edge("conv2", "fc"), dense(c2 * h2 * w2, hidden)),
             (Edge("fc", "output"), nn.Linear(hidden, num_classes))]
    if skips:
        edges += [(Edge("conv1", "fc"), dense(c1 * h1 * w1, hidden)),
                  (Edge("conv1", "output"), dense(c1 * h1 * w1, num_classes))]
    nodes = {"conv1": nn.ReLU(), "conv2": nn.ReLU(), "fc": nn.ReLU(), "output": nn.Identity()}
    return Graph(input_shape, nodes, edges, output="output")
