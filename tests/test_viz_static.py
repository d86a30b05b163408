"""The static fallback: the renderer stores plotly's JSON unchanged plus a PNG, and the PNG
redraw handles every kind of trace and layout item the lab's figures use."""

from __future__ import annotations

import base64
import inspect
import io

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from matplotlib.figure import Figure
from PIL import Image
from plotly.io.base_renderers import PlotlyRenderer
from plotly.subplots import make_subplots

from lab.viz import fit, neurons, png, static


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def colours(image: Image.Image) -> int:
    return len(image.convert("RGB").getcolors(maxcolors=1 << 16) or [])


def test_bundle_is_plotlys_mimetype_json_plus_a_png():
    fig = neurons.membrane_figure(0.3)
    bundle = static.LabRenderer().to_mimebundle(fig.to_dict())
    assert set(bundle) == {static.PLOTLY_MIME, static.PNG_MIME}
    # nbval compares this part: plotly_mimetype's, of the figure with its text fitted
    assert bundle[static.PLOTLY_MIME] == PlotlyRenderer().to_mimebundle(
        fit.fit(fig.to_dict()))[static.PLOTLY_MIME]
    image = decode(base64.b64decode(bundle[static.PNG_MIME]))
    assert image.size == (png.WIDTH_PX, fig.layout.height) and colours(image) > 5


def test_use_registers_the_renderer_as_the_default():
    before = pio.renderers.default
    try:
        static.use()
        assert pio.renderers.default == static.RENDERER
        assert isinstance(pio.renderers[static.RENDERER], static.LabRenderer)
    finally:
        pio.renderers.default = before


def test_interact_lays_controls_above_a_live_figure_and_stores_the_default_png(monkeypatch):
    import IPython.display
    import ipywidgets

    shown, displayed = [], []
    monkeypatch.setattr(go.Figure, "show", lambda self, renderer=None: shown.append(renderer))
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: displayed.append(obj))
    redraw = static.interact(neurons.membrane_figure,
                             current=ipywidgets.FloatSlider(value=0.3, min=-0.5, max=1.5),
                             timesteps=ipywidgets.IntSlider(value=16, min=1, max=64),
                             reset=ipywidgets.Dropdown(options=["subtract", "zero"]),
                             threshold=ipywidgets.fixed(1.0))
    assert inspect.signature(redraw) == inspect.signature(neurons.membrane_figure)
    # the default state, drawn inside the widget: the interactive figure alone (JupyterLab's
    # plotly renderer would show a PNG in the same bundle instead of the live figure)
    assert shown == ["plotly_mimetype"]
    (outer,) = displayed
    # the cell's output: the widget, the default state's PNG (for viewers without a kernel)
    default_png = png.to_png(fit.fit(neurons.membrane_figure(0.3, timesteps=16).to_dict()))
    assert base64.b64decode(outer[static.PNG_MIME]) == default_png
    assert outer["text/plain"] == static.STILL_TEXT
    box = redraw.widget
    assert outer["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    rows, figure = box.children  # controls first: above the figure
    assert isinstance(box, ipywidgets.VBox) and isinstance(figure, ipywidgets.Output)
    assert rows.layout.flex_flow == "row wrap"
    descriptions = [w.description for w in rows.children]  # other parameters: interact's
    assert {"current", "timesteps", "reset"} <= set(descriptions) and "threshold" not in \
        descriptions
    assert all(w.layout.width == f"{static.CONTROL_PX}px" for w in rows.children)
    assert figure.layout.max_width == f"{static.FIGURE_MAX_PX}px"
    redraw(current=0.5, timesteps=8)
    assert shown == ["plotly_mimetype"] * 2  # no PNG: a slider's redraw must stay fast
    assert len(displayed) == 1


def test_interact_fits_a_small_screen():
    """At 1366×768 with the file browser open, a widget cell's output in JupyterLab 4.6 is
    934 px wide (measured): two controls fit in a row, the figure fits under them, and a
    slider's track (the control less its description and a readout of about 100 px) has 3 px
    per position for T up to 64."""
    assert 2 * static.CONTROL_PX <= 934 and static.FIGURE_MAX_PX <= 934
    assert static.CONTROL_PX - int(static.DESCRIPTION_PX.removesuffix("px")) - 100 >= 3 * 64


def subplots_with_everything() -> go.Figure:
    fig = make_subplots(rows=2, cols=2, shared_xaxes=True, subplot_titles=("a", "b", "c", "d"))
    x = np.linspace(0, 1, 30)
    fig.add_trace(go.Scatter(x=x, y=x ** 2, mode="lines", name="line",
                             line={"dash": "dash", "shape": "hv"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=[0.1, 0.5], y=[0.2, 0.4], mode="markers+text", text=["p", "q"],
                             marker={"symbol": "diamond", "color": ["red", "rgb(0,0,255)"]},
                             name="points"), row=1, col=1)
    fig.add_trace(go.Bar(x=["a", "b", "c"], y=[1, 2, 3], name="bar 1"), row=1, col=2)
    fig.add_trace(go.Bar(x=["a", "b", "c"], y=[2, 1, 1], name="bar 2"), row=1, col=2)
    fig.add_trace(go.Bar(y=["u", "v"], x=[3, 4], orientation="h", showlegend=False), row=2, col=1)
    fig.add_trace(go.Heatmap(z=np.arange(12.0).reshape(3, 4), colorscale="Viridis"), row=2, col=2)
    fig.add_trace(go.Scatter(x=[1, 10, 100], y=[1, 2, 3], fill="tozeroy",
                             fillcolor="rgba(0,0,0,0.2)"), row=2, col=1)
    fig.add_hline(y=0.5, line_dash="dot", row=1, col=1)
    fig.add_hrect(y0=0.1, y1=0.2, fillcolor="green", opacity=0.2, line_width=0, row=1, col=1)
    fig.add_vrect(x0=0.2, x1=0.3, fillcolor="#00f", opacity=0.1, line_width=0, row=1, col=1)
    fig.add_annotation(x=0.5, y=0.5, text="<b>note</b><br>two lines", row=1, col=1)
    fig.update_xaxes(type="log", row=2, col=1)
    fig.update_yaxes(autorange="reversed", row=2, col=2)
    fig.update_layout(barmode="stack", title="everything: $x$ <i>and</i> θ", height=500)
    return fig


@pytest.mark.parametrize("figure", [
    subplots_with_everything(),
    go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2], base=[0, 1, 0])).update_layout(barmode="group"),
    go.Figure(go.Heatmap(z=[[0, 1], [1, 0]], colorscale=[[0, "#fff"], [1, "#000"]],
                         showscale=False)),
    go.Figure(go.Scatter(y=np.array([1.0, None, 3.0], dtype=float))),  # typed arrays, gaps
    go.Figure(),
], ids=["subplots", "bars", "heatmap", "typed-array", "empty"])
def test_png_of_every_supported_kind_of_figure(figure):
    image = decode(png.to_png(figure))
    assert image.size[0] == png.WIDTH_PX and colours(image) > (1 if figure.data else 0)


