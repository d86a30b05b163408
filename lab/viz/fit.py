"""Room for a figure's text: titles, subtitles and legends that are not clipped or overlapping.

plotly does not wrap a title or subtitle (a line wider than the figure is cut at its edge), does
not grow the top margin for them, and places a legend at `y < 0` a fraction of the plot's
height under it, so on a short plot it lands on the x axis's labels. Text extents are estimated
without a browser, from the font size (Helvetica/Arial glyphs average about 0.55 em, a line is
about 1.3 em):

    title block   = lines(title)·1.3·size_title + lines(subtitle)·1.3·size_subtitle + pad
    legend rows   = entries (40 px of symbol + 0.55 em per character) packed into the width

`problems(fig, width)` lists what does not fit; `fit(fig, width)` wraps the title and subtitle
at word boundaries, sets the top margin to the title block (plus subplot titles), and puts a
horizontal legend under the plot at the figure's bottom edge (`yref="container"`), with the
bottom margin holding the x axis's text and the legend's rows.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

CHAR_EM, LINE_EM, PAD_PX = 0.55, 1.3, 8
SYMBOL_PX = 40  # a legend entry's symbol and gaps
WIDTH_PX = 640  # `lab.viz.static.FIGURE_MAX_PX`: the narrowest a figure is drawn
BREAK = re.compile(r"<br\s*/?>", re.I)


def lines(text: str | None) -> list[str]:
    """The lines of plotly text (split at `<br>`), without their HTML tags."""
    return [re.sub(r"<[^>]+>", "", line) for line in BREAK.split(text)] if text else []


def text_px(text: str | None, size: float) -> float:
    """The estimated width in px of the widest line of `text` at font `size`."""
    return max((len(line) for line in lines(text)), default=0) * CHAR_EM * size


def wrap(text: str, size: float, width: float) -> str:
    """`text` with `<br>` at word boundaries so that no line is wider than `width` px."""
    most = max(8, int(width / (CHAR_EM * size)))
    out = []
    for line in BREAK.split(text):
        words, current = line.split(" "), ""
        for word in words:
            if current and len(re.sub(r"<[^>]+>", "", f"{current} {word}")) > most:
                out.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        out.append(current)
    return "<br>".join(out)


def _get(layout: dict, path: str, default: Any) -> Any:
    """`layout`'s value at the dotted `path`, else its template's, else `default`."""
    for source in (layout, layout.get("template", {}).get("layout", {})):
        value: Any = source
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            return value
    return default


def _sizes(layout: dict) -> tuple[float, float, float, float]:
    font = _get(layout, "font.size", 12)
    return (font, _get(layout, "title.font.size", 17), _get(layout, "title.subtitle.font.size",
                                                             font),
            _get(layout, "legend.font.size", font))


def _title_block(layout: dict) -> float:
    """The px the title and subtitle need from the figure's top edge, subplot titles included."""
    font, title, subtitle, _ = _sizes(layout)
    need = (len(lines(_get(layout, "title.text", None))) * LINE_EM * title
            + len(lines(_get(layout, "title.subtitle.text", None))) * LINE_EM * subtitle)
    tops = [a for a in layout.get("annotations", []) if a.get("yref", "paper") == "paper"
            and a.get("y", 0) >= 1 and a.get("yanchor", "bottom") == "bottom"]
    if tops:  # subplot titles sit on the plot's top edge, under the title block
        need += max(len(lines(a.get("text"))) for a in tops) * LINE_EM * font + PAD_PX
    return need + 2 * PAD_PX if need else 0.0


def _legend(fig: dict) -> list[str]:
    layout = fig.get("layout", {})
    if layout.get("showlegend") is False:
        return []
    return [t["name"] for t in fig.get("data", []) if t.get("name")
            and t.get("showlegend", True) is not False]


def _legend_rows(names: list[str], size: float, width: float) -> int:
    rows, x = 1, 0.0
    for name in names:
        w = SYMBOL_PX + text_px(name, size)
        if x and x + w > width:
            rows, x = rows + 1, 0.0
        x += w
    return rows


