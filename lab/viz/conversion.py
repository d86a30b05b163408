"""Figures of notebook 02: why conversion needs many timesteps (the residual membrane potential).

The functions compute with `lab.core.neurons.simulate` and `lab.conversion` and only draw;
they are the widget callbacks of the notebook (and are tested). Methods are drawn in the lab's
look (`lab.core.theme`), intervals as bands, and every figure carries a one-line description.
Figure data is rounded, so the stored notebook stays small and identical on every machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import Tensor

from lab.conversion import Simulation, histogram_edges, ideal_spike_count
from lab.conversion import comparison as cmp
from lab.core import stats
from lab.core.neurons import NeuronParams, simulate

from ..core import theme

DIGITS = 4
COLORS = theme.OKABE_ITO
BAND = "rgba(0, 158, 115, 0.12)"  # [0, θ): where the residual keeps the spike count honest
# comparison arm → (theme key, line dash or None for the theme's); v[0] = 0 is dotted
ARMS = {cmp.QCFS: ("qcfs", None), cmp.NOISE: ("residual_noise", None),
        cmp.QCFS_LT: ("qcfs_lt", None), "TB v0=θ/2": ("threshold_balancing", None),
        "TB v0=0": ("threshold_balancing", "dot"), "noise single-step": ("noise_single_step", None)}


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
    fig.add_hline(y=threshold, line_dash="dash", line_color=COLORS["vermillion"])
    for sign, count, name, color in ((1, excitatory, "excitatory input", COLORS["green"]),
                                     (-1, inhibitory, "inhibitory input", COLORS["purple"])):
        times = arrival_times(count, timesteps, abs(skew), first=(skew >= 0) == (sign > 0))
        per_step = {t: times.count(t) for t in sorted(set(times))}  # several spikes, one bar
        fig.add_bar(x=[t + 1 for t in per_step], y=[sign * weight * n for n in per_step.values()],
                    name=name, marker_color=color, opacity=0.5)
    fig.add_scatter(x=[0, *steps], y=_r([v_init * threshold, *n["v"]]), name="v[t] after reset",
                    mode="lines+markers", line_color=COLORS["blue"])
    fired = [t for t, f in zip(steps, n["fired"], strict=True) if f]
    fig.add_scatter(x=fired, y=[round(threshold, DIGITS)] * len(fired), name="spike",
                    mode="markers", marker={"symbol": "triangle-up", "size": 12,
                                            "color": COLORS["orange"]})
    verdict = "honest" if n["spikes"] == n["ideal"] else "misrepresented"
    fig.update_layout(
        title=f"{n['spikes']} spike{'s' * (n['spikes'] != 1)}, even arrival gives "
              f"{n['ideal']} — v[T] = {n['residual']:.2f}·θ ({verdict})",
        xaxis_title="timestep t", yaxis_title="membrane potential / input", height=360,
        barmode="relative", margin={"t": 50, "b": 40, "l": 50, "r": 10},
        legend={"orientation": "h", "y": -0.2})
    return theme.describe(fig, "The same input spikes, reordered: the band is [0, θ), where "
                               "the spike count is honest.")


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
        f"{name}: {100 * float(layer.misrepresented[timesteps - 1]):.1f}%<br>misrepresented"
        for name, layer in zip(names, layers, strict=True)])
    for col, layer in enumerate(layers, start=1):
        counts = layer.histograms[timesteps]
        fig.add_bar(x=centers, y=_r(counts / counts.sum().clamp(min=1)), row=1, col=col,
                    marker_color=COLORS["blue"], showlegend=False)
        fig.add_vrect(x0=0, x1=1, fillcolor=BAND, line_width=0, row=1, col=col)
        fig.update_xaxes(title_text="v[T] / θ", row=1, col=col)
    fig.update_yaxes(title_text="share of unclipped neurons", row=1, col=1)
    fig.update_layout(title=f"Residual membrane potential after T = {timesteps}", height=360,
                      bargap=0, margin={"b": 40, "l": 50, "r": 10})
    return theme.describe(fig, "Mass outside the band [0, 1) is the residual error: those "
                               "neurons' spike counts are wrong.")


def _style(arm: str, ann: bool = False) -> dict:
    key, dash = ARMS[arm]
    style = theme.trace_style(key, ann=ann)
    if dash and not ann:
        style["line"]["dash"] = dash
    return style


def _band(fig: go.Figure, xs: Sequence[float], low: Sequence[float], high: Sequence[float],
          arm: str, **where) -> None:
    """The 95% interval as a filled polygon in the arm's colour (no legend entry)."""
    fig.add_scatter(x=[*xs, *reversed(xs)], y=_r([*high, *reversed(low)]), fill="toself",
                    fillcolor=theme.band(ARMS[arm][0]), line={"width": 0}, mode="lines",
                    hoverinfo="skip", showlegend=False, **where)


def _label(arm: str) -> str:
    return {"TB v0=0": "threshold balancing, v[0] = 0",
            "TB v0=θ/2": "threshold balancing, v[0] = θ/2"}.get(arm, theme.label(ARMS[arm][0]))


def _short(arm: str) -> str:
    return {"TB v0=θ/2": "threshold bal.", cmp.QCFS: "QCFS", cmp.NOISE: "noise"}.get(arm, arm)


