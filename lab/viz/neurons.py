"""Figures of one IF/LIF neuron: membrane trace, rate-versus-input staircase, rate identity.

Every figure runs `lab.core.neurons.simulate`, the one simulation loop; these functions only
choose inputs and draw. They are the widget callbacks of notebook 01 (and are tested).
`v_init` is given in units of θ here, as in `SpikingNeuron` (0.5 → v[0] = θ/2).
Drawn in the lab's look (`lab.core.theme`): each quantity has its own line dash or marker as
well as its colour, the ANN is the theme's (grey, dashed), and every figure carries its
one-line description.
"""

from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import Tensor

from lab.core import grid, theme
from lab.core.neurons import NeuronParams, Reset, simulate

PROFILES = ("constant", "early", "late")
DIGITS = 4  # figure data is rounded: smaller notebooks, the same JSON on every machine
COLORS = {"v": theme.OKABE_ITO["blue"], "threshold": theme.OKABE_ITO["vermillion"],
          "spike": theme.OKABE_ITO["orange"], "ann": theme.color("ann"),
          "residual": theme.OKABE_ITO["green"], "input": theme.OKABE_ITO["sky"]}
ANN = {"mode": "lines", "line": {"color": COLORS["ann"], "dash": "dash"}}


def input_current(mean: float, timesteps: int, profile: str = "constant",
                  swing: float = 0.5) -> Tensor:
    """I[t] for t = 1..T (float64) whose time average is `mean`.

    'constant': I[t] = mean.  'early': mean + swing in the first half, mean − swing in the
    second (the input arrives early, then inhibition).  'late': the reverse.
    """
    if timesteps < 1:
        raise ValueError(f"timesteps must be ≥ 1, got {timesteps}")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    first_half = torch.arange(timesteps, dtype=torch.float64) < timesteps / 2
    sign = torch.where(first_half, 1.0, -1.0).to(torch.float64)
    shape = {"constant": 0.0 * sign, "early": sign, "late": -sign}[profile]
    return mean + swing * (shape - shape.mean())


def membrane_figure(current: float = 0.3, threshold: float = 1.0, beta: float = 1.0,
                    reset: Reset = "subtract", timesteps: int = 16, v_init: float = 0.0,
                    profile: str = "constant") -> go.Figure:
    """v[t] of one neuron driven by `input_current(current, T, profile, swing=θ/2)`.

    Drawn as a saw-tooth: at each step v rises to β·v[t-1] + I[t], and drops at a spike
    (by θ, or to 0). Traces: 'v', 'threshold θ', 'spikes', 'residual v[T]', 'input I[t]'.
    The title checks the rate identity: mean(I) − rate − (v[T] − v[0])/T is 0 for the IF
    neuron with reset by subtraction, and measures what a leak or a reset to zero loses.
    """
    drive = input_current(current, timesteps, profile, swing=threshold / 2)
    v0 = v_init * threshold
    out = simulate(drive, NeuronParams(threshold, beta, reset, v_init), record=True)
    v_after = out.v_trace
    v_before = beta * torch.cat([torch.tensor([v0], dtype=drive.dtype), v_after[:-1]]) + drive
    steps = torch.arange(1, timesteps + 1, dtype=torch.float64)
    rate = threshold * float(out.spikes.mean())
    residual_term = _clean((float(out.v_final) - v0) / timesteps)
    gap = _clean(float(drive.mean()) - rate - residual_term)
    fired = out.spikes.bool()

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28],
                        vertical_spacing=0.06)
    fig.add_trace(go.Scatter(
        x=[0.0, *_rounded(steps.repeat_interleave(2))],
        y=[round(v0, DIGITS), *_rounded(torch.stack([v_before, v_after], 1).flatten())],
        name="v", mode="lines", line={"color": COLORS["v"]}), row=1, col=1)
    fig.add_trace(go.Scatter(x=[0, timesteps], y=[threshold, threshold], name="threshold θ",
                             mode="lines", line={"color": COLORS["threshold"], "dash": "dash"}),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=_rounded(steps[fired]), y=_rounded(v_before[fired]),
                             name="spikes", mode="markers",
                             marker={"color": COLORS["spike"], "size": 10,
                                     "symbol": "star"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=[timesteps], y=[round(float(out.v_final), DIGITS)],
                             name="residual v[T]", mode="markers",
                             marker={"color": COLORS["residual"], "size": 12,
                                     "symbol": "diamond"}), row=1, col=1)
    fig.add_trace(go.Bar(x=_rounded(steps), y=_rounded(drive), name="input I[t]",
                         marker={"color": COLORS["input"]}), row=2, col=1)
    kind = "IF" if beta == 1.0 else f"LIF β={beta:g}"
    title = (f"{kind}, reset {reset}: {int(out.spikes.sum())} spikes in T={timesteps}, "
             f"rate θ·Σs/T = {rate:.3f}<br>mean input {float(drive.mean()):.3f} = rate "
             f"+ (v[T]−v[0])/T ({residual_term:.3f}) + lost ({gap:.3f})")
    fig.update_xaxes(title_text="time step t", row=2, col=1)
    fig.update_yaxes(title_text="membrane potential v", row=1, col=1)
    fig.update_yaxes(title_text="I[t]", row=2, col=1)
    return _layout(fig, title, "v climbs by I[t] each step, spikes (stars) at θ (dashed) and "
                   "drops; diamond: v[T]")


