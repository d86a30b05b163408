"""How the dashboard looks: Panel's extensions, colours, stylesheets, and small shared pieces."""

from __future__ import annotations

import html
import re

import panel as pn

from ... import registry

EXTENSIONS = ("plotly", "tabulator")
ACCENT = "#2f6690"
STATUS_COLORS = {"finished": "#2e7d32", "failed": "#c62828", "cancelled": "#8d6e63",
                 "interrupted": "#ef6c00", "running": "#1565c0", "queued": "#546e7a"}
TABLE_CSS = [":host .tabulator {font-size: 13px;}",
             ":host .tabulator-row.tabulator-selected {background-color: #dce8f3 !important;"
             " color: #222 !important;}"]
# The cost table's 15 columns fit a 1366 px screen: headers wrap at word breaks, the
# experiment's label wraps, and a number never does (it scrolls sideways past that).
COST_CSS = """
table.cost-table {border-collapse: collapse; font-size: 12px; width: 100%;}
.cost-table th {text-align: left; font-weight: 600; border-bottom: 2px solid #ccc;
                padding: 4px 5px; vertical-align: bottom; white-space: normal;
                overflow-wrap: normal; min-width: 3.5em;}
.cost-table td {border-bottom: 1px solid #e5e5e5; padding: 4px 5px; white-space: nowrap;}
.cost-table td:first-child {white-space: normal; min-width: 9em;}
.cost-table tbody tr:hover {background: #f5f8fb;}
.title {font-size: 1.05rem; font-weight: 600; margin: 4px 0 6px;}
.notes {color: #555; font-size: 12px; margin-top: 8px;}
"""
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def extension() -> None:
    """Load Panel's extensions the way the app does (the benchmark's empty page shares it)."""
    pn.extension(*EXTENSIONS, notifications=True, design="bootstrap")


def escaped(value: object) -> str:
    """Stored text (a config value, method, dataset, error...) as HTML text: markup in it shows
    as typed and never runs. A store is a file people share: what it holds is data."""
    return html.escape(str(value))


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:=$^])")


def markdown_text(value: object) -> str:
    """Stored text inside a Markdown pane, shown as typed on one line: Markdown's punctuation
    backslash-escaped (no emphasis, code span, link or heading), then `escaped` (no HTML)."""
    return escaped(_MARKDOWN.sub(r"\\\1", " ".join(str(value).split())))


def heading(text: str) -> pn.pane.HTML:
    return pn.pane.HTML(f'<div style="font-size:1.05rem;font-weight:600">{text}</div>',
                        margin=(5, 10, 0, 10))


def badge(status: str) -> str:
    """A run's status as a coloured pill."""
    color = STATUS_COLORS.get(status, "#546e7a")
    return (f'<span style="background:{color};color:white;border-radius:10px;'
            f'padding:1px 9px;font-size:12px">{escaped(status)}</span>')


def summary_line(method: str) -> str:
    """The first line of a method module's docstring (or why it could not be imported)."""
    try:
        return (registry.method(method).__doc__ or method).strip().splitlines()[0]
    except Exception as err:  # noqa: BLE001  (a method still being written must not break the page)
        return f"could not be imported: {type(err).__name__}: {err}"


# Panel's Plotly view (1.9) calls Plotly.relayout with the pane's width and height after every
# layout pass of the page and once its stylesheets load: four full redraws of Compare's figure
# on a first visit. The first two are needed (the second places the legend below the tick labels
# from the first's margins); the rest, to the size already drawn twice, change nothing. This
# skips those; a re-plot, a new size or a figure drawn while hidden (another tab) still redraws
# twice. It patches the view class once per page, and does nothing if Panel's view is not the
# one expected.
_RESIZE_ONCE = """
const Plot = window.Bokeh && Bokeh.Models.get("panel.models.plotly.PlotlyPlot")
const View = Plot && Plot.prototype.default_view
const proto = View && View.prototype
if (proto && !proto._lab_resize_once && typeof proto.resize_layout === "function"
    && typeof proto.plot === "function") {
  const resize = proto.resize_layout
  const plot = proto.plot
  proto._lab_resize_once = true
  proto.plot = function(...args) {
    this._lab_size = null
    return plot.apply(this, args)
  }
  proto.resize_layout = function() {
    if (!this._rendered || this.container == null) {
      return resize.call(this)
    }
    const width = Math.min(this.model.width || this.el.clientWidth,
                           this.model.max_width || Infinity)
    const height = Math.min(this.model.height || this.el.clientHeight,
                            this.model.max_height || Infinity)
    const shown = this.el.getClientRects().length > 0
    const size = `${width}x${height}`
    if (shown && this._lab_size === size && this._lab_times >= 2) {
      return
    }
    resize.call(this)
    this._lab_times = shown && this._lab_size === size ? this._lab_times + 1 : 1
    this._lab_size = shown ? size : null
  }
}
"""


class PlotlyResizeOnce(pn.reactive.ReactiveHTML):
    """Nothing to see (0 × 0): placed before a Plotly pane, it spares the figure Panel's
    redraws to a size it has already been drawn at twice (`_RESIZE_ONCE`)."""

    _template = "<div></div>"
    _scripts = {"render": _RESIZE_ONCE}

    def __init__(self, **params: object) -> None:
        super().__init__(width=0, height=0, margin=0, **params)