def test_png_of_a_dict_equals_png_of_the_figure():
    fig = neurons.staircase_figure(timesteps=4)
    assert png.to_png(fig) == png.to_png(fig.to_plotly_json())  # deterministic, too


def test_unsupported_traces_are_left_out_and_named():
    fig = go.Figure([go.Pie(values=[1, 2]), go.Scatter(y=[1, 2])])
    assert png._draw(Figure(), fig.to_plotly_json()["data"], {}) == {"pie"}
    assert decode(png.to_png(fig)).size[0] == png.WIDTH_PX


@pytest.mark.parametrize("value, expected", [
    ("rgb(255, 0, 0)", (1.0, 0.0, 0.0, 1.0)), ("rgba(0,0,255,0.5)", (0.0, 0.0, 1.0, 0.5)),
    ("#123456", "#123456"), (None, "#444444"),
])
def test_plotly_colours_become_matplotlib_colours(value, expected):
    assert png._color(value) == expected


def test_plotly_labels_become_plain_text():
    assert png._text("a<br>b <b>c</b> $x$") == "a\nb c \\$x\\$"


def test_interval_bands_are_drawn_in_the_png():
    """A 95% band as plotly draws it (toself polygon, or a lower line then 'tonexty') reaches
    the PNG: the band's pixels differ from a figure with the line alone."""
    import io

    import numpy as np
    import plotly.graph_objects as go
    from PIL import Image

    xs = [1, 2, 3, 4]

    def pixels(fig):
        return np.asarray(Image.open(io.BytesIO(png.to_png(fig))).convert("RGB"), float)

    line = go.Scatter(x=xs, y=[50, 60, 70, 80], line={"color": "#0072B2"})
    polygon = go.Scatter(x=xs + xs[::-1], y=[60, 70, 80, 90, 70, 60, 50, 40], fill="toself",
                         fillcolor="rgba(0,114,178,0.3)", line={"width": 0}, showlegend=False)
    lower = go.Scatter(x=xs, y=[40, 50, 60, 70], line={"width": 0}, showlegend=False)
    upper = go.Scatter(x=xs, y=[60, 70, 80, 90], fill="tonexty", line={"width": 0},
                       fillcolor="rgba(0,114,178,0.3)", showlegend=False)
    plain = pixels(go.Figure([line], layout={"yaxis": {"range": [0, 100]}}))
    for band in ([polygon, line], [lower, upper, line]):
        drawn = pixels(go.Figure(band, layout={"yaxis": {"range": [0, 100]}}))
        assert drawn.shape == plain.shape
        assert (np.abs(drawn - plain).sum(-1) > 30).mean() > 0.01, "the band is missing"


def drawn(fig: go.Figure) -> Figure:
    """The matplotlib figure `png.to_png` would save, for reading its artists."""
    spec = fig.to_dict()
    out = Figure(figsize=(png.WIDTH_PX / png.DPI, 4.5), dpi=png.DPI)
    png._draw(out, spec["data"], spec["layout"])
    return out