def _axis_text(layout: dict) -> float:
    """px under the plot for the x axis's tick labels and title."""
    font = _sizes(layout)[0]
    titles = [_get(layout, f"{k}.title.text", None) for k in layout if re.fullmatch(r"xaxis\d*", k)]
    title_lines = max((len(lines(t)) for t in titles if t), default=0)
    return LINE_EM * font + PAD_PX + (title_lines * LINE_EM * font + PAD_PX if title_lines else 0)


def _below(layout: dict) -> bool:
    legend = layout.get("legend", {})
    return legend.get("orientation") == "h" and (
        legend.get("yref") == "container" or (legend.get("y") is not None and legend["y"] < 0))


def problems(fig: Any, width: float = WIDTH_PX) -> list[str]:
    """What in `fig` (a figure or its dict) would be clipped or overlap when drawn `width` px
    wide; empty when its text fits."""
    fig = fig if isinstance(fig, dict) else fig.to_dict()
    layout = fig.get("layout", {})
    font, title_size, subtitle_size, legend_size = _sizes(layout)
    found = []
    for name, text, size in (("title", _get(layout, "title.text", None), title_size),
                             ("subtitle", _get(layout, "title.subtitle.text", None),
                              subtitle_size)):
        if text_px(text, size) > width - 2 * PAD_PX:
            found.append(f"the {name} is about {text_px(text, size):.0f} px wide, the figure "
                         f"{width:.0f} px")
    top = layout.get("margin", {}).get("t", 100)
    if top < _title_block(layout):
        found.append(f"the top margin ({top} px) is under the title block's "
                     f"{_title_block(layout):.0f} px")
    names = _legend(fig)
    if names and _below(layout):
        legend = layout["legend"]
        rows_px = _legend_rows(names, legend_size, width) * LINE_EM * legend_size + PAD_PX
        bottom = layout.get("margin", {}).get("b", 80)
        if legend.get("yref") == "container":
            if bottom < _axis_text(layout) + rows_px:
                found.append(f"the bottom margin ({bottom} px) is under the x axis's text and "
                             f"the legend's {rows_px:.0f} px")
        else:
            plot = (layout.get("height") or 450) - layout.get("margin", {}).get("t", 100) - bottom
            gap = -legend["y"] * plot
            if gap < _axis_text(layout):
                found.append(f"the legend, {gap:.0f} px under the plot, overlaps the x axis's "
                             f"text ({_axis_text(layout):.0f} px)")
            if bottom < gap + rows_px:
                found.append(f"the legend ends {gap + rows_px:.0f} px under the plot, past the "
                             f"bottom margin ({bottom} px)")
    return found


def fit(fig: Any, width: float = WIDTH_PX) -> Any:
    """A copy of `fig` (a figure or its dict, returned as the same) whose text fits when drawn
    `width` px wide: title and subtitle wrapped, the top margin holding them, a horizontal
    legend under the plot held by the bottom margin. Data and other layout are unchanged."""
    import plotly.graph_objects as go

    as_dict = isinstance(fig, dict)
    out = copy.deepcopy(fig) if as_dict else fig.to_dict()
    layout = out.setdefault("layout", {})
    font, title_size, subtitle_size, legend_size = _sizes(layout)
    title = layout.get("title")
    if isinstance(title, dict) and (title.get("text") or title.get("subtitle", {}).get("text")):
        if title.get("text"):
            title["text"] = wrap(title["text"], title_size, width - 2 * PAD_PX)
        if title.get("subtitle", {}).get("text"):
            title["subtitle"]["text"] = wrap(title["subtitle"]["text"], subtitle_size,
                                             width - 2 * PAD_PX)
        # plotly's own placement (y "auto") sets the block just above the plot; anchoring it to
        # the top edge instead clips a title of several lines (plotly.js 3, seen in Chromium)
        margin = layout.setdefault("margin", {})
        margin["t"] = max(margin.get("t", 0), math.ceil(_title_block(layout)))
    names = _legend(out)
    if names and _below(layout):
        rows = _legend_rows(names, legend_size, width)
        layout["legend"].update(yref="container", y=0, yanchor="bottom")
        margin = layout.setdefault("margin", {})
        margin["b"] = max(margin.get("b", 0), math.ceil(_axis_text(layout) + rows * LINE_EM
                                                    * legend_size + 2 * PAD_PX))
    return out if as_dict else go.Figure(out)
