"""Room for a figure's text (`lab.viz.fit`): the estimate finds clipped titles and subtitles,
a top margin too small for them, and a legend on the x axis's labels or past the bottom edge;
`fit` fixes each without touching the data; every figure the lab renders fits 640 px."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

import lab.viz
from lab.viz import fit, static

LONG = ("spikes are stars, the threshold is dashed, the residual potential is the diamond "
        "at the last step, and the band is where the count is honest")


def figure(**layout) -> go.Figure:
    fig = go.Figure([go.Scatter(y=[1, 2, 3], name="membrane potential v[t]"),
                     go.Scatter(y=[3, 1, 2], name="threshold θ")])
    fig.update_layout(height=360, xaxis_title="timestep t", **layout)
    return fig


def defaults() -> list:
    """Every `*_figure` function in lab.viz that runs with its default arguments."""
    found = []
    for module in pkgutil.iter_modules(lab.viz.__path__):
        mod = importlib.import_module(f"lab.viz.{module.name}")
        found += [f for name, f in inspect.getmembers(mod, inspect.isfunction)
                  if f.__module__ == mod.__name__ and name.endswith("_figure")
                  and all(p.default is not p.empty
                          for p in inspect.signature(f).parameters.values())]
    return found


def test_a_subtitle_wider_than_the_figure_is_found_and_wrapped():
    fig = figure(title={"text": "IF neuron", "subtitle": {"text": LONG}}, margin={"t": 60})
    assert any("subtitle" in p for p in fit.problems(fig))
    fitted = fit.fit(fig)
    assert fit.problems(fitted) == []
    subtitle = fitted.layout.title.subtitle.text
    assert subtitle.count("<br>") >= 1 and subtitle.replace("<br>", " ") == LONG
    assert fitted.layout.margin.t >= 60


def test_a_top_margin_too_small_for_title_and_subplot_titles_is_found():
    fig = make_subplots(rows=1, cols=2, subplot_titles=("accuracy", "memory"))
    fig.add_scatter(y=[1, 2], row=1, col=1)
    fig.update_layout(title={"text": "two lines<br>of title", "subtitle": {"text": "one line"}},
                      margin={"t": 50})
    assert any("top margin" in p for p in fit.problems(fig))
    assert fit.problems(fit.fit(fig)) == []


def test_a_legend_on_the_x_axis_labels_or_past_the_edge_is_found_and_moved_under():
    short = figure(legend={"orientation": "h", "y": -0.1}, margin={"t": 40, "b": 40})
    found = fit.problems(short)
    assert any("overlaps the x axis" in p for p in found)
    assert any("past the bottom margin" in p for p in found)
    fitted = fit.fit(short)
    assert fit.problems(fitted) == []
    assert fitted.layout.legend.yref == "container" and fitted.layout.legend.y == 0


def test_many_legend_entries_take_several_rows_of_bottom_margin():
    fig = figure(legend={"orientation": "h", "y": -0.3})
    for i in range(8):
        fig.add_scatter(y=[i], name=f"a rather long legend entry {i}")
    one_row = fit.fit(figure(legend={"orientation": "h", "y": -0.3}))
    assert fit.fit(fig).layout.margin.b >= one_row.layout.margin.b + 3 * 13


def test_fit_keeps_the_data_and_a_fitting_figure_as_it_was():
    fig = figure(title={"text": "short"}, margin={"t": 80, "b": 50})
    fitted = fit.fit(fig.to_dict())
    assert fitted["data"] == fig.to_dict()["data"]
    assert fitted["layout"]["margin"] == {"t": 80, "b": 50}
    assert fit.problems(fig) == []


def test_wrap_breaks_at_words_only():
    assert fit.wrap("one two three four", 10, 60) == "one two<br>three four"
    assert fit.wrap("short", 13, 640) == "short"


def test_the_renderer_and_interact_store_figures_that_fit():
    """What a notebook stores (`static.LabRenderer`) fits 640 px, for every figure function
    of lab.viz that runs on its defaults."""
    functions = defaults()
    assert len(functions) >= 5
    unfit = {}
    for function in functions:
        stored = static.LabRenderer().to_mimebundle(function().to_dict())[static.PLOTLY_MIME]
        if fit.problems(stored, static.FIGURE_MAX_PX):
            unfit[function.__qualname__] = fit.problems(stored, static.FIGURE_MAX_PX)
    assert unfit == {}


@pytest.mark.parametrize("width", [fit.WIDTH_PX, 934])
def test_problems_depend_on_the_width_drawn(width):
    fig = figure(title={"text": "t", "subtitle": {"text": LONG[:110]}})
    assert bool(fit.problems(fig, width)) == (width == fit.WIDTH_PX)
