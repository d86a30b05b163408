"""Figures of notebook 02: why conversion needs many timesteps (the residual membrane potential).

The functions compute with `lab.core.neurons.simulate` and `lab.conversion` and only draw;
they are the widget callbacks of the notebook (and are tested). Figure data is rounded, so the
stored notebook stays small and identical on every machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import Tensor

from lab.conversion import TIMESTEPS, Simulation, histogram_edges, ideal_spike_count
from lab.core.neurons import NeuronParams, simulate

DIGITS = 4
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
BAND = "rgba(44, 160, 44, 0.12)"  # [0, θ): where the residual keeps the spike count honest


def _r(values) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def arrival_times(count: int, timesteps: int, skew: float, first: bool) -> list[int]:
    """Steps (0-based) of `count` input spikes: evenly spread at skew 0, bunched at skew 1.

    Bunched spikes all arrive in the first step (`first`) or in the last one.
    """
    even = [(k + 0.5) * timesteps / count - 0.5 for k in range(count)]
    bunched = [0 if first else timesteps - 1] * count
    return [min(timesteps - 1, max(0, round((1 - skew) * e + skew * b)))
            for e, b in zip(even, bunched, strict=True)]


def uneven_input(excitatory: int = 6, inhibitory: int = 3, timesteps: int = 12,
                 weight: float = 0.5, skew: float = 0.0) -> Tensor:
    """I[t] (float64) from `excitatory` (+w) and `inhibitory` (−w) input spikes.

    The same spikes at every skew: skew > 0 moves excitation towards the first step and
    inhibition towards the last; skew < 0 the reverse; 0 spreads both evenly. Only the timing
    changes, never the total input.
    """
    if timesteps < 1:
        raise ValueError(f"timesteps must be ≥ 1, got {timesteps}")
    if not -1.0 <= skew <= 1.0:
        raise ValueError(f"skew must be in [-1, 1], got {skew}")
    current = torch.zeros(timesteps, dtype=torch.float64)
    for t in arrival_times(excitatory, timesteps, abs(skew), first=skew >= 0):
        current[t] += weight
    for t in arrival_times(inhibitory, timesteps, abs(skew), first=skew < 0):
        current[t] -= weight
    return current


def single_neuron(current: Tensor, threshold: float = 1.0, v_init: float = 0.5) -> dict:
    """One IF neuron on `current`: its spike count, the even-arrival count, v after each step."""
    out = simulate(current, NeuronParams(threshold, v_init=v_init), record=True)
    return {"spikes": int(out.spikes.sum()), "v": out.v_trace, "fired": out.spikes.bool(),
            "ideal": int(ideal_spike_count(current.sum(), len(current), threshold, v_init)),
            "residual": float(out.v_final) / threshold}


def single_neuron_figure(skew: float = 0.0, excitatory: int = 6, inhibitory: int = 3,
                         timesteps: int = 12, weight: float = 0.5, threshold: float = 1.0,
                         v_init: float = 0.5) -> go.Figure:
    """v[t] of one IF neuron for the same input spikes in a different order (`uneven_input`).

    The band is [0, θ); the title compares the spike count with the count for evenly spread
    input, clip(⌊(v[0] + ΣI)/θ⌋, 0, T): they differ exactly when v[T] has left the band.
    """
    current = uneven_input(excitatory, inhibitory, timesteps, weight, skew)
    n = single_neuron(current, threshold, v_init)
    steps = list(range(1, timesteps + 1))
    fig = go.Figure()
    fig.add_hrect(y0=0, y1=threshold, fillcolor=BAND, line_width=0)
    fig.add_hline(y=threshold, line_dash="dash", line_color=PALETTE[3])
    for sign, count, name, color in ((1, excitatory, "excitatory input", PALETTE[2]),
                                     (-1, inhibitory, "inhibitory input", PALETTE[4])):
        times = arrival_times(count, timesteps, abs(skew), first=(skew >= 0) == (sign > 0))
        fig.add_bar(x=[t + 1 for t in times], y=[sign * weight] * count, name=name,
                    marker_color=color, opacity=0.5)
    fig.add_scatter(x=[0, *steps], y=_r([v_init * threshold, *n["v"]]), name="v[t] after reset",
                    mode="lines+markers", line_color=PALETTE[0])
    fired = [t for t, f in zip(steps, n["fired"], strict=True) if f]
    fig.add_scatter(x=fired, y=[round(threshold, DIGITS)] * len(fired), name="spike",
                    mode="markers", marker={"symbol": "triangle-up", "size": 12,
                                            "color": PALETTE[1]})
    verdict = "honest" if n["spikes"] == n["ideal"] else "misrepresented"
    fig.update_layout(
        title=f"{n['spikes']} spikes, even arrival gives {n['ideal']} — v[T] = "
              f"{n['residual']:.2f}·θ ({verdict})",
        xaxis_title="timestep t", yaxis_title="membrane potential / input", height=360,
        barmode="relative", margin={"t": 50, "b": 40, "l": 50, "r": 10},
        legend={"orientation": "h", "y": -0.2})
    return fig


def residual_histograms_figure(simulation: Simulation, timesteps: int,
                               names: Sequence[str] | None = None) -> go.Figure:
    """Per layer, the histogram of v[T]/θ (neurons that clipping does not explain).

    Mass outside the band [0, 1) is the residual error: those neurons' counts are wrong.
    Values beyond `HISTOGRAM_RANGE` are counted in the edge bins.
    """
    layers = simulation.layers
    names = names or [f"layer {i + 1}" for i in range(len(layers))]
    edges = histogram_edges()
    centers = _r((edges[1:] + edges[:-1]) / 2)
    fig = make_subplots(rows=1, cols=len(layers), shared_yaxes=True, subplot_titles=[
        f"{name}: {100 * float(layer.misrepresented[timesteps - 1]):.1f}% misrepresented"
        for name, layer in zip(names, layers, strict=True)])
    for col, layer in enumerate(layers, start=1):
        counts = layer.histograms[timesteps]
        fig.add_bar(x=centers, y=_r(counts / counts.sum().clamp(min=1)), row=1, col=col,
                    marker_color=PALETTE[0], showlegend=False)
        fig.add_vrect(x0=0, x1=1, fillcolor=BAND, line_width=0, row=1, col=col)
        fig.update_xaxes(title_text="v[T] / θ", row=1, col=col)
    fig.update_yaxes(title_text="share of unclipped neurons", row=1, col=1)
    fig.update_layout(title=f"Residual membrane potential after T = {timesteps}", height=330,
                      bargap=0, margin={"t": 70, "b": 40, "l": 50, "r": 10})
    return fig


def accuracy_figure(curves: Mapping[str, Tensor | Sequence[float]],
                    ann_accuracy: Mapping[str, float] | None = None,
                    title: str = "Accuracy of the converted SNNs versus T") -> go.Figure:
    """Accuracy at every T (log axis) per method; dotted lines: each method's own ANN."""
    fig = go.Figure()
    for k, (name, curve) in enumerate(curves.items()):
        color = PALETTE[k % len(PALETTE)]
        ys = list(curve)
        xs = [T for T in range(1, len(ys) + 1) if T in TIMESTEPS or T == len(ys)]
        fig.add_scatter(x=xs, y=_r(ys[T - 1] for T in xs), name=name, mode="lines+markers",
                        line_color=color)
        if ann_accuracy and name in ann_accuracy:
            fig.add_hline(y=round(ann_accuracy[name], 2), line_dash="dot", line_color=color,
                          opacity=0.6)
    fig.update_layout(title=title, xaxis={"type": "log", "title": "timesteps T",
                                          "tickvals": list(TIMESTEPS)},
                      yaxis_title="test accuracy (%)", height=380,
                      margin={"t": 50, "b": 40, "l": 50, "r": 10})
    return fig


def noise_figure(curves_by_sigma: Mapping[float, Sequence[float]], sigma: float,
                 ann_accuracy: Mapping[float, float] | None = None) -> go.Figure:
    """Accuracy versus T for the network trained with noise σ, against σ = 0 (plain QCFS)."""
    chosen = {f"σ = {sigma:g}·θ": curves_by_sigma[sigma]}
    anns = {f"σ = {sigma:g}·θ": ann_accuracy[sigma]} if ann_accuracy else None
    if sigma != 0 and 0 in curves_by_sigma:
        chosen = {"σ = 0 (QCFS)": curves_by_sigma[0], **chosen}
        if anns is not None:
            anns["σ = 0 (QCFS)"] = ann_accuracy[0]
    return accuracy_figure(chosen, anns, title="What training with noise does to the SNN")
