"""Figures of notebook 05: the graph with its delays, what each layer has seen, anytime curves.

The functions compute with `lab.streaming` and only draw; `graph_figure` is the step slider's
callback (tested). Figure data is rounded so the stored notebook stays small and identical.
Styles come from `lab.core.theme`: the streaming rollout in the method's colour, an ANN dashed
and its SNN solid in the same colour; the sequential rollout in its own
colour (an ANN dashed, its SNN solid); controls in their own styles; every figure carries a
one-line description.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch
from torch import Tensor

from lab.core import stats, theme
from lab.streaming import Graph, delays, seen_frames

DIGITS = 3
UNSEEN, SEEN = "#d9d9d9", theme.OKABE_ITO["green"]
ON, OFF = theme.OKABE_ITO["vermillion"], theme.OKABE_ITO["blue"]


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
        height=360, margin={"l": 20, "r": 20, "b": 20}, plot_bgcolor="white",
        xaxis={"visible": False, "range": [-0.5, max(depth.values()) + 0.5]},
        yaxis={"visible": False, "range": [-0.45, 0.6]})
    return theme.describe(fig, "Nodes list the frames their state depends on (green: some "
                          "input seen, grey: biases only); d is each edge's delay in steps.")


def curve_style(name: str) -> tuple[str, dict]:
    """(theme method key, `go.Scatter` style) of a curve named as in notebook 05.

    'memoryless' / 'shuffled' in the name: those controls; 'sequential': the sequential rollout
    (an ANN dashed, its SNN solid); otherwise the streaming rollout, its ANN dashed. 'no skips'
    and 'no floor' keep the colour and change the marker (and line), so no curve differs by
    colour alone.
    """
    lower = name.lower()
    for control in ("memoryless", "shuffled"):
        if control in lower:
            return control, theme.trace_style(control)
    is_ann = "ann" in lower.split() or lower.startswith("ann") or "ann," in lower
    key = "sequential" if "sequential" in lower else "streaming"
    style = theme.trace_style(key, ann=is_ann)
    if "no skips" in lower or "no floor" in lower:
        style["marker"]["symbol"] = "x"
        style["line"]["width"] = 1.5
    return key, style


def mean_band(curves) -> tuple[list[float], list[float] | None, list[float] | None]:
    """Mean per step of `curves` `[seeds, T]` (or one curve `[T]`) and its 95% t-interval
    (None with one seed)."""
    values = torch.as_tensor(curves, dtype=torch.float64)
    if values.dim() == 1 or len(values) == 1:
        return _r(values.reshape(-1, values.shape[-1])[0]), None, None
    per_step = [stats.summary(values[:, t].tolist()) for t in range(values.shape[1])]
    return (_r(s.mean for s in per_step), _r(s.ci_low for s in per_step),
            _r(s.ci_high for s in per_step))


def anytime_figure(curves: Mapping[str, Sequence], chance: float, bar: float,
                   title: str = "Anytime accuracy", description: str = "") -> go.Figure:
    """Accuracy (%) per step of each curve, with the chance rate and the significance bar.

    A curve is one run `[T]` or several seeds `[seeds, T]`: then its mean is drawn with a 95%
    band (t-interval per step, `lab.core.stats`) in the method's band colour. Chance and the
    bar are legend entries, not labels on the plot, so no text sits on a curve.
    """
    fig = go.Figure()
    steps = None
    for name, curve in curves.items():
        key, style = curve_style(name)
        mean, low, high = mean_band(curve)
        steps = list(range(len(mean)))
        if low is not None:
            fig.add_trace(go.Scatter(x=steps, y=low, mode="lines", line={"width": 0},
                                     showlegend=False, hoverinfo="skip", legendgroup=name))
            fig.add_trace(go.Scatter(x=steps, y=high, mode="lines", line={"width": 0},
                                     fill="tonexty", fillcolor=theme.band(key),
                                     showlegend=False, hoverinfo="skip", legendgroup=name))
        fig.add_trace(go.Scatter(x=steps, y=mean, name=name, legendgroup=name, **style))
    steps = steps or [0, 1]
    for y, name, dash in ((chance, "chance (majority class)", "dot"),
                          (bar, "better than chance (binomial test, p ≤ 0.01)", "dash")):
        style = theme.trace_style("chance", markers=False)
        style["line"]["dash"] = dash
        fig.add_trace(go.Scatter(x=[steps[0], steps[-1]], y=[round(y, DIGITS)] * 2, name=name,
                                 mode="lines", hoverinfo="name", **style))
    fig.update_layout(title=title, xaxis_title="step (frame)", yaxis_title="test accuracy (%)",
                      yaxis_range=[0, 100], height=420, legend={"x": 1.02, "y": 1})
    return theme.describe(fig, description or "Accuracy at every step; bands: 95% intervals "
                          "over seeds; grey lines: chance and the significance bar.")


def ops_figure(ann_macs: Sequence[float], snn_ops: Sequence[float]) -> go.Figure:
    """Operations per sample, summed up to each step: the ANN's MACs, the SNN's MACs + SOPs."""
    steps = list(range(len(ann_macs)))
    fig = go.Figure()
    for name, ops, is_ann in (("streaming ANN (MACs)", ann_macs, True),
                              ("its SNN (input MACs + SOPs + membrane updates)", snn_ops, False)):
        total = torch.tensor(list(ops), dtype=torch.float64).cumsum(0)
        fig.add_trace(go.Scatter(x=steps, y=[round(float(v)) for v in total], name=name,
                                 **theme.trace_style("streaming", ann=is_ann)))
    fig.update_layout(title="Operations per sample up to each step", xaxis_title="step (frame)",
                      yaxis_title="operations", height=360)
    return theme.describe(fig, "Cumulative operations per recording: the ANN dashed, its SNN "
                          "solid, in the streaming rollout's colour.")


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
                      yaxis_autorange="reversed", height=400)
    return theme.describe(fig, "Share of each true class (rows) given each answer (columns), "
                          "all steps pooled.")


def frames_figure(frames: Tensor, title: str = "") -> go.Figure:
    """Event frames `[T, 2, H, W]` side by side as ON − OFF counts (ON red, OFF blue), with a
    legend naming the two polarities."""
    from plotly.subplots import make_subplots

    net = (frames[:, 1] - frames[:, 0]).round().int().tolist()  # event counts
    zmax = max(1.0, float(frames.max()))
    fig = make_subplots(1, len(net), subplot_titles=[f"x[{t}]" for t in range(len(net))],
                        horizontal_spacing=0.01)
    for t, z in enumerate(net):
        fig.add_trace(go.Heatmap(z=z, zmin=-zmax, zmax=zmax, showscale=False,
                                 colorscale=[[0, OFF], [0.5, "white"], [1, ON]]), 1, t + 1)
        fig.update_yaxes(scaleanchor=f"x{t + 1 if t else ''}", row=1, col=t + 1)
    for name, colour in (("ON events (brighter)", ON), ("OFF events (darker)", OFF)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker={"symbol": "square", "size": 12, "color": colour}))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(title=title, height=260, margin={"l": 10, "r": 10, "b": 10},
                      plot_bgcolor="white", showlegend=True,
                      legend={"orientation": "h", "y": -0.05, "x": 0})
    return theme.describe(fig, "Each frame: ON minus OFF event counts per pixel, red where ON "
                          "events dominate, blue where OFF do.")
