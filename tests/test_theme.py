"""The one look: a colour, dash and marker per method, and a figure's one-line description."""

import plotly.graph_objects as go
import pytest

from lab.core import theme
from lab.viz import png


def test_every_method_has_its_own_colour_and_mark():
    methods = [k for k, v in theme.METHODS.items() if v[0] not in (theme.GREY, theme.REFERENCE)]
    colours = [theme.METHODS[k][0] for k in methods]
    assert len(set(colours)) == len(colours)
    marks = [(v[1], v[2]) for v in theme.METHODS.values()]
    assert len(set(marks)) == len(marks), "colour must not be the only thing telling two apart"


def test_aliases_and_registry_names_resolve():
    from lab import registry

    for name in registry.METHODS:
        theme.color(name)
    assert theme.color("TTL-BPTT") == theme.color("ttl_bptt")
    assert theme.method_key("residual-noise") == "residual_noise"
    assert theme.method_key("threshold-balancing") == "threshold_balancing"
    with pytest.raises(KeyError, match="known are"):
        theme.color("magic")


def test_ann_shares_its_snn_colour_dashed():
    snn, ann = theme.trace_style("qcfs"), theme.trace_style("qcfs", ann=True)
    assert snn["line"]["color"] == ann["line"]["color"]
    assert ann["line"]["dash"] == "dash" and snn["line"]["dash"] == "solid"


def test_description_is_one_line_and_reaches_the_static_png():
    fig = theme.describe(go.Figure(go.Scatter(x=[0, 1], y=[1, 0]), layout={"title": "T"}),
                         "Accuracy falls as T shrinks.")
    assert theme.description(fig) == "Accuracy falls as T shrinks."
    assert theme.description(fig.to_plotly_json()) == "Accuracy falls as T shrinks."
    assert png._title(fig.to_plotly_json()["layout"]["title"]).endswith("T shrinks.")
    assert png.to_png(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="one non-empty line"):
        theme.describe(fig, "two\nlines")


def test_band_is_the_method_colour():
    assert theme.band("bptt").startswith("rgba(0,0,0,")


def test_the_course_page_lists_every_method_with_its_colour_and_marker():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "notebooks" / "README.md").read_text()
    legend = page[page.index("### One look"):]
    legend = legend[:legend.index("\n## ")]
    for key, (_, _, symbol, label) in theme.METHODS.items():
        if theme.METHODS[key][0] not in (theme.GREY, theme.REFERENCE):
            row = next(line for line in legend.splitlines() if line.startswith(f"| {label}"))
            assert symbol.split("-")[0] in row.replace(" ", "-"), (label, symbol)
