"""Figures of notebook 02b: input encodings, the surrogate gradient, BPTT's accuracy over time.

Each figure calls the lab's own code (`lab.core.encoding`, snnTorch's surrogate through
`lab.core.neurons`) and only draws; they are the widget callbacks of the notebook (tested).
Figure data is rounded to `DIGITS`: smaller notebooks, the same JSON on every machine.
Drawn in the lab's look (`lab.core.theme`): BPTT in its method colour, runs told apart by dash
and marker, and a one-line description under every title.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from snntorch import surrogate
from torch import Tensor

from lab.core import encoding as enc
from lab.core import grid, theme

DIGITS = 4
COLORS = {"step": theme.GREY, "smooth": theme.OKABE_ITO["blue"],
          "grad": theme.OKABE_ITO["vermillion"]}
RUN_MARKS = (("solid", "circle"), ("dash", "square"), ("dot", "diamond"), ("dashdot", "x"))
INK = [[0.0, "#ffffff"], [1.0, "#000000"]]  # 0 white, 1 black (plotly's "Greys" is reversed)


def encoded(image: Tensor, timesteps: int, encoding: enc.Encoding, seed: int = 0) -> Tensor:
    """The image's input over time, one row per pixel: `[pixels, T]`."""
    x = enc.encode(image.reshape(1, -1).double(), timesteps, encoding, seed)  # [T, 1, pixels]
    return x[:, 0, :].T


def encoding_figure(image: Tensor, timesteps: int = 16, encoding: enc.Encoding = "rate",
                    seed: int = 0) -> go.Figure:
    """Input x[t] of every pixel per step, the image, and what the T steps say: their mean.

    Traces (heatmaps): 'input over time' `[pixels, T]`, 'image', 'mean over T steps'. The title
    gives the mean |mean − image| over the pixels: 0 for the direct code, ≈ 1/√T for rate.
    """
    height, width = image.shape[-2:]
    x = encoded(image, timesteps, encoding, seed)
    estimate = x.mean(1).reshape(height, width)
    truth = image.reshape(height, width).double()
    error = float((estimate - truth).abs().mean())
    fig = make_subplots(rows=1, cols=3, column_widths=[0.5, 0.25, 0.25], horizontal_spacing=0.08,
                        subplot_titles=(f"input x[t], {x.shape[0]} pixels × T = {timesteps}",
                                        "image", f"mean over the {timesteps} steps"))
    common = {"colorscale": INK, "zmin": 0.0, "zmax": 1.0, "showscale": False}
    fig.add_trace(go.Heatmap(z=_rounded(x), x=list(range(1, timesteps + 1)),
                             name="input over time", **common), row=1, col=1)
    fig.add_trace(go.Heatmap(z=_rounded(truth), name="image", **common), row=1, col=2)
    fig.add_trace(go.Heatmap(z=_rounded(estimate), name="mean over T steps", **common),
                  row=1, col=3)
    fig.update_xaxes(title_text="time step t", row=1, col=1)
    fig.update_yaxes(title_text="pixel", autorange="reversed", row=1, col=1)
    for col in (2, 3):
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{col}", row=1, col=col)
    title = (f"{encoding} code, T = {timesteps}: mean |mean over T − image| = "
             f"{error:.3f} per pixel")
    return _layout(fig, title, "Left: one row per pixel, black = input at step t; right: the "
                   "image and the mean over T", height=400, top=110)


