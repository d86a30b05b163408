"""Figures of notebook 03: noise-based single-step training and the T = 1 → T = N step.

The functions compute with `lab.noise_training` and only draw; `identity_figure` is the
notebook's widget callback (and is tested). Figures use the lab's look (`lab.core.theme`) and
carry a one-line description; the per-layer gap is drawn by `lab.viz.conversion` next to the
conversion methods'. Figure data is rounded so the stored notebook stays small and identical on
every machine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from lab.core import grid
from lab.noise_training import expected_spike, if_rate, monte_carlo_spike

from ..core import theme

DIGITS = 4
# the method's own curve first (its theme colour), then the variants and references
PALETTE = (theme.color("noise_single_step"), theme.OKABE_ITO["blue"], theme.OKABE_ITO["green"],
           theme.OKABE_ITO["purple"], theme.OKABE_ITO["sky"], theme.color("bptt"))
CURRENT_RANGE = (-0.5, 1.5)  # I/θ


def _r(values) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def identity_curves(noise: str = "gaussian", noise_std: float = 0.3, timesteps: int = 8,
                    threshold: float = 1.0, v_init: float = 0.5, points: int = 161,
                    samples: int = 4000) -> dict[str, torch.Tensor]:
    """For input currents I across CURRENT_RANGE·θ: clip(I/θ), E[s] at T = 1, its Monte Carlo
    estimate (every 8th current) and the IF rate after `timesteps` steps from v0 = v_init·θ."""
    current = grid.linspace(*CURRENT_RANGE, points) * threshold
    coarse = current[::8]
    return {
        "current": current,
        "target": (current / threshold).clamp(0, 1),
        "expected": expected_spike(current, noise, noise_std, threshold, v_init),
        "mc_current": coarse,
        "monte_carlo": monte_carlo_spike(coarse, noise, noise_std, threshold, v_init, samples),
        "if_rate": if_rate(current, timesteps, threshold, v_init)[-1],
    }


def identity_figure(noise: str = "gaussian", noise_std: float = 0.3, timesteps: int = 8,
                    threshold: float = 1.0, v_init: float = 0.5) -> go.Figure:
    """Top: E[s] at T = 1 with noise, its Monte Carlo check, the IF rate at N and clip(I/θ).
    Bottom: each one's gap to clip(I/θ), the function both are meant to compute."""
    c = identity_curves(noise, noise_std, timesteps, threshold, v_init)
    x, mc_x = _r(c["current"]), _r(c["mc_current"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                        vertical_spacing=0.06)
    fig.add_scatter(x=x, y=_r(c["target"]), name="clip(I/θ, 0, 1)", row=1, col=1,
                    line={"color": theme.GREY, "dash": "dash"})
    fig.add_scatter(x=x, y=_r(c["expected"]), name=f"T = 1: P(I + v0 + n ≥ θ), {noise}",
                    row=1, col=1, line={"color": PALETTE[0]})
    fig.add_scatter(x=mc_x, y=_r(c["monte_carlo"]), mode="markers", row=1, col=1,
                    name="T = 1: Monte Carlo mean of s", marker={"color": PALETTE[0], "size": 7})
    fig.add_scatter(x=x, y=_r(c["if_rate"]), name=f"IF rate Σs/N, N = {timesteps}", row=1,
                    col=1, line={"color": PALETTE[1], "shape": "hv"})
    fig.add_scatter(x=x, y=_r(c["expected"] - c["target"]), row=2, col=1, showlegend=False,
                    line={"color": PALETTE[0]})
    fig.add_scatter(x=x, y=_r(c["if_rate"] - c["target"]), row=2, col=1, showlegend=False,
                    line={"color": PALETTE[1], "shape": "hv"})
    gap = float((c["expected"] - c["target"]).abs().max())
    fig.update_layout(
        title=f"{noise} noise (σ = {noise_std}·θ), v0 = {v_init}·θ: "
              f"max |E[s] − clip(I/θ)| = {gap:.3f}",
        height=540, margin={"b": 40}, legend={"x": 0.01, "y": 0.98})
    fig.update_yaxes(title_text="spikes per step", row=1, col=1)
    fig.update_yaxes(title_text="gap to clip(I/θ)", row=2, col=1)
    fig.update_xaxes(title_text="input current I (units of θ)", row=2, col=1)
    return theme.describe(fig, "One neuron: the expected single-step spike, the IF rate after N "
                               "steps and the ramp clip(I/θ) they both approximate.")


def accuracy_figure(curves: Mapping[str, Sequence[float]],
                    references: Mapping[str, float] | None = None) -> go.Figure:
    """Accuracy versus N after the T = 1 → T = N step, one line per network; dashed lines
    for single numbers (e.g. BPTT at its own T). The y range fits the curves from N = 2 on;
    a point below it is marked with its value at the bottom of the plot."""
    fig = go.Figure()
    later = [float(v) for curve in curves.values() for v in list(curve)[1:]]
    later += [float(v) for v in (references or {}).values()]
    low = (min(later) if later else 0.0) - 2.0
    for i, (name, curve) in enumerate(curves.items()):
        color = PALETTE[i % len(PALETTE)]
        fig.add_scatter(x=list(range(1, len(curve) + 1)), y=_r(curve), name=name,
                        mode="lines+markers", line={"color": color})
        for n, value in enumerate(curve, start=1):
            if float(value) < low:
                fig.add_annotation(x=math.log10(n), y=low, xanchor="left", yanchor="bottom",
                                   text=f"↓ {float(value):.1f} % at N = {n}", showarrow=False,
                                   font={"color": color})
    for name, value in (references or {}).items():
        fig.add_hline(y=round(value, 2), line={"dash": "dash", "color": theme.color("bptt")},
                      annotation_text=name, annotation_position="top left")
    ticks = [n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256) if n <= max(map(len, curves.values()))]
    fig.update_layout(title="Same weights, N steps as IF neurons (noise off)", height=480,
                      xaxis={"title": "timesteps N", "type": "log", "tickvals": ticks},
                      yaxis={"title": "test accuracy (%)", "range": [low, 100.5]},
                      margin={"b": 40}, legend={"orientation": "h", "y": -0.2})
    return theme.describe(fig, "The T = 1 network's weights run as IF neurons for N steps, "
                               "one seed; dashed: BPTT trained and tested at its own T.")


def training_figure(train_s: Mapping[str, float], accuracy: Mapping[str, float]) -> go.Figure:
    """Training wall time per method (bars), labelled with each method's accuracy."""
    names = list(train_s)
    fig = go.Figure(go.Bar(x=names, y=[round(train_s[n], 2) for n in names],
                           text=[f"{accuracy[n]:.1f} %" for n in names], textposition="outside",
                           marker={"color": [theme.color("bptt") if "BPTT" in n else PALETTE[i % 5]
                                             for i, n in enumerate(names)]}))
    fig.update_layout(title="Training wall time (label: test accuracy)", height=400,
                      yaxis={"title": "seconds"}, margin={"b": 40})
    return theme.describe(fig, "Wall time of one training run per method, measured here (it "
                               "changes from run to run).")
