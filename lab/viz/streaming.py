"""Figures of notebook 05: the graph with its delays, what each layer has seen, anytime curves.

The functions compute with `lab.streaming` and only draw; `graph_figure` is the step slider's
callback (tested). Figure data is rounded so the stored notebook stays small and identical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch
from torch import Tensor

from lab.streaming import Graph, delays, seen_frames

DIGITS = 3
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
UNSEEN, SEEN = "#d9d9d9", "#2ca02c"


def _r(values) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def depths(graph: Graph) -> dict[str, int]:
    """Each node's column: the longest chain of zero-delay edges from the input."""
    depth = {graph.input: 0}
    for node in graph.order:
        depth[node] = 1 + max(depth[e.src] for e in graph.incoming(node)
                              if e.src in depth and e.delay == 0)
    return depth


def _arc(x0: float, x1: float, height: float, points: int = 15) -> tuple[list[float], list[float]]:
    """A parabola from (x0, 0) to (x1, 0) peaking at `height` (0: a straight line)."""
    s = [i / (points - 1) for i in range(points)]
    return _r(x0 + (x1 - x0) * u for u in s), _r(4 * height * u * (1 - u) for u in s)


def graph_figure(graph: Graph, rollout: str, step: int) -> go.Figure:
    """The graph, every edge labelled with its delay in `rollout`, every node with the frames
    its state depends on at `step` (green: it has seen some input; grey: only biases so far)."""
    depth, seen = depths(graph), seen_frames(graph, rollout, step)
    fig = go.Figure()
    for edge, d in zip(graph.edges, delays(graph, rollout), strict=True):
        span = depth[edge.dst] - depth[edge.src]
        xs, ys = _arc(depth[edge.src], depth[edge.dst], 0.25 * (span - 1))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line={"color": "#888", "width": 2}))
        fig.add_annotation(x=xs[len(xs) // 2], y=ys[len(ys) // 2], text=f"d={d}",
                           showarrow=False, yshift=10, font={"size": 12})
        fig.add_annotation(x=xs[-1], y=ys[-1], ax=xs[-4], ay=ys[-4], xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=2, arrowsize=1.5,
                           arrowcolor="#888", text="", standoff=22)
    nodes = [graph.input, *graph.order]
    labels = [f"{n}<br>x[{', '.join(map(str, seen[n]))}]" if seen[n] else f"{n}<br>–"
              for n in nodes]
    fig.add_trace(go.Scatter(
        x=[depth[n] for n in nodes], y=[0] * len(nodes), mode="markers+text", text=labels,
        textposition="bottom center", showlegend=False, hoverinfo="text",
        marker={"size": 34, "color": [SEEN if seen[n] else UNSEEN for n in nodes],
                "line": {"color": "#333", "width": 1}}))
    fig.update_layout(
        title=f"{rollout} rollout, step {step}: the output has seen frames "
              f"{seen[graph.output] or 'none'}",
        height=330, margin={"l": 20, "r": 20, "t": 50, "b": 20}, plot_bgcolor="white",
        xaxis={"visible": False, "range": [-0.5, max(depth.values()) + 0.5]},
        yaxis={"visible": False, "range": [-0.45, 0.6]})
    return fig


def anytime_figure(curves: Mapping[str, Sequence[float]], chance: float, bar: float,
                   title: str = "Anytime accuracy") -> go.Figure:
    """Accuracy (%) per step of each curve, with the chance rate and the significance bar."""
    fig = go.Figure()
    for i, (name, curve) in enumerate(curves.items()):
        dash = "dot" if "SNN" in name else "solid"
        fig.add_trace(go.Scatter(x=list(range(len(curve))), y=_r(curve), name=name,
                                 mode="lines+markers", line={"color": PALETTE[i % 6],
                                                             "dash": dash}))
    fig.add_hline(y=round(chance, DIGITS), line={"color": "#999", "dash": "dash"},
                  annotation_text="chance (majority class)", annotation_position="bottom left")
    fig.add_hline(y=round(bar, DIGITS), line={"color": "#999", "dash": "dot"},
                  annotation_text="better than chance (binomial test, p ≤ 0.01)",
                  annotation_position="top left")
    fig.update_layout(title=title, xaxis_title="step (frame)", yaxis_title="test accuracy (%)",
                      yaxis_range=[0, 100], height=380, legend={"x": 1.02, "y": 1})
    return fig


def ops_figure(ann_macs: Sequence[float], snn_ops: Sequence[float]) -> go.Figure:
    """Operations per sample, summed up to each step: the ANN's MACs, the SNN's MACs + SOPs."""
    steps = list(range(len(ann_macs)))
    fig = go.Figure()
    for name, ops, color in (("ANN (MACs)", ann_macs, PALETTE[0]),
                             ("SNN (input MACs + SOPs)", snn_ops, PALETTE[3])):
        total = torch.tensor(list(ops), dtype=torch.float64).cumsum(0)
        fig.add_trace(go.Scatter(x=steps, y=[round(float(v)) for v in total], name=name,
                                 mode="lines+markers", line={"color": color}))
    fig.update_layout(title="Operations per sample up to each step", xaxis_title="step (frame)",
                      yaxis_title="operations", height=340)
    return fig


def confusion_figure(outputs: Tensor, labels: Tensor, classes: Sequence[str],
                     title: str) -> go.Figure:
    """Share (%) of each true class answered as each class, pooled over the steps of
    `outputs` `[T, B, C]`."""
    n = len(classes)
    pred = outputs.argmax(-1).flatten()
    true = labels.repeat(outputs.shape[0])
    counts = torch.bincount(true * n + pred, minlength=n * n).reshape(n, n).double()
    share = 100 * counts / counts.sum(1, keepdim=True).clamp(min=1)
    fig = go.Figure(go.Heatmap(z=[_r(row) for row in share], x=list(classes), y=list(classes),
                               colorscale="Blues", zmin=0, zmax=100,
                               text=[[f"{v:.0f}" for v in row] for row in share.tolist()],
                               texttemplate="%{text}", colorbar={"title": {"text": "%"}}))
    fig.update_layout(title=title, xaxis_title="answer", yaxis_title="true class",
                      yaxis_autorange="reversed", height=360)
    return fig


def frames_figure(frames: Tensor, title: str = "") -> go.Figure:
    """Event frames `[T, 2, H, W]` side by side as ON − OFF counts (red ON, blue OFF)."""
    from plotly.subplots import make_subplots

    net = (frames[:, 1] - frames[:, 0]).round().int().tolist()  # event counts
    zmax = max(1.0, float(frames.max()))
    fig = make_subplots(1, len(net), subplot_titles=[f"x[{t}]" for t in range(len(net))],
                        horizontal_spacing=0.01)
    for t, z in enumerate(net):
        fig.add_trace(go.Heatmap(z=z, zmin=-zmax, zmax=zmax, showscale=False,
                                 colorscale=[[0, "rgb(33,102,172)"], [0.5, "white"],
                                             [1, "rgb(178,24,43)"]]), 1, t + 1)
        fig.update_yaxes(scaleanchor=f"x{t + 1 if t else ''}", row=1, col=t + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(title=title, height=200, margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      plot_bgcolor="white")
    return fig