def surrogate_curves(alpha: float = 2.0, points: int = 401) -> dict[str, Tensor]:
    """x = v − θ in [−2, 2], the step H(x), S(x) = arctan(π/2·α·x)/π + 1/2, and dS/dx.

    dS/dx comes from autograd through snnTorch's `surrogate.atan(alpha)`, the function the
    lab trains with (`lab.core.neurons.default_surrogate` is α = 2).
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    x = grid.linspace(-2.0, 2.0, points).requires_grad_(True)
    with torch.enable_grad():
        surrogate.atan(alpha=alpha)(x).sum().backward()
    grad, x = x.grad.detach(), x.detach()
    smooth = torch.atan(math.pi / 2 * alpha * x) / math.pi + 0.5
    return {"x": x, "step": (x >= 0).double(), "smooth": smooth, "grad": grad}


def surrogate_figure(alpha: float = 2.0) -> go.Figure:
    """The step H forward, the smooth S it stands for, and the gradient dS/dx used backward.

    Traces: 'step H(x) (forward)', 'S(x) = arctan(π/2·α·x)/π + 1/2', 'dS/dx (backward)',
    'true dH/dx = 0'.
    """
    c = surrogate_curves(alpha)
    x = _rounded(c["x"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.5, 0.5],
                        vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=x, y=_rounded(c["step"]), name="step H(x) (forward)",
                             mode="lines", line={"color": COLORS["step"], "shape": "hv",
                                                 "dash": "dash"}),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=_rounded(c["smooth"]), name="S(x) = arctan(π/2·α·x)/π + 1/2",
                             mode="lines", line={"color": COLORS["smooth"]}), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=_rounded(c["grad"]), name="dS/dx (backward)", mode="lines",
                             line={"color": COLORS["grad"]}), row=2, col=1)
    fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[0.0, 0.0], name="true dH/dx = 0",
                             mode="lines", line={"color": COLORS["step"], "dash": "dot"}),
                  row=2, col=1)
    fig.update_xaxes(title_text="x = v − θ", row=2, col=1)
    fig.update_yaxes(title_text="spike", row=1, col=1)
    fig.update_yaxes(title_text="gradient", range=[-0.05 * max(alpha / 2, 1), 1.1 * max(
        alpha / 2, 1)], row=2, col=1)
    return _layout(fig, f"arctan surrogate, α = {alpha:g}: dS/dx peaks at α/2 = {alpha / 2:g} "
                   "at the threshold, and is never 0",
                   "Top: the step H (dashed, forward) and the smooth S; bottom: dS/dx, used "
                   "backward", height=480)


def accuracy_figure(curves: dict[str, list[float]]) -> go.Figure:
    """Test accuracy after each step t (the readout averaged over steps 1..t), one line a run."""
    fig = go.Figure()
    colour = theme.color("bptt")
    for (name, curve), (dash, symbol) in zip(curves.items(), RUN_MARKS * len(curves),
                                             strict=False):
        fig.add_trace(go.Scatter(x=list(range(1, len(curve) + 1)),
                                 y=[round(float(a), 2) for a in curve], name=name,
                                 mode="lines+markers", line={"color": colour, "dash": dash},
                                 marker={"color": colour, "symbol": symbol, "size": 8}))
    fig.add_hline(y=10.0, line={"color": theme.REFERENCE, "dash": "dot"},
                  annotation_text="chance", annotation_position="bottom right")
    fig.update_xaxes(title_text="time step t")
    fig.update_yaxes(title_text="test accuracy (%)", range=[0, 100])
    return _layout(fig, "BPTT on the digits, one epoch: accuracy after each step "
                   "(dotted: chance, 10 %)", "Test accuracy with the readout averaged over "
                   "steps 1..t; one dash and marker per run", height=440)


def _rounded(values: Tensor) -> list:
    """Rounded with Python's round (the shortest decimal: the same JSON on every machine)."""
    data = values.detach().double().tolist()
    if values.dim() == 1:
        return [round(v, DIGITS) for v in data]
    return [[round(v, DIGITS) for v in row] for row in data]


def _layout(fig: go.Figure, title: str, description: str, height: int,
            top: int = 90) -> go.Figure:
    fig.update_layout(title={"text": title, "font": {"size": 14}}, template=theme.TEMPLATE,
                      height=height, legend={"orientation": "h", "y": -0.2})
    theme.describe(fig, description)
    fig.update_layout(margin={"l": 60, "r": 20, "t": top, "b": 50})
    return fig
