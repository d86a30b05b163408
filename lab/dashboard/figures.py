"""The dashboard's figures: a curve against its steps, accuracy against cost, and the paired
difference of two configurations per step.

Traces are plain dicts (plotly.js's schema) without plotly.py's validation, and bands and levels
are layout shapes: both keep a page of hundreds of runs as quick to draw as an empty one. The
legend sits below the plot, where the modebar (top right) cannot cover it. Every figure has the
lab's one look (`lab.core.theme`): its template, each method's colour, dash and marker (a second
configuration of a method keeps its colour and marker and takes another dash), and a one-line
description under the title.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable, Sequence

import plotly.graph_objects as go
import plotly.io as pio

from ..core import metrics, stats, theme
from .cost_table import si
from .paired import Difference
from .summary import (
    ANN_ACCURACY,
    HEADLINE,
    HEADLINES,
    Group,
    axes,
    energy_nj,
    operations,
)

# A method's second, third... configuration: its colour and marker, another dash ("dash" is
# the ANN's).
DASHES = ("solid", "dot", "dashdot", "longdash", "longdashdot")
COSTS = {  # what accuracy is plotted against: per-run value and axis title
    "operations": (operations, f"{metrics.metric('snn_ops').label}, mean ± 95% CI"),
    "energy": (energy_nj, "estimated energy per sample (nJ), mean ± 95% CI"),
}
_AXIS = {"gridcolor": "#e5e5e5", "zeroline": False, "linecolor": "#999", "ticks": "outside"}


def method_style(method: str, config: dict | None = None) -> tuple[str, str, str]:
    """(colour, dash, marker) of a stored method (conversion: of its variant), from the theme;
    a method the theme does not know gets the theme's colours in turn, by its name."""
    name = config.get("variant", method) if method == "conversion" and config else method
    if method == "conversion" and config and config.get("levels_equal_timesteps"):
        name = "qcfs_lt"
    try:
        return theme.METHODS[theme.method_key(name.replace("-", "_"))][:3]
    except KeyError:
        colours = pio.templates[theme.TEMPLATE].layout.colorway
        return colours[sum(map(ord, method)) % len(colours)], "solid", "circle"


def styles(groups: Sequence[Group]) -> list[tuple[str, str, str]]:
    """Each group's (colour, dash, marker): its method's, the dash cycling within a method."""
    seen: dict[str, int] = {}
    out = []
    for g in groups:
        color, dash, marker = method_style(g.method, dict(g.config))
        nth = seen[color + marker] = seen.get(color + marker, -1) + 1
        out.append((color, dash if nth == 0 else DASHES[nth % len(DASHES)], marker))
    return out


def finish(figure: go.Figure, description: str) -> go.Figure:
    """The lab's template and the figure's one-line description (`lab.core.theme`)."""
    # As the template itself: an unvalidated figure would keep its name, which plotly.js (and
    # Panel, reading the template's font) cannot resolve.
    figure.layout.template = _template()
    return theme.describe(figure, description)


@functools.cache
def _template() -> dict:
    """The "lab" template's layout and its scatter defaults: the rest (defaults of every other
    trace type) would be sent with each figure for nothing."""
    template = pio.templates[theme.TEMPLATE].to_plotly_json()
    return {"layout": template["layout"], "data": {"scatter": template["data"]["scatter"]}}


def _layout(x_title: str, y_title: str, shapes: list[dict], **x: object) -> dict:
    return {
        "height": 500, "margin": {"l": 60, "r": 20, "t": 90, "b": 50},
        "xaxis": {**_AXIS, "title": {"text": x_title}, **x},
        "yaxis": {**_AXIS, "title": {"text": y_title}},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.16, "x": 0},
        "showlegend": True, "hovermode": "closest", "shapes": shapes}


def _name(g: Group) -> str:
    """The group's legend entry: its label (stored config values) escaped, since Plotly draws
    a subset of HTML in names, hover labels and titles."""
    return html.escape(g.label) + (f" ({len(g.runs)} seeds)" if len(g.runs) > 1 else "")