def rate_curve(inputs: Tensor, threshold: float = 1.0, timesteps: int = 8, beta: float = 1.0,
               reset: Reset = "subtract", v_init: float = 0.0) -> tuple[Tensor, Tensor]:
    """Rate θ·Σs/T and residual v[T] of one neuron per entry of `inputs` (constant currents)."""
    if timesteps < 1:
        raise ValueError(f"timesteps must be ≥ 1, got {timesteps}")
    drive = inputs.unsqueeze(0).expand(timesteps, *inputs.shape)
    out = simulate(drive, NeuronParams(threshold, beta, reset, v_init))
    return threshold * out.spikes.mean(0), out.v_final


def staircase_figure(threshold: float = 1.0, timesteps: int = 8, beta: float = 1.0,
                     reset: Reset = "subtract", v_init: float = 0.0,
                     points: int = 281) -> go.Figure:
    """Rate after T steps against a constant input z in [−θ/4, 1.5θ], and the residual v[T].

    Traces: 'SNN rate' (multiples of θ/T: the quantization step), 'ANN clip(z, 0, θ)', and in
    the lower panel 'residual v[T]' with the band [0, θ) it stays in for the IF neuron.
    """
    z = grid.linspace(-0.25 * threshold, 1.5 * threshold, points)
    rate, v_final = rate_curve(z, threshold, timesteps, beta, reset, v_init)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                        vertical_spacing=0.06)
    x = _rounded(z)
    fig.add_trace(go.Scatter(x=x, y=_rounded(z.clamp(0, threshold)), name="ANN clip(z, 0, θ)",
                             **ANN), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=_rounded(rate), name="SNN rate θ·Σs/T", mode="lines",
                             line={"color": COLORS["v"], "shape": "hv"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=_rounded(v_final), name="residual v[T]", mode="lines",
                             line={"color": COLORS["residual"]}), row=2, col=1)
    fig.add_hrect(y0=0, y1=threshold, fillcolor=COLORS["residual"], opacity=0.1, line_width=0,
                  row=2, col=1)
    kind = "IF" if beta == 1.0 else f"LIF β={beta:g}"
    title = (f"{kind}, reset {reset}, v[0] = {v_init:g}·θ, T = {timesteps}: "
             f"the rate moves in steps of θ/T = {threshold / timesteps:.4g}")
    fig.update_xaxes(title_text="constant input z", row=2, col=1)
    fig.update_yaxes(title_text="rate", row=1, col=1)
    fig.update_yaxes(title_text="v[T]", row=2, col=1)
    return _layout(fig, title, "The SNN rate (solid steps) under the ANN's clip(z, 0, θ) "
                   "(dashed); below: residual v[T]")


def rate_identity_figure(preactivation: Tensor, rate: Tensor, residual_term: Tensor,
                         threshold: float = 1.0) -> go.Figure:
    """Each neuron's SNN rate against the ANN's z = W·r_in + b, and against z − (v[T]−v[0])/T.

    Traces: 'rate vs z' (scattered off the ANN line by the residual), 'rate vs z − residual'
    (on the diagonal: the identity), 'ANN clip(z, 0, θ)'.
    """
    z, r, res = (t.detach().flatten().double() for t in (preactivation, rate, residual_term))
    lo, hi = float(torch.minimum(z, z - res).min()), float(torch.maximum(z, z - res).max())
    line = grid.linspace(lo, hi, 101)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=_rounded(line), y=_rounded(line.clamp(0, threshold)),
                             name="ANN clip(z, 0, θ)", **ANN))
    fig.add_trace(go.Scatter(x=_rounded(z), y=_rounded(r), name="rate vs z", mode="markers",
                             marker={"color": COLORS["spike"], "size": 6, "opacity": 0.7}))
    fig.add_trace(go.Scatter(x=_rounded(z - res), y=_rounded(r), name="rate vs z − residual",
                             mode="markers",
                             marker={"color": COLORS["v"], "size": 5, "symbol": "x"}))
    error = float((r - (z - res)).abs().max())
    verdict = "< 1e-9" if error < 1e-9 else f"= {error:.1e}"
    fig.update_xaxes(title_text="ANN pre-activation z = W·r_in + b")
    fig.update_yaxes(title_text="SNN rate θ·Σs/T")
    return _layout(fig, f"rate = z − (v[T]−v[0])/T for every neuron (max |error| {verdict})",
                   "Circles (rate vs z) scatter off the ANN line; crosses (vs z − residual) lie "
                   "on the diagonal")


def _clean(x: float) -> float:
    """x rounded to 1e-9, without a negative zero (titles print the same on every machine)."""
    return round(x, 9) + 0.0


def _rounded(values: Tensor) -> list[float]:
    return [round(v, DIGITS) for v in values.double().tolist()]


def _layout(fig: go.Figure, title: str, description: str) -> go.Figure:
    lines = title.count("<br>") + 1  # the title's lines, then the description under them
    fig.update_layout(title={"text": title, "font": {"size": 14}}, template=theme.TEMPLATE,
                      height=460 + 20 * lines, legend={"orientation": "h", "y": -0.18})
    theme.describe(fig, description)
    fig.update_layout(margin={"l": 60, "r": 20, "t": 55 + 20 * lines, "b": 50})
    return fig
