"""A plotly figure redrawn as a PNG with matplotlib: what static viewers show (`lab.viz.static`).

The redraw covers what the lab's figures use — scatter (lines, markers, text, interval bands),
bar, heatmap, subplots, log axes, shapes (hline, hrect, vrect) and annotations; anything else
is left out of the PNG, and its title says so. The title's subtitle (a figure's one-line
description, `lab.core.theme.describe`) is drawn under it.

    >>> import plotly.graph_objects as go
    >>> to_png(go.Figure(go.Scatter(y=[1, 3, 2])))[:4]
    b'\x89PNG'
"""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import numpy as np

WIDTH_PX, DPI = 760, 100  # plotly's default figure width is about 700 px
COLORWAY = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692",
            "#B6E880", "#FF97FF", "#FECB52")  # plotly's default colours
DASHES = {"solid": "-", "dash": "--", "dot": ":", "dashdot": "-.", "longdash": "--",
          "longdashdot": "-."}
STEPS = {"hv": "steps-post", "vh": "steps-pre", "hvh": "steps-mid"}
SYMBOLS = {"circle": "o", "square": "s", "diamond": "D", "star": "*", "x": "x", "cross": "P",
           "triangle-up": "^", "triangle-down": "v", "triangle-left": "<",
           "triangle-right": ">", "pentagon": "p", "hexagon": "h", "line-ns": "|"}
CMAPS = {"viridis": "viridis", "plasma": "plasma", "blues": "Blues", "greys": "Greys",
         "reds": "Reds", "rdbu": "RdBu", "inferno": "inferno", "magma": "magma",
         "cividis": "cividis", "hot": "hot", "gray": "gray"}



