"""The course notebooks as files: small, opened by JupyterLab without changes, shaped like a
lesson, and with a static image under every figure when exported to HTML.

(nbval runs the notebooks themselves: `make nbtest`.)"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
# The notebooks laid out as lessons; the others join this list when they are reshaped.
LESSONS = [NOTEBOOKS / "01_spiking_neurons.ipynb",
           NOTEBOOKS / "02b_encodings_surrogate_gradients.ipynb"]
PLOTLY, PNG, WIDGET = ("application/vnd.plotly.v1+json", "image/png",
                       "application/vnd.jupyter.widget-view+json")
JUPYTERLAB_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python",
                         "name": "python3"}


def read(path: Path):
    return nbformat.read(path, as_version=4)


def uses_static_figures(path: Path) -> bool:
    return any(c.cell_type == "code" and "static.use()" in c.source for c in read(path).cells)


FIGURES = [p for p in ALL if uses_static_figures(p)]


def test_lessons_exist_and_use_the_static_fallback():
    assert all(p.exists() for p in LESSONS)
    assert set(LESSONS) <= set(FIGURES)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_notebook_file_is_under_1_mb(path):
    assert path.stat().st_size < 1_000_000


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_opening_in_jupyterlab_changes_nothing(path):
    nb = read(path)
    assert nb.metadata.kernelspec == JUPYTERLAB_KERNELSPEC
    assert nb.metadata.language_info["name"] == "python"
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5) and all(c.get("id") for c in nb.cells)
    nbformat.validate(nb)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_shape_time_objectives_run_all_and_what_to_remember(path):
    nb = read(path)
    intro = nb.cells[0].source
    for needed in ("Study time", "Run time", "Run All", "you will be able to", "Prerequisites"):
        assert needed in intro, needed
    assert "## What to remember" in "\n".join(c.source for c in nb.cells[-3:])


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_test_markers_are_tags_not_comments_a_student_reads(path):
    for cell in read(path).cells:
        assert "NBVAL" not in cell.source
        widget = any(WIDGET in o.get("data", {}) for o in cell.get("outputs", []))
        if widget:  # its text/plain repr changes every run
            assert "nbval-ignore-output" in cell.metadata.get("tags", [])


def cell_html(html: str) -> dict[str, str]:
    """The exported HTML of each cell, by cell id."""
    parts = re.split(r'<div [^>]*\bid="cell-id=([^"]+)"[^>]*>', html)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("path", FIGURES, ids=lambda p: p.stem)
def test_every_figure_has_a_visible_static_image_in_html(path):
    from nbconvert import HTMLExporter

    nb = read(path)
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    by_id = cell_html(html)
    figures = [c for c in nb.cells if c.cell_type == "code"
               and any(PLOTLY in o.get("data", {}) for o in c.outputs)]
    assert figures
    for cell in figures:
        assert any(PNG in o.get("data", {}) for o in cell.outputs), cell.source
        assert re.search(r'<img [^>]*src="data:image/png;base64,', by_id[cell.id]), cell.source


def stored_figures(nb) -> list[tuple[str, dict]]:
    """Every plotly figure a notebook stores: in cell outputs and in saved widget state (the
    default state an interactive figure was drawn in), each with where it is."""
    found = [(f"cell {i}", o["data"][PLOTLY]) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" for o in c.outputs if PLOTLY in o.get("data", {})]
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    for model_id, model in state.get("state", {}).items():
        for o in model.get("state", {}).get("outputs", []) or []:
            if PLOTLY in o.get("data", {}):
                found.append((f"widget {model_id[:8]}", o["data"][PLOTLY]))
    return found


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_figure_has_the_lab_look_and_a_one_line_description(path):
    """One look (issue 17): the 'lab' template's colours and font, and a line of text with
    every figure (`lab.core.theme.describe`), in cells and in saved widget state alike."""
    from lab.core import theme

    lab = theme.pio.templates[theme.TEMPLATE].layout
    figures = stored_figures(read(path))
    assert figures
    wrong = []
    for where, fig in figures:
        template = fig.get("layout", {}).get("template", {}).get("layout", {})
        text = theme.description(fig)
        if not text or "\n" in text:
            wrong.append(f"{where}: no one-line description")
        if list(template.get("colorway", [])) != list(lab.colorway) or \
                template.get("font", {}).get("family") != lab.font.family:
            wrong.append(f"{where}: not the 'lab' template")
    assert not wrong, "; ".join(wrong)


@pytest.mark.parametrize("path", FIGURES, ids=lambda p: p.stem)
def test_every_widget_shows_a_picture_of_its_default_state_until_the_kernel_runs(path):
    """A widget's output carries a PNG of its default state (`static.interact`): JupyterLab
    shows it while the notebook is untrusted or has no kernel, instead of the widget's text."""
    widgets = [(i, o) for i, c in enumerate(read(path).cells) if c.cell_type == "code"
               for o in c.outputs if WIDGET in o.get("data", {})]
    missing = [f"cell {i}" for i, o in widgets if PNG not in o["data"]]
    assert not missing, f"widget cells without a static picture: {missing}"
