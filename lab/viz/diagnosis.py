"""Figures of a conversion diagnosis (`lab.conversion.diagnosis`): per layer and per T.

`diagnosis_figure(d)`: left, each IF layer's gap std (SNN rate − ANN activation, in θ), one
line per T, where the error starts and whether it compounds with depth; right, the validation
accuracy against T of the current and the recommended setting with the ANN's as a dashed
reference. `effect_figure`: accuracy against T before and after a fix, over seeds. Data is
rounded so stored notebooks stay small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..conversion.diagnosis import Diagnosis
from ..core import stats, theme

DIGITS = 4
_SEQUENTIAL = ("#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")


def _shade(i: int, n: int) -> str:
    """Light (small T) to dark (large T) blue, spread over the palette."""
    k = 0 if n <= 1 else round(i * (len(_SEQUENTIAL) - 1) / (n - 1))
    return _SEQUENTIAL[k]


def diagnosis_figure(d: Diagnosis) -> go.Figure:
    """Gap std per layer at every T (left) and accuracy against T (right)."""
    fig = make_subplots(1, 2, column_widths=[0.55, 0.45], horizontal_spacing=0.12,
                        subplot_titles=("gap std per IF layer (units of θ)",
                                        "validation accuracy (%)"))
    names = [layer.name for layer in d.layers]
    for i, T in enumerate(d.timesteps):
        fig.add_scatter(x=names, y=[round(layer.gap_std[T], DIGITS) for layer in d.layers],
                        name=f"T = {T}", mode="lines+markers",
                        line={"color": _shade(i, len(d.timesteps))}, legendgroup="gap",
                        row=1, col=1)
    ts = [str(T) for T in d.timesteps]  # a category axis: the grid doubles T, evenly spaced
    for setting, key, label in ((d.current, "threshold_balancing", "current"),
                                (d.recommended, "qcfs", "recommended")):
        fig.add_scatter(x=ts, y=[round(setting.accuracy[T], 2) for T in d.timesteps],
                        name=f"{label}: {setting.describe()}", **theme.trace_style(key),
                        row=1, col=2)
        if setting == d.recommended and d.recommended == d.current:
            break
    fig.add_scatter(x=[ts[0], ts[-1]], y=[round(d.ann_accuracy, 2)] * 2, name="ANN",
                    **theme.trace_style("ann"), row=1, col=2)
    fig.update_xaxes(type="category", title_text="IF layer (input side first)", row=1, col=1)
    fig.update_xaxes(type="category", title_text="timesteps T", row=1, col=2)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_layout(title=f"Where the conversion of {d.model} loses accuracy", height=460,
                      margin={"b": 40, "l": 50, "r": 10}, legend={"orientation": "h", "y": -0.3})
    return theme.describe(fig, "Gap: SNN rate − ANN activation on validation images, in θ; "
                               "a std rising with depth is the residual error compounding.")


def effect_figure(before: Mapping[int, Sequence[float]], after: Mapping[int, Sequence[float]],
                  ann: Sequence[float], labels: tuple[str, str] = ("before", "after"),
                  description: str = "Mean over seeds; bands: 95% intervals; dashed: the ANN."
                  ) -> go.Figure:
    """Accuracy against T before and after a fix: `before[T]`, `after[T]` hold one accuracy
    per seed (the same seeds), `ann` the ANN's per seed; mean with its 95% interval (band)."""
    fig = go.Figure()
    ts = sorted(before)
    xs = [str(T) for T in ts]  # a category axis: the grid doubles T, evenly spaced
    for values, key, label in ((before, "threshold_balancing", labels[0]),
                               (after, "qcfs", labels[1])):
        summaries = [stats.summary(values[T]) for T in ts]
        if summaries[0].n > 1:
            fig.add_scatter(x=xs + xs[::-1],
                            y=[round(s.ci_high, 2) for s in summaries]
                            + [round(s.ci_low, 2) for s in summaries[::-1]],
                            fill="toself", fillcolor=theme.band(key), line={"width": 0},
                            mode="lines",
                            hoverinfo="skip", showlegend=False)
        fig.add_scatter(x=xs, y=[round(s.mean, 2) for s in summaries], name=label,
                        **theme.trace_style(key))
    mean = round(stats.summary(ann).mean, 2)
    fig.add_scatter(x=[xs[0], xs[-1]], y=[mean, mean], name="ANN", **theme.trace_style("ann"))
    fig.update_layout(title="Test accuracy against T, before and after the fix",
                      xaxis={"type": "category", "title": "timesteps T"},
                      yaxis_title="test accuracy (%)", height=420,
                      margin={"b": 40, "l": 50, "r": 10}, legend={"orientation": "h", "y": -0.25})
    return theme.describe(fig, description)
