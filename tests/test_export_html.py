"""The offline HTML export (`make export`, `lab.notebooks.export_html`) read in headless Chromium
with every request that is not a local file aborted: for every notebook, no request leaves the
machine, every formula is typeset (none left as raw `$…$` in the text), and every cell that
stores a figure shows an image of nonzero size.

Needs Debian's Chromium at /usr/bin/chromium (CI installs it and sets LAB_REQUIRE_BROWSER=1, so
there it fails instead of skipping).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from lab.core.results import PROJECT_ROOT
from lab.notebooks import export_html, main

sys.path.insert(0, str(PROJECT_ROOT / "dashboards"))  # the Chromium launcher lives there
import launcher  # noqa: E402

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
# A formula MathJax missed stays in the text between dollars (display math: between two).
RAW_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\s][^$\n]*?\$", re.S)
browser_only = pytest.mark.skipif(
    not launcher.CHROMIUM.exists() and not os.environ.get("LAB_REQUIRE_BROWSER"),
    reason=f"{launcher.CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) "
           "to run the export's browser test")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The export, beside the copies of the notebooks it was made from (`source/`): the
    checks read the same notebooks the pages show."""
    folder = tmp_path_factory.mktemp("html")
    (folder / "source").mkdir()
    for notebook in NOTEBOOKS:
        shutil.copy(notebook, folder / "source" / notebook.name)
    pages = export_html(folder / "source", folder)
    assert [p.name for p in pages] == [f"{nb.stem}.html" for nb in NOTEBOOKS] + ["index.html"]
    return folder


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launcher.chromium(p)
        yield browser
        browser.close()


def figure_cells(path: Path) -> list[str]:
    """The ids of the cells whose stored outputs hold a figure (a PNG)."""
    notebook = nbformat.read(path, as_version=4)
    return [cell.id for cell in notebook.cells if any(
        "image/png" in output.get("data", {}) for output in cell.get("outputs", []))]


def test_pages_hold_no_outside_reference_that_loads(exported):
    """No page asks for a script from elsewhere (MathJax and require.js were CDN scripts)."""
    for page in exported.glob("*.html"):
        sources = re.findall(r'<script[^>]*src="([^"]*)"', page.read_text(encoding="utf-8"))
        assert [s for s in sources if "://" in s or s.startswith("//")] == [], page.name
    assert (exported / "mathjax" / "MathJax.js").is_file()


def test_stored_widget_state_is_left_out(exported):
    text = (exported / f"{NOTEBOOKS[0].stem}.html").read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-state+json" not in text


def test_bad_source_is_refused_by_name(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="src="):
        export_html(tmp_path / "missing", tmp_path / "out")
    assert main(["export", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "src=" in capsys.readouterr().err
    assert main(["html"]) == 2


@browser_only
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_export_reads_offline(exported, chromium, notebook):
    source = exported / "source" / notebook.name
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    outside = launcher.files_only(context)
    page = context.new_page()
    try:
        page.goto((exported / f"{notebook.stem}.html").as_uri())
        mathjax = page.evaluate("() => !!(window.MathJax && MathJax.Hub)")
        if mathjax:
            page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")
        typeset = page.locator("script[type^='math/tex']").count()
        text = page.evaluate("""() => [...document.querySelectorAll('.jp-MarkdownCell')]
                                       .map(cell => cell.innerText).join('\\n')""")
        images = page.evaluate("""ids => ids.map(id => {
            const cell = document.getElementById('cell-id=' + id);
            const shown = cell ? [...cell.querySelectorAll('.jp-OutputArea img')].filter(img => {
                const box = img.getBoundingClientRect();
                return img.complete && img.naturalWidth > 0 && box.width > 0 && box.height > 0
                       && getComputedStyle(img).visibility !== 'hidden';
            }) : [];
            return [id, shown.length];
        })""", figure_cells(notebook))
    finally:
        context.close()
    assert outside == []
    assert mathjax, "MathJax did not load"
    assert RAW_MATH.findall(text) == []
    has_math = any(c.cell_type == "markdown" and RAW_MATH.search(c.source)
                   for c in nbformat.read(source, as_version=4).cells)
    assert typeset > 0 or not has_math, "no formula was typeset"
    assert images, "the notebook stores no figure"
    assert [cell for cell, shown in images if shown == 0] == [], "figure cells showing no image"


@browser_only
def test_the_offline_browser_aborts_and_records_what_would_leave_the_machine(chromium, tmp_path):
    page_file = tmp_path / "p.html"
    page_file.write_text('<img src="http://example.invalid/a.png"><img src="b.png">',
                         encoding="utf-8")
    context = chromium.new_context()
    outside = launcher.files_only(context)
    try:
        context.new_page().goto(page_file.as_uri(), wait_until="load")
    finally:
        context.close()
    assert outside == ["http://example.invalid/a.png"]  # the local b.png went through