def to_png(figure: Any) -> bytes:
    """A PNG of a plotly figure (a `go.Figure` or its dict), `WIDTH_PX` wide, palette-coded."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    spec = figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else figure
    layout = spec.get("layout", {})
    height_px = float(layout.get("height") or 450)
    fig = Figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI)
    skipped = _draw(fig, list(spec.get("data", [])), layout)
    title = _text(_title(layout.get("title")))
    if skipped:
        title += f"\n(static preview without: {', '.join(sorted(skipped))})"
    if title:
        fig.suptitle(title, fontsize=9.5, y=0.995, va="top")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    image = Image.fromarray(rgba[..., :3]).quantize(colors=128, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return out.getvalue()


def _draw(fig: Any, traces: list[dict], layout: dict) -> set[str]:
    """Draw every trace on its subplot; return the trace types left out."""
    colorway = list(layout.get("colorway") or _template(layout).get("colorway") or COLORWAY)
    pairs = _subplots(traces, layout)
    title_lines = _text(_title(layout.get("title"))).count("\n") + 1 if layout.get("title") else 0
    legend = _legend_entries(traces, layout)
    top = 1 - (0.05 + 0.05 * title_lines) * 460 / float(layout.get("height") or 450)
    # under the axes: tick labels and the x title (about 45 px), then the legend's rows
    longest = max((len(_text(name)) for name in legend), default=0)
    columns = max(1, min(4, len(legend) or 1, int(WIDTH_PX * 0.96 // (30 + longest * 0.6 * 8
                                                                      * DPI / 72))))
    rows = -(-len(legend) // columns) if legend else 0
    bottom = (45 + 20 * rows) / float(layout.get("height") or 450)
    scale = any(t.get("type") == "heatmap" and t.get("showscale", True) for t in traces)
    right = 0.91 if scale else 0.98
    left = _left(traces, layout)
    axes = {pair: _add_axes(fig, pair, layout, (left, bottom, right, top)) for pair in pairs}
    categories: dict[str, list] = {}
    bars: dict[tuple[str, str], list[dict]] = {}
    skipped, previous = set(), {}
    for i, trace in enumerate(traces):
        kind = trace.get("type", "scatter")
        pair = (trace.get("xaxis", "x"), trace.get("yaxis", "y"))
        ax, color = axes[pair], colorway[i % len(colorway)]
        if kind in ("scatter", "scattergl"):
            previous[pair] = _scatter(ax, trace, color, categories, pair, previous.get(pair))
        elif kind == "bar":
            bars.setdefault(pair, []).append({**trace, "_color": color})
        elif kind == "heatmap":
            _heatmap(fig, ax, trace)
        else:
            skipped.add(kind)
    for pair, group in bars.items():
        _bars(axes[pair], group, layout, categories, pair)
    for shape in layout.get("shapes", []):
        _shape(axes, shape)
    for note in layout.get("annotations", []):
        _annotation(fig, axes, note, (left, bottom, right, top))
    for (xname, yname), ax in axes.items():
        _style_axis(ax, "x", layout.get(_axis_key(xname), {}), categories.get(xname))
        _style_axis(ax, "y", layout.get(_axis_key(yname), {}), categories.get(yname))
    _match_axes(axes, layout)
    for (xname, yname), ax in axes.items():  # plotly's scaleanchor: one unit as long on both
        if layout.get(_axis_key(yname), {}).get("scaleanchor") == xname:
            ax.set_aspect("equal", adjustable="box")
    handles = [h for ax in axes.values() for h in ax.get_legend_handles_labels()[0]]
    if handles and layout.get("showlegend", True) is not False:
        fig.legend(handles=handles, loc="lower center", ncol=_legend_columns(fig, handles),
                   fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0))
    return skipped


def _left(traces: list[dict], layout: dict) -> float:
    """The left edge of the plotting area: room for the longest word label on a y axis (a
    confusion matrix's class names were cut off at a fixed 9 %), plus the y title."""
    labels = [v for t in traces if t.get("y") is not None for v in _values(t["y"])
              if isinstance(v, str)]
    labels += [str(v) for key, axis in layout.items()
               if re.fullmatch(r"yaxis\d*", key) and isinstance(axis, dict)
               and axis.get("ticktext") is not None for v in _values(axis["ticktext"])]
    longest = max((len(_text(label)) for label in labels), default=0)
    return min(0.4, max(0.09, (longest * 0.6 * 8 * DPI / 72 + 30) / WIDTH_PX))


def _subplots(traces: list[dict], layout: dict) -> list[tuple[str, str]]:
    """The (x axis, y axis) pairs to draw: those with traces, then the layout's other axes."""
    pairs = [(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in traces]
    for key, axis in layout.items():
        if re.fullmatch(r"xaxis\d*", key) and isinstance(axis, dict):
            pairs.append(("x" + key[5:], axis.get("anchor", "y")))
    return list(dict.fromkeys(pairs)) or [("x", "y")]


def _add_axes(fig: Any, pair: tuple[str, str], layout: dict,
              area: tuple[float, float, float, float]) -> Any:
    x0, y0 = layout.get(_axis_key(pair[0]), {}).get("domain", [0, 1])
    v0, v1 = layout.get(_axis_key(pair[1]), {}).get("domain", [0, 1])
    left, bottom, right, top = area
    width, height = right - left, top - bottom
    # room for the tick labels of the y axis to the right; none where no y axis shows them
    # (8 event frames side by side were squashed to half their width by that room)
    labelled = any(axis.get("visible") is not False and axis.get("showticklabels") is not False
                   for key, axis in layout.items()
                   if re.fullmatch(r"yaxis\d*", key) and isinstance(axis, dict))
    ax = fig.add_axes((left + x0 * width, bottom + v0 * height + (0.04 if v0 > 0 else 0),
                       (y0 - x0) * width - (0.05 if y0 < 1 and labelled else 0),
                       (v1 - v0) * height - (0.04 if v0 > 0 else 0)))
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return ax


def _scatter(ax: Any, trace: dict, color: str, categories: dict, pair: tuple[str, str],
             previous: tuple[np.ndarray, np.ndarray] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Draw one scatter trace; returns its (x, y), which a next trace's 'tonexty' fills to."""
    y = _values(trace.get("y"))
    x = _values(trace.get("x")) if trace.get("x") is not None else np.arange(len(y))
    x, y = _positions(x, categories, pair[0]), _positions(y, categories, pair[1])
    mode = trace.get("mode") or ("lines+markers" if len(y) < 20 else "lines")
    line, marker = trace.get("line") or {}, trace.get("marker") or {}
    label = _label(trace)
    alpha = trace.get("opacity", marker.get("opacity", 1.0))
    alpha = float(alpha) if np.isscalar(alpha) else 1.0
    colors = marker.get("color", line.get("color", color))
    size, symbol = marker.get("size", 6), str(marker.get("symbol", "circle"))
    mark = SYMBOLS.get(symbol.split("-open")[0], "o")
    # one marker colour and size: drawn with the line, so the legend shows line and marker
    inline = "markers" in mode and not isinstance(colors, list) and np.isscalar(size)
    if "lines" in mode:
        ax.plot(x, y, color=_color(line.get("color", color)),
                linestyle=DASHES.get(line.get("dash", "solid"), "-"),
                linewidth=0.75 * float(line.get("width", 2)),
                drawstyle=STEPS.get(line.get("shape"), "default"), label=label, alpha=alpha,
                **({"marker": mark, "markersize": 0.75 * float(size),
                    "markerfacecolor": "none" if "-open" in symbol else _color(colors),
                    "markeredgecolor": _color(colors)} if inline else {}))
        label = None
    fill, fill_color = trace.get("fill"), trace.get("fillcolor")
    # an rgba fillcolor carries its own opacity; a plain colour is drawn at plotly's 0.5·alpha
    fill_kw = ({"color": _color(fill_color)} if isinstance(fill_color, str) and "rgba" in
               fill_color else {"color": _color(fill_color or color), "alpha": 0.2})
    if fill == "toself":
        ax.fill(x, y, linewidth=0, **fill_kw)
    elif fill == "tonexty" and previous is not None and len(previous[0]) == len(x):
        ax.fill_between(x, previous[1].astype(float), y.astype(float), linewidth=0, **fill_kw)
    elif fill in ("tozeroy", "tonexty"):
        ax.fill_between(x, y, linewidth=0, **fill_kw)
    if "markers" in mode and not ("lines" in mode and inline):
        ax.scatter(x, y, c=[_color(c) for c in colors] if isinstance(colors, list)
                   else _color(colors), s=(0.75 * np.asarray(_values(size), float)) ** 2,
                   marker=mark, label=label, alpha=alpha, linewidths=0.5)
    if "text" in mode and trace.get("text") is not None:
        texts = trace["text"] if isinstance(trace["text"], list) else [trace["text"]] * len(x)
        # above the marker (or below, as plotly's textposition says), clear of its edge
        radius = 0.375 * float(np.max(_values(size))) if "markers" in mode else 0.0
        below = str(trace.get("textposition", "top center")).startswith("bottom")
        for xi, yi, t in zip(x, y, texts, strict=False):
            ax.annotate(_text(str(t)), (xi, yi), fontsize=7, ha="center",
                        va="top" if below else "bottom", textcoords="offset points",
                        xytext=(0, -(radius + 2) if below else radius + 2))
    return x, y


def _bars(ax: Any, group: list[dict], layout: dict, categories: dict,
          pair: tuple[str, str]) -> None:
    mode = layout.get("barmode", "group")
    n = len(group) if mode == "group" else 1
    width = 0.8 / n
    stacked: dict[float, float] = {}
    for i, trace in enumerate(group):
        horizontal = trace.get("orientation") == "h"
        pos_key, val_key = ("y", "x") if horizontal else ("x", "y")
        values = np.asarray(_values(trace.get(val_key)), dtype=float)
        pos = trace.get(pos_key)
        pos = _positions(_values(pos), categories, pair[1 if horizontal else 0]) \
            if pos is not None else np.arange(len(values))
        pos = np.asarray(pos, dtype=float)
        if n > 1:
            pos = pos + (i - (n - 1) / 2) * width
        base = np.asarray(_values(trace["base"]), float) if "base" in trace else np.zeros_like(
            values)
        if mode in ("stack", "relative"):
            base = np.array([stacked.get(p, 0.0) for p in pos]) + base
            for p, b, v in zip(pos, base, values, strict=True):
                stacked[p] = b + v
        colors = (trace.get("marker") or {}).get("color", trace["_color"])
        colors = [_color(c) for c in colors] if isinstance(colors, list) else _color(colors)
        spacing = np.diff(np.unique(pos))
        scale = float(spacing.min()) if len(spacing) else 1.0  # bars on a numeric axis
        draw = ax.barh if horizontal else ax.bar
        bars = draw(pos, values, trace.get("width", width * scale), base, color=colors,
                    label=_label(trace), align="center")
        text = trace.get("text")
        if text is not None and not isinstance(text, str):
            ax.bar_label(bars, [_text(str(t)) for t in _values(text)], fontsize=7, padding=2)
        elif isinstance(text, str) and text:
            ax.bar_label(bars, [_text(text)] * len(values), fontsize=7, padding=2)


def _heatmap(fig: Any, ax: Any, trace: dict) -> None:
    z = np.asarray(_values(trace.get("z")), dtype=float)
    x = _values(trace["x"]) if trace.get("x") is not None else np.arange(z.shape[1])
    y = _values(trace["y"]) if trace.get("y") is not None else np.arange(z.shape[0])
    image = ax.pcolormesh(np.asarray(x), np.asarray(y), z, cmap=_cmap(trace.get("colorscale")),
                          vmin=trace.get("zmin"), vmax=trace.get("zmax"), shading="nearest")
    if trace.get("showscale", True):
        bar = fig.colorbar(image, cax=ax.inset_axes((1.02, 0.0, 0.025, 1.0)))
        bar.ax.tick_params(labelsize=7)


def _shape(axes: dict, shape: dict) -> None:
    xref, yref = shape.get("xref", "x"), shape.get("yref", "y")
    ax = _axes_for(axes, xref.split()[0], yref.split()[0])
    if ax is None:
        return
    transform = _transform(ax, xref, yref)
    line = shape.get("line") or {}
    x0, x1, y0, y1 = (shape.get(k, 0) for k in ("x0", "x1", "y0", "y1"))
    opacity = float(shape.get("opacity", 1.0))
    if shape.get("type") == "rect":
        from matplotlib.patches import Rectangle

        fill = _color(shape.get("fillcolor", "rgba(0,0,0,0)"))
        if isinstance(fill, tuple):  # an rgba fill keeps its own alpha (matplotlib's alpha=
            fill, opacity = fill[:3], fill[3] * opacity  # would replace it: an opaque band)
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, transform=transform,
                               facecolor=fill, alpha=opacity, linewidth=0, zorder=0))
    elif shape.get("type") == "line":
        ax.plot([x0, x1], [y0, y1], transform=transform,
                color=_color(line.get("color", "#444")), alpha=opacity,
                linestyle=DASHES.get(line.get("dash", "solid"), "-"),
                linewidth=0.75 * float(line.get("width", 2)))


def _annotation(fig: Any, axes: dict, note: dict,
                area: tuple[float, float, float, float]) -> None:
    text = _text(str(note.get("text", "")))
    xref, yref = note.get("xref", "x"), note.get("yref", "y")
    align = {"ha": {"left": "left", "right": "right"}.get(note.get("xanchor"), "center"),
             "va": {"top": "top", "bottom": "bottom"}.get(note.get("yanchor"), "center")}
    if xref == "paper" and yref == "paper":  # paper: the plotting area, as (0, 0)–(1, 1)
        left, bottom, right, top = area
        fig.text(left + note.get("x", 0.5) * (right - left),
                 bottom + note.get("y", 0.5) * (top - bottom), text, fontsize=8.5, **align)
        return
    ax = _axes_for(axes, xref.split()[0], yref.split()[0])
    if ax is not None:  # a few points off the anchor, as plotly pads: clear of the axis line
        pad = {"left": 3, "right": -3}.get(align["ha"], 0), {"bottom": 2, "top": -2}.get(
            align["va"], 0)
        ax.annotate(text, (note.get("x", 0), note.get("y", 0)), fontsize=8,
                    xycoords=_transform(ax, xref, yref), xytext=pad,
                    textcoords="offset points", **align)


def _style_axis(ax: Any, which: str, axis: dict, cats: list | None) -> None:
    from matplotlib.ticker import FuncFormatter, NullLocator

    set_scale, set_label, set_lim = (getattr(ax, f"set_{which}{name}")
                                     for name in ("scale", "label", "lim"))
    log = axis.get("type") == "log"
    if log:
        set_scale("log")
    set_label(_text(_title(axis.get("title"))), fontsize=8.5)
    if axis.get("range") is not None:
        low, high = axis["range"]
        set_lim(*((10 ** low, 10 ** high) if log else (low, high)))
    if cats:
        getattr(ax, f"set_{which}ticks")(range(len(cats)), [_text(str(c)) for c in cats])
    if axis.get("tickvals") is not None:  # plotly's own tick positions and labels
        values = [float(v) for v in _values(axis["tickvals"])]
        labels = axis.get("ticktext")
        # as plotly labels them: the numbers themselves (a log axis would label decades only)
        getattr(ax, f"set_{which}ticks")(values, [_text(str(t)) for t in _values(labels)]
                                         if labels is not None else [f"{v:g}" for v in values])
        if log:  # no unlabelled minor ticks between the chosen ones
            getattr(ax, f"{which}axis").set_minor_locator(NullLocator())
    elif log:  # 1, 10, 100 rather than 10⁰, 10¹, 10²
        getattr(ax, f"{which}axis").set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    if which == "x":
        _unclutter(ax)
    if axis.get("showticklabels") is False:
        ax.tick_params(axis=which, labelbottom=False, labelleft=False)
    if axis.get("autorange") == "reversed":
        getattr(ax, f"invert_{which}axis")()
    if axis.get("visible") is False:
        ax.axis("off")


def _unclutter(ax: Any) -> None:
    """x tick labels that would overlap side by side (DejaVu Sans: about 0.65 em a glyph):
    numbers thinned out, words broken into lines at their spaces, or, where one word alone is
    too wide, tilted."""
    import textwrap

    from matplotlib.ticker import MaxNLocator

    ticks, labels = ax.get_xticks(), [t.get_text() for t in ax.get_xticklabels()]
    if len(labels) < 2:
        return
    glyph_px = 0.65 * 8 * ax.figure.dpi / 72
    width_px = ax.get_position().width * ax.figure.get_figwidth() * ax.figure.dpi
    widest_px = max(len(label) for label in labels) * glyph_px
    if widest_px <= width_px / len(labels):
        return
    if all(re.fullmatch(r"[−\-+]?[\d.,]+(e[−\-+]?\d+)?%?", label) for label in labels if label):
        ax.xaxis.set_major_locator(MaxNLocator(nbins=max(1, int(width_px // (1.6 * widest_px)))))
        return
    room = width_px / len(labels)
    lines = [textwrap.wrap(label, max(1, int(room // glyph_px)), break_long_words=False) or [""]
             for label in labels]
    if max(len(line) for label in lines for line in label) * glyph_px <= room:
        ax.set_xticks(ticks, ["\n".join(label) for label in lines])
    else:
        ax.tick_params(axis="x", labelrotation=30)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")


def _match_axes(axes: dict, layout: dict) -> None:
    """Give axes that plotly `matches` (shared axes of subplots) one common range."""
    for key, axis in layout.items():
        if not (isinstance(axis, dict) and axis.get("matches")):
            continue
        which, name = key[0], key[0] + key[5:]
        group = [ax for pair, ax in axes.items()
                 if pair[0 if which == "x" else 1] in (name, axis["matches"])]
        if len({getattr(ax, f"get_{which}scale")() for ax in group}) > 1:
            continue  # plotly requires matched axes of one type; draw them apart otherwise
        limits = [getattr(ax, f"get_{which}lim")() for ax in group]
        span = (min(lo for lo, _ in limits), max(hi for _, hi in limits))
        for ax in group:
            getattr(ax, f"set_{which}lim")(*span)


def _legend_columns(fig: Any, handles: list) -> int:
    """As many columns (at most 4) as fit the figure's width: an entry is its symbol (about
    30 px) and its label (about 0.6 em a glyph at 8 pt)."""
    width_px = fig.get_figwidth() * fig.dpi * 0.96
    entry_px = max(30 + len(h.get_label()) * 0.6 * 8 * fig.dpi / 72 for h in handles)
    return max(1, min(4, len(handles), int(width_px // entry_px)))


def _legend_entries(traces: list[dict], layout: dict) -> list[str]:
    if layout.get("showlegend") is False:
        return []
    return [t["name"] for t in traces if t.get("name") and t.get("showlegend", True) is not False]


def _label(trace: dict) -> str | None:
    shown = trace.get("name") and trace.get("showlegend", True) is not False
    return _text(str(trace["name"])) if shown else None


def _positions(values: Any, categories: dict, axis: str) -> np.ndarray:
    """Numbers as they are; strings as their index on the axis (plotly's category axis)."""
    values = list(values) if not isinstance(values, np.ndarray) else values
    if len(values) and any(isinstance(v, str) for v in values):
        cats = categories.setdefault(axis, [])
        for v in values:
            if v not in cats:
                cats.append(v)
        return np.array([cats.index(v) for v in values], dtype=float)
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _values(data: Any) -> Any:
    """A plotly data array: a list, a number, or a typed array {"dtype", "bdata", "shape"}."""
    if isinstance(data, dict) and "bdata" in data:
        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        shape = data.get("shape")
        if shape:
            array = array.reshape([int(s) for s in str(shape).split(",")])
        return array
    if isinstance(data, list) and data and isinstance(data[0], dict) and "bdata" in data[0]:
        return np.stack([_values(d) for d in data])
    return data if isinstance(data, list | np.ndarray) else [data]


def _color(value: Any) -> Any:
    """matplotlib's form of a plotly colour: 'rgb(…)'/'rgba(…)' become tuples, None grey."""
    if value is None:
        return "#444444"
    if isinstance(value, str):
        match = re.fullmatch(r"\s*rgba?\(([^)]*)\)\s*", value)
        if match:
            parts = [float(p) for p in match.group(1).split(",")]
            return (*[p / 255 for p in parts[:3]], parts[3] if len(parts) > 3 else 1.0)
        return value
    return "#444444"


def _cmap(scale: Any) -> Any:
    from matplotlib.colors import LinearSegmentedColormap

    if isinstance(scale, list) and scale:
        return LinearSegmentedColormap.from_list(
            "plotly", [(float(stop), _color(c)) for stop, c in scale])
    name = str(scale or "plasma").lower()
    reverse = name.endswith("_r")
    base = CMAPS.get(name.removesuffix("_r"), "plasma")
    return base + "_r" if reverse else base


def _axes_for(axes: dict, xname: str, yname: str) -> Any:
    if xname == "paper" or yname == "paper":
        return next(iter(axes.values()))
    for (x, y), ax in axes.items():
        if x == xname and y == yname:
            return ax
    return next((ax for (x, y), ax in axes.items() if x == xname or y == yname), None)


def _transform(ax: Any, xref: str, yref: str) -> Any:
    from matplotlib.transforms import blended_transform_factory

    fraction = ("domain" in xref or xref == "paper", "domain" in yref or yref == "paper")
    return blended_transform_factory(ax.transAxes if fraction[0] else ax.transData,
                                     ax.transAxes if fraction[1] else ax.transData)


def _axis_key(name: str) -> str:
    return f"{name[0]}axis{name[1:]}"


def _template(layout: dict) -> dict:
    template = layout.get("template") or {}
    return template.get("layout", {}) if isinstance(template, dict) else {}


def _title(title: Any) -> str:
    """The title's text, with its subtitle (the figure's description) on a second line."""
    if not isinstance(title, dict):
        return str(title or "")
    subtitle = (title.get("subtitle") or {}).get("text") or ""
    return "<br>".join(t for t in (title.get("text") or "", subtitle) if t)


def _text(html: str) -> str:
    """Plotly's HTML-ish labels as plain text: <br> is a new line, other tags go; $ escaped."""
    text = re.sub(r"<br\s*/?>", "\n", html)
    return re.sub(r"<[^>]+>", "", text).replace("$", r"\$")