def accuracy_intervals_figure(accuracy: Mapping[str, Mapping[int, Sequence[float]]],
                              ann: Mapping[str, Sequence[float]] | None = None,
                              description: str = "Mean over seeds; bands: 95% intervals."
                              ) -> go.Figure:
    """Accuracy against T (log axis) per arm: the mean over seeds and its 95% interval (band).

    `accuracy[arm][T]` holds one test accuracy per seed; arms are `ARMS` names. `ann[arm]`: the
    arm's ANN accuracy per seed, drawn dashed in the arm's colour (one network for every T).
    """
    fig = go.Figure()
    for arm, by_t in accuracy.items():
        xs = sorted(by_t)
        summaries = [stats.summary(by_t[T]) for T in xs]
        if len(by_t[xs[0]]) > 1:
            _band(fig, xs, [s.ci_low for s in summaries], [s.ci_high for s in summaries], arm)
        fig.add_scatter(x=xs, y=_r(s.mean for s in summaries), name=_label(arm), **_style(arm))
    for arm, values in (ann or {}).items():
        every = sorted({T for by_t in accuracy.values() for T in by_t})
        mean = round(stats.summary(values).mean, 2)
        fig.add_scatter(x=[every[0], every[-1]], y=[mean, mean], name=f"ANN: {_short(arm)}",
                        **_style(arm, ann=True), showlegend=True)
    ticks = sorted({T for by_t in accuracy.values() for T in by_t})
    fig.update_layout(title="Test accuracy of the converted SNNs against T",
                      xaxis={"type": "log", "title": "timesteps T", "tickvals": ticks},
                      yaxis_title="test accuracy (%)", height=460,
                      margin={"b": 40, "l": 50, "r": 10}, legend={"orientation": "h", "y": -0.25})
    return theme.describe(fig, description)


def layer_gap_figure(gaps: Mapping[str, Sequence[stats.Summary]], timesteps: int,
                     what: str = "std", description: str | None = None) -> go.Figure:
    """Per hidden layer, the gap (SNN rate − ANN activation)/θ at T: the mean over seeds of
    its `what` (std or mean) with the 95% interval (band), one line per arm (`ARMS` names)."""
    fig = go.Figure()
    for arm, summaries in gaps.items():
        xs = [f"layer {i}" for i in range(1, len(summaries) + 1)]  # categories: whole ticks
        if summaries and summaries[0].n > 1:
            _band(fig, xs, [s.ci_low for s in summaries], [s.ci_high for s in summaries], arm)
        fig.add_scatter(x=xs, y=_r(s.mean for s in summaries), name=_label(arm), **_style(arm))
    fig.update_layout(title=f"Gap per layer at T = {timesteps}",
                      xaxis={"title": "hidden layer (layer 1 is fed by the image)",
                             "type": "category"},
                      yaxis={"title": f"gap {what} (units of θ)", "rangemode": "tozero"},
                      height=420, margin={"b": 40, "l": 50, "r": 10},
                      legend={"orientation": "h", "y": -0.25})
    return theme.describe(fig, description or (
        "Each layer's gap (SNN rate − ANN activation)/θ on the test images; mean over seeds, "
        "band: 95% interval."))


def depth_figure(runs: Sequence[cmp.StoredRun], depth: int = 6, timesteps: int = 2,
                 arms: Sequence[str] = (cmp.QCFS, cmp.NOISE)) -> go.Figure:
    """The notebook's depth slider: `layer_gap_figure` of the gap std of `arms` in the
    networks of `depth` hidden layers, at T, over the seeds in `runs`."""
    gaps = {arm: cmp.per_layer(runs, depth, arm, timesteps) for arm in arms}
    return layer_gap_figure(gaps, timesteps, description=(
        f"Depth {depth}: the gap std per layer at T = {timesteps}, mean over seeds "
        f"(n = {gaps[arms[0]][0].n if gaps[arms[0]] else 0}), band: 95% interval."))


def deepest_gap_figure(runs: Sequence[cmp.StoredRun], depths: Sequence[int], timesteps: int = 2,
                       arms: Sequence[str] = (cmp.QCFS, cmp.NOISE)) -> go.Figure:
    """The last hidden layer's gap std at T against depth, per arm: mean over seeds, band 95%."""
    fig = go.Figure()
    for arm in arms:
        found = [(d, stats.summary(list(cmp.deepest_gap_std(runs, d, arm, timesteps).values())))
                 for d in depths if cmp.deepest_gap_std(runs, d, arm, timesteps)]
        xs = [d for d, _ in found]
        _band(fig, xs, [s.ci_low for _, s in found], [s.ci_high for _, s in found], arm)
        fig.add_scatter(x=xs, y=_r(s.mean for _, s in found), name=_label(arm), **_style(arm))
    fig.update_layout(title=f"The deepest layer's gap at T = {timesteps}, against depth",
                      xaxis={"title": "depth (hidden layers)", "tickvals": list(depths)},
                      yaxis={"title": "gap std of the last hidden layer (units of θ)"},
                      height=400, margin={"b": 40, "l": 50, "r": 10},
                      legend={"orientation": "h", "y": -0.25})
    return theme.describe(fig, "The last hidden layer's gap std against depth, mean over seeds, "
                               "band: 95% interval.")
