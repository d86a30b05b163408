"""One look for every figure: the "lab" plotly template, one colour per method, a description.

Every notebook figure and every dashboard chart draws a method in the same colour, and also
with its own line dash and marker, so no information is carried by colour alone. An ANN and
the SNN converted from it share the method's colour: the ANN is drawn dashed. Colours are the
Okabe–Ito palette (distinguishable with the common colour-vision deficiencies), with two of
Paul Tol's muted colours for the streaming and sequential rollouts.

    >>> import plotly.graph_objects as go
    >>> from lab.core import theme
    >>> fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], **theme.trace_style("qcfs")))
    >>> fig = theme.describe(fig, "QCFS accuracy rises with T.")   # the figure's one-line text
    >>> fig.layout.title.subtitle.text
    'QCFS accuracy rises with T.'

`describe` puts the one-line description under the title (plotly's subtitle), so it shows in
JupyterLab, in the static PNG and in the dashboard alike.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

TEMPLATE = "lab"
# Okabe & Ito (2008), "Color universal design"; grey for references.
OKABE_ITO = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000"}
# Two from Paul Tol's muted scheme (also safe): Okabe-Ito's yellow is too pale on white.
TOL = {"wine": "#882255", "teal": "#44AA99"}
GREY = "#7f7f7f"
REFERENCE = "#999999"  # chance levels, ANN references without a method

# method key → (colour, dash, marker symbol, label). Keys are the lab's names: registry methods,
# conversion variants, controls. `method_key` maps the names used in stored results here.
METHODS: dict[str, tuple[str, str, str, str]] = {
    "bptt": (OKABE_ITO["black"], "solid", "circle", "surrogate BPTT"),
    "threshold_balancing": (OKABE_ITO["sky"], "solid", "square", "threshold balancing"),
    "qcfs": (OKABE_ITO["blue"], "solid", "diamond", "QCFS (L fixed)"),
    "qcfs_lt": (OKABE_ITO["purple"], "solid", "triangle-up", "QCFS (L = T)"),
    "residual_noise": (OKABE_ITO["vermillion"], "solid", "star", "residual noise"),
    "noise_single_step": (OKABE_ITO["orange"], "solid", "hexagon", "noise single-step"),
    "ttl_bptt": (OKABE_ITO["green"], "solid", "triangle-down", "TTL-BPTT"),
    "streaming": (TOL["wine"], "solid", "pentagon", "streaming rollout"),
    "sequential": (TOL["teal"], "solid", "triangle-right", "sequential rollout"),
    "ann": (GREY, "dash", "circle-open", "ANN"),
    "memoryless": (GREY, "dot", "x", "memoryless control"),
    "shuffled": (GREY, "dashdot", "cross", "time-shuffled control"),
    "frame_index": (GREY, "longdash", "square-open", "frame-index control"),
    "chance": (REFERENCE, "dot", "line-ew", "chance"),
}
ALIASES = {"conversion": "qcfs", "ttl-bptt": "ttl_bptt", "noise-single-step": "noise_single_step",
           "noise": "residual_noise", "residual": "residual_noise", "tb": "threshold_balancing",
           "threshold": "threshold_balancing", "threshold-balancing": "threshold_balancing",
           "qcfs_l=t": "qcfs_lt", "qcfs(l=t)": "qcfs_lt", "qcfs-lt": "qcfs_lt",
           "surrogate": "bptt", "snn": "streaming", "time_shuffled": "shuffled",
           "frame-index": "frame_index"}


def method_key(name: str) -> str:
    """The theme's key for a method, variant or control name (case and '-'/' ' ignored).

    Raises KeyError naming the known keys for a name the theme does not know.
    """
    key = str(name).strip().lower().replace(" ", "_")
    key = ALIASES.get(key, ALIASES.get(key.replace("_", "-"), key.replace("-", "_")))
    if key not in METHODS:
        raise KeyError(f"no colour for method {name!r}: known are {', '.join(METHODS)}")
    return key


def color(name: str) -> str:
    """The method's one colour, e.g. `color("qcfs") == "#0072B2"`."""
    return METHODS[method_key(name)][0]


def label(name: str) -> str:
    """The method's label in legends."""
    return METHODS[method_key(name)][3]


def trace_style(name: str, ann: bool = False, markers: bool = True) -> dict[str, Any]:
    """Keyword arguments for `go.Scatter`: the method's colour, dash and marker symbol.

    `ann=True` draws the method's source ANN: same colour, dashed, open marker.
    """
    colour, dash, symbol, _ = METHODS[method_key(name)]
    style: dict[str, Any] = {"line": {"color": colour, "dash": "dash" if ann else dash},
                             "marker": {"color": colour,
                                        "symbol": symbol + ("-open" if ann and not
                                                            symbol.endswith("-open") else "")}}
    if markers:
        style["mode"] = "lines+markers"
    return style


def band(name: str, opacity: float = 0.18) -> str:
    """The method's colour as an rgba fill for a confidence band."""
    hex_colour = color(name).lstrip("#")
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{opacity})"


def describe(fig: go.Figure, text: str) -> go.Figure:
    """Attach the figure's one-line text description (shown as the title's subtitle)."""
    if not text or "\n" in text:
        raise ValueError("a figure description is one non-empty line")
    title = fig.layout.title.text or ""
    fig.update_layout(title={"text": title, "subtitle": {"text": text}},
                      meta={**(fig.layout.meta or {}), "description": text}
                      if isinstance(fig.layout.meta, dict) or fig.layout.meta is None
                      else {"description": text})
    fig.update_layout(margin={"t": max(fig.layout.margin.t or 0, 90)})
    return fig


def description(fig: go.Figure | dict) -> str | None:
    """The one-line description `describe` attached, or None."""
    layout = fig.get("layout", {}) if isinstance(fig, dict) else fig.to_plotly_json()["layout"]
    meta = layout.get("meta")
    return meta.get("description") if isinstance(meta, dict) else None


def _register() -> None:
    base = pio.templates["plotly_white"]
    template = go.layout.Template(base)
    template.layout.colorway = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange",
                                                       "purple", "sky", "black")] + [TOL["wine"]]
    template.layout.font = {"family": "Helvetica, Arial, sans-serif", "size": 13}
    template.layout.title = {"font": {"size": 15}, "x": 0.0, "xanchor": "left"}
    template.layout.legend = {"bgcolor": "rgba(255,255,255,0.7)"}
    pio.templates[TEMPLATE] = template


def use() -> None:
    """Make "lab" plotly's default template (notebooks call it through `static.use`)."""
    _register()
    pio.templates.default = TEMPLATE


_register()