def test_an_rgba_band_keeps_its_transparency_in_the_png():
    """A band's rgba fill is drawn with its own alpha (alpha=1 once hid the bars under it)."""
    fig = go.Figure(go.Bar(x=[1], y=[0.5], marker_color="#009E73"))
    fig.add_hrect(y0=0, y1=1, fillcolor="rgba(0, 158, 115, 0.12)", line_width=0)
    (patch,) = [p for p in drawn(fig).axes[0].patches if p.get_zorder() == 0]
    assert patch.get_alpha() == pytest.approx(0.12)


def test_ticktext_bar_labels_and_crowded_categories_reach_the_png():
    fig = go.Figure(go.Bar(x=[f"K={k}, block {b}" for k in (1, 2, 4) for b in (1, 2, 3)],
                           y=list(range(1, 10)), text=[f"{v}×" for v in range(1, 10)]))
    ax = drawn(fig).axes[0]
    assert {t.get_text() for t in ax.texts} == {f"{v}×" for v in range(1, 10)}  # bar labels
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert all("\n" in label for label in labels)  # broken at spaces: side by side they overlap
    assert [label.replace("\n", " ") for label in labels] == [f"K={k}, block {b}" for k in (
        1, 2, 4) for b in (1, 2, 3)]
    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 2, 3]))
    fig.update_xaxes(tickvals=[0, 1, 2], ticktext=["BPTT", "TTL carried", "TTL reset"])
    assert [t.get_text() for t in drawn(fig).axes[0].get_xticklabels()] == [
        "BPTT", "TTL carried", "TTL reset"]


def test_a_log_axis_labels_its_ticks_as_plain_numbers_as_plotly_does():
    """A log axis with chosen ticks once showed only '10⁰', tilted: every tick unlabelled."""
    fig = go.Figure(go.Scatter(x=[1, 2, 4, 8, 16, 32, 64], y=list(range(7))))
    fig.update_xaxes(type="log", tickvals=[1, 2, 4, 8, 16, 32, 64])
    ax = drawn(fig).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4", "8", "16", "32", "64"]
    assert all(t.get_rotation() == 0 for t in ax.get_xticklabels())
    assert ax.xaxis.get_minorticklocs().size == 0
    fig = go.Figure(go.Scatter(x=[1, 10, 100], y=[1, 2, 3])).update_xaxes(type="log")
    ax = drawn(fig).axes[0]
    ax.figure.canvas.draw()
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert {"1", "10", "100"} <= set(shown) and not any("10^" in t or "$" in t for t in shown)


def test_long_class_names_on_a_y_axis_stay_inside_the_picture():
    """A confusion matrix's class names were cut at the figure's left edge."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    names = ["right, then down", "down, then right", "left, then up", "up, then left"]
    fig = go.Figure(go.Heatmap(z=np.eye(4), x=names, y=names))
    out = drawn(fig)
    renderer = FigureCanvasAgg(out).get_renderer()
    labels = out.axes[0].get_yticklabels()
    assert [t.get_text() for t in labels] == names
    assert min(t.get_window_extent(renderer).x0 for t in labels) >= 0


def test_marker_text_goes_where_plotly_puts_it_clear_of_the_marker():
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 0], mode="markers+text", text=["a", "b"],
                               textposition="bottom center", marker={"size": 30}))
    (first, _) = drawn(fig).axes[0].texts
    assert first.get_va() == "top" and first.xyann[1] <= -(0.375 * 30)
    fig.update_traces(textposition="top center")
    (first, _) = drawn(fig).axes[0].texts
    assert first.get_va() == "bottom" and first.xyann[1] >= 0.375 * 30


def test_a_lines_label_stands_clear_of_the_axis_line():
    """'BPTT, T = 8' on a reference line once started on the y axis's own line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = go.Figure(go.Scatter(x=[1, 8], y=[94, 97]))
    fig.add_hline(y=96.7, annotation_text="BPTT, T = 8", annotation_position="top left")
    out = drawn(fig)
    renderer = FigureCanvasAgg(out).get_renderer()
    ax = out.axes[0]
    (label,) = [t for t in ax.texts if t.get_text() == "BPTT, T = 8"]
    box, line_y = label.get_window_extent(renderer), ax.transData.transform((1, 96.7))[1]
    assert box.x0 > ax.get_window_extent(renderer).x0 + 1 and box.y0 > line_y


def test_long_legend_entries_take_fewer_columns():
    short = [type("H", (), {"get_label": lambda self, i=i: f"m{i}"})() for i in range(4)]
    long = [type("H", (), {"get_label": lambda self, i=i: "SNN window readout, floor "
                           f"v_min = {i}"})() for i in range(4)]
    canvas = Figure(figsize=(png.WIDTH_PX / png.DPI, 4), dpi=png.DPI)
    assert png._legend_columns(canvas, short) == 4 > png._legend_columns(canvas, long) >= 1