def accuracy_figure(groups: Sequence[Group], key: str = HEADLINE,
                    log_x: bool = False) -> go.Figure:
    """Curve `key` against its x (`axes(key)`) for each group: the mean over seeds as a line,
    its 95% interval as a shaded band, the group's source ANN (if any) as a dashed level under
    an accuracy curve. `HEADLINE` draws each group's own headline curve."""
    traces: list[dict] = []
    shapes: list[dict] = []
    drawn: list[str] = []
    for g, (color, dash, marker) in zip(groups, styles(groups), strict=True):
        curve, own = g.curve(key), g.resolve(key)
        x = g.x(key, len(curve[0])) if curve is not None else None
        if x is None:  # no curve, or its runs lack the curve of x values: nothing true to draw
            continue
        mean, spread = curve
        drawn.append(own)
        name = _name(g)
        if spread.any():
            upper = [f"{t},{y:.3f}" for t, y in zip(x, mean + spread, strict=True)]
            lower = [f"{t},{y:.3f}" for t, y in zip(x, mean - spread, strict=True)][::-1]
            shapes.append({"type": "path", "path": "M " + " L ".join(upper + lower) + " Z",
                           "xref": "x", "yref": "y", "fillcolor": _rgba(color, 0.18),
                           "line": {"width": 0}, "layer": "below"})
        traces.append({
            "type": "scatter", "x": x, "y": mean.round(3).tolist(), "name": name,
            "mode": "lines+markers", "line": {"color": color, "width": 2, "dash": dash},
            "marker": {"size": 6, "color": color, "symbol": marker},
            "customdata": spread.round(3).tolist(),
            "hovertemplate": "%{x}: %{y:.2f} ± %{customdata:.2f} (95% interval, n = "
                             f"{len(g.runs)})<extra>{name}</extra>"})
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
    seeds = max((len(g.runs) for g in groups), default=1)
    return finish(go.Figure({"data": traces, "layout": layout}, _validate=False),
                  f"{y_title} against {x_title} for each picked configuration: the mean over "
                  "its seeds" + (", the band its 95% interval; dashed levels: the source ANN"
                                 if seeds > 1 else "; dashed levels: the source ANN"))


def cost_figure(groups: Sequence[Group], cost: str = "operations",
                log_x: bool = True) -> go.Figure:
    """Test accuracy against `cost` ('operations' or 'energy' per sample), one point per group:
    the mean over seeds with its 95% t-interval (`lab.core.stats.summary`) on both axes."""
    of, x_title = COSTS[cost]
    traces: list[dict] = []
    for g, (color, _, marker) in zip(groups, styles(groups), strict=True):
        xs, ys = [], []
        for run in g.runs:  # seeds with both numbers, so x and y are of the same runs
            x, y = of(run), run.metrics.get("accuracy")
            if x is not None and isinstance(y, int | float) and math.isfinite(y):
                xs.append(x)
                ys.append(float(y))
        if not xs:
            continue
        sx, sy = stats.summary(xs), stats.summary(ys)
        name = _name(g)
        traces.append({
            "type": "scatter", "mode": "markers", "name": name, "x": [sx.mean], "y": [sy.mean],
            "marker": {"color": color, "size": 11, "symbol": marker},
            "error_x": _interval(sx, color), "error_y": _interval(sy, color),
            "hovertemplate": (f"accuracy {_ci(sy, '{:.2f}'.format)} %<br>{cost} {_ci(sx, si)}"
                              f"<br>n = {sx.n}<extra>{name}</extra>")})
    layout = _layout(x_title, f"{metrics.metric('accuracy').axis}, mean ± 95% CI", [],
                     **({"type": "log"} if log_x else {}))
    return finish(go.Figure({"data": traces, "layout": layout}, _validate=False),
                  f"Test accuracy against {cost} per sample, one point per configuration: "
                  "the mean over its seeds, the bars their 95% intervals (up and right is "
                  "better accuracy at more cost)")


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


def difference_figure(diff: Difference, method: str = "") -> go.Figure:
    """a − b against the step: the mean paired difference as a line, its 95% interval as a
    band, and the zero line; where the band holds 0 there is no measurable difference."""
    color, _, marker = method_style(method) if method else (theme.GREY, "solid", "circle")
    shown = [(x, d) for x, d in zip(diff.x, diff.steps, strict=True)]
    shapes = [{"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": 0,
               "y1": 0, "line": {"color": theme.REFERENCE, "width": 1}, "layer": "below"}]
    with_ci = [(x, d) for x, d in shown if not math.isnan(d.ci_low)]
    if with_ci:
        upper = [f"{x},{d.ci_high:.3f}" for x, d in with_ci]
        lower = [f"{x},{d.ci_low:.3f}" for x, d in with_ci][::-1]
        shapes.append({"type": "path", "path": "M " + " L ".join(upper + lower) + " Z",
                       "xref": "x", "yref": "y", "fillcolor": _rgba(color, 0.18),
                       "line": {"width": 0}, "layer": "below"})
    name = f"{html.escape(diff.a)} − {html.escape(diff.b)}"
    trace = {"type": "scatter", "mode": "lines+markers", "name": name,
             "x": [x for x, _ in shown], "y": [round(d.mean_diff, 3) for _, d in shown],
             "line": {"color": color, "width": 2}, "marker": {"color": color, "symbol": marker},
             "customdata": [[d.ci_low, d.ci_high, d.n] for _, d in shown],
             "hovertemplate": "%{x}: %{y:+.2f} points [%{customdata[0]:.2f}, "
                              "%{customdata[1]:.2f}], n = %{customdata[2]}<extra></extra>"}
    layout = _layout(diff.x_label, "difference in test accuracy (points), 95% CI", shapes,
                     **({"dtick": 1} if len(shown) <= 16 else {}))
    return finish(go.Figure({"data": [trace], "layout": layout}, _validate=False),
                  f"{name} in test accuracy at each step over {len(diff.seeds)} matched seeds: "
                  "the mean paired difference, the band its 95% interval; a band across 0 is "
                  "no measurable difference")
