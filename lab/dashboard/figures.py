"""Compare's two figures: a curve against its steps, and accuracy against cost.

Traces are plain dicts (plotly.js's schema) without plotly.py's validation, and bands and levels
are layout shapes: both keep a page of hundreds of runs as quick to draw as an empty one. The
legend sits below the plot, where the modebar (top right) cannot cover it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import plotly.graph_objects as go

from ..core import metrics, stats
from .summary import (
    ANN_ACCURACY,
    HEADLINE,
    HEADLINES,
    Group,
    axes,
    energy_nj,
    operations,
    si,
)

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")
COSTS = {  # what accuracy is plotted against: per-run value and axis title
    "operations": (operations, f"{metrics.metric('snn_ops').label}, mean ± 95% CI"),
    "energy": (energy_nj, "estimated energy per sample (nJ), mean ± 95% CI"),
}
_AXIS = {"gridcolor": "#e5e5e5", "zeroline": False, "linecolor": "#999", "ticks": "outside"}


def _layout(x_title: str, y_title: str, shapes: list[dict], **x: object) -> dict:
    return {
        "height": 460, "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
        "paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"size": 12},
        "xaxis": {**_AXIS, "title": {"text": x_title}, **x},
        "yaxis": {**_AXIS, "title": {"text": y_title}},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.16, "x": 0},
        "showlegend": True, "hovermode": "closest", "shapes": shapes}


def _name(g: Group) -> str:
    return g.label + (f" ({len(g.runs)} seeds)" if len(g.runs) > 1 else "")


def accuracy_figure(groups: Sequence[Group], key: str = HEADLINE,
                    log_x: bool = False) -> go.Figure:
    """Curve `key` against its x (`axes(key)`) for each group: the mean over seeds as a line,
    ± one standard deviation as a shaded band, the group's source ANN (if any) as a dashed level
    under an accuracy curve. `HEADLINE` draws each group's own headline curve."""
    traces: list[dict] = []
    shapes: list[dict] = []
    drawn: list[str] = []
    for i, g in enumerate(groups):
        curve, own = g.curve(key), g.resolve(key)
        x = g.x(key, len(curve[0])) if curve is not None else None
        if x is None:  # no curve, or its runs lack the curve of x values: nothing true to draw
            continue
        mean, spread = curve
        drawn.append(own)
        color, name = COLORS[i % len(COLORS)], _name(g)
        if spread.any():
            upper = [f"{t},{y:.3f}" for t, y in zip(x, mean + spread, strict=True)]
            lower = [f"{t},{y:.3f}" for t, y in zip(x, mean - spread, strict=True)][::-1]
            shapes.append({"type": "path", "path": "M " + " L ".join(upper + lower) + " Z",
                           "xref": "x", "yref": "y", "fillcolor": _rgba(color, 0.18),
                           "line": {"width": 0}, "layer": "below"})
        traces.append({
            "type": "scatter", "x": x, "y": mean.round(3).tolist(), "name": name,
            "mode": "lines+markers", "line": {"color": color, "width": 2},
            "marker": {"size": 5}, "customdata": spread.round(3).tolist(),
            "hovertemplate": "%{x}: %{y:.2f} ± %{customdata:.2f}<extra>" + name + "</extra>"})
        ann = g.metric(ANN_ACCURACY)
        if ann and own in HEADLINES:
            shapes.append({"type": "line", "xref": "x", "yref": "y", "x0": x[0], "x1": x[-1],
                           "y0": ann[0], "y1": ann[0], "layer": "below",
                           "line": {"color": color, "dash": "dash", "width": 1}})
    specs = [axes(k) for k in dict.fromkeys(drawn or [HEADLINES[0] if key == HEADLINE else key])]
    longest = max((len(t["x"]) for t in traces), default=0)
    whole_steps = not log_x and all(s.x is None for s in specs) and longest <= 16
    x_title = " · ".join(dict.fromkeys(s.x_label for s in specs))
    y_title = (axes(HEADLINES[0]).y.axis if key == HEADLINE  # all test accuracy, in %
               else " · ".join(dict.fromkeys(s.y.axis for s in specs)))
    layout = _layout(x_title, y_title, shapes, **({"type": "log"} if log_x else {}),
                     **({"dtick": 1} if whole_steps else {}))  # x is 1, 2, 3, ...
    layout["hovermode"] = "x unified" if len(specs) == 1 else "closest"
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def cost_figure(groups: Sequence[Group], cost: str = "operations",
                log_x: bool = True) -> go.Figure:
    """Test accuracy against `cost` ('operations' or 'energy' per sample), one point per group:
    the mean over seeds with its 95% t-interval (`lab.core.stats.summary`) on both axes."""
    of, x_title = COSTS[cost]
    traces: list[dict] = []
    for i, g in enumerate(groups):
        xs, ys = [], []
        for run in g.runs:  # seeds with both numbers, so x and y are of the same runs
            x, y = of(run), run.metrics.get("accuracy")
            if x is not None and isinstance(y, int | float) and math.isfinite(y):
                xs.append(x)
                ys.append(float(y))
        if not xs:
            continue
        sx, sy = stats.summary(xs), stats.summary(ys)
        color, name = COLORS[i % len(COLORS)], _name(g)
        traces.append({
            "type": "scatter", "mode": "markers", "name": name, "x": [sx.mean], "y": [sy.mean],
            "marker": {"color": color, "size": 10},
            "error_x": _interval(sx, color), "error_y": _interval(sy, color),
            "hovertemplate": (f"accuracy {_ci(sy, '{:.2f}'.format)} %<br>{cost} {_ci(sx, si)}"
                              f"<br>n = {sx.n}<extra>{name}</extra>")})
    layout = _layout(x_title, f"{metrics.metric('accuracy').axis}, mean ± 95% CI", [],
                     **({"type": "log"} if log_x else {}))
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def _interval(s: stats.Summary, color: str) -> dict:
    """Plotly error bars from the mean to the interval's ends (none with one seed)."""
    if s.n < 2:
        return {"visible": False}
    return {"type": "data", "symmetric": False, "array": [s.ci_high - s.mean],
            "arrayminus": [s.mean - s.ci_low], "color": color, "thickness": 1.5, "width": 4}


def _ci(s: stats.Summary, fmt: Callable[[float], str]) -> str:
    """'mean [low, high]', or 'mean (one seed)'."""
    if s.n < 2:
        return f"{fmt(s.mean)} (one seed)"
    return f"{fmt(s.mean)} [{fmt(s.ci_low)}, {fmt(s.ci_high)}]"


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
