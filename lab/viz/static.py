"""A static PNG beside every interactive figure, so exported notebooks show their figures.

JupyterLab draws a figure from its plotly JSON (`application/vnd.plotly.v1+json`), but
`jupyter nbconvert --to html`, GitHub and other static viewers cannot, and show nothing. The
renderer here stores both: the plotly JSON, exactly as plotly's `plotly_mimetype` renderer
stores it (JupyterLab prefers it), and a PNG redrawn with matplotlib (what static viewers show).
nbval compares the plotly JSON exactly and skips `image/png`, so notebooks stay strictly checked.

Why matplotlib: plotly's own static export needs kaleido and a browser, and embedding plotly.js
(4.8 MB) in an HTML fallback would make every notebook several MB. The redraw is `lab.viz.png`.

Usage, in a notebook's first cell:

    from lab.viz import static
    static.use()

and `static.interact(figure_function, **widgets)` for live figures: controls above the
figure, the figure interactive from its first draw, and a PNG of the default state stored in the
cell's output beside the widget (what a viewer without a kernel shows); the figure itself never
carries the PNG, since JupyterLab's plotly renderer shows a bundle's PNG instead of the live
figure until the mouse enters it.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any

import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer, PlotlyRenderer

from . import fit
from .png import to_png

RENDERER = "lab"
PLOTLY_MIME, PNG_MIME = "application/vnd.plotly.v1+json", "image/png"
# interact's layout. Measured in JupyterLab 4.6 at 1366×768 with the file browser open: a widget
# cell's output is 934 px wide and the notebook 647 px high (less a browser's own bars, about
# 540 px). Controls stand in rows above the figure, each `CONTROL_PX` wide (two to a row: a
# slider's track of about 208 px), and the figure is at most `FIGURE_MAX_PX` wide (plotly
# sizes it to its box), so the controls stay in view above a figure of up to 460 px.
CONTROL_PX, FIGURE_MAX_PX, DESCRIPTION_PX = 400, 640, "80px"
STILL_TEXT = "[an interactive figure: run the cell (or Run All) to move its controls]"


class LabRenderer(MimetypeRenderer):
    """plotly's mimetype renderer plus `image/png`, a matplotlib redraw of the figure; the
    figure's text first made to fit its margins (`lab.viz.fit`)."""

    def to_mimebundle(self, fig_dict: dict) -> dict[str, Any]:
        bundle = PlotlyRenderer().to_mimebundle(fit.fit(fig_dict))
        png = to_png(bundle[PLOTLY_MIME])
        return {**bundle, PNG_MIME: base64.b64encode(png).decode("ascii")}


def use() -> None:
    """Register the renderer as plotly's "lab" renderer and make it, and the "lab" template
    (`lab.core.theme`), the defaults."""
    from ..core import theme

    theme.use()
    pio.renderers[RENDERER] = LabRenderer()
    pio.renderers.default = RENDERER


def interact(figure: Callable[..., Any], /, **widgets: Any) -> Callable[..., None]:
    """`ipywidgets.interact` over a function that returns a figure, laid out for a small screen.

    The controls stand in rows above the figure (each `CONTROL_PX` wide, so a slider's track
    is about 208 px: more than 3 px per position for T up to 64), and the figure under them is
    at most `FIGURE_MAX_PX` wide: both fit a 1366×768 screen in JupyterLab with the file browser
    open, and the figure stays in view while a slider moves.

    Every draw, the first included, shows the interactive figure only. The PNG of the default
    state (drawn once, about 0.2 s) is stored beside the widget in the cell's output: JupyterLab
    shows it until the kernel runs (an untrusted notebook cannot draw widgets), and so does any
    viewer that cannot draw widgets (an HTML export). Returns the redraw function; its
    `.widget` is the displayed box.
    """
    import ipywidgets
    from IPython.display import display

    first: dict[str, str] = {}

    @functools.wraps(figure)  # interactive reads the parameters through __wrapped__
    def redraw(**kwargs: Any) -> None:
        fig = fit.fit(figure(**kwargs))
        if not first:
            first[PNG_MIME] = base64.b64encode(to_png(fig.to_dict())).decode("ascii")
        fig.show(renderer="plotly_mimetype")

    panel = ipywidgets.interactive(redraw, **widgets)  # draws the default state
    box = _above(panel)
    bundle = {**box._repr_mimebundle_(), "text/plain": STILL_TEXT, **first}
    display(bundle, raw=True)
    redraw.widget = box  # type: ignore[attr-defined]  # as ipywidgets.interact's result
    return redraw


def _above(panel: Any) -> Any:
    """The interactive's controls in rows (wrapping) above its figure, at most
    `FIGURE_MAX_PX` wide."""
    from ipywidgets import HBox, Layout, VBox

    controls = [w for w in panel.children if w is not panel.out]
    for control in controls:
        control.layout.width = f"{CONTROL_PX}px"
        if hasattr(control.style, "description_width"):
            control.style.description_width = DESCRIPTION_PX
    rows = HBox(controls, layout=Layout(flex_flow="row wrap", width="100%"))
    panel.out.layout = Layout(width="100%", max_width=f"{FIGURE_MAX_PX}px")
    return VBox([rows, panel.out], layout=Layout(width="100%"))
