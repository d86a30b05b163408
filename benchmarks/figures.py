"""Every figure of the course as a reader sees it: screenshots at 1366×768, to look at.

    python benchmarks/figures.py [--quick] [--out build/figures]

Exports every notebook offline (`lab.notebooks.export_html`, from the stored outputs), opens
each page in headless Chromium at 1366×768 with every outside request aborted, and saves a
screenshot of each figure cell's output as `<out>/<notebook>-c<cell>.png` (`--quick`: the
first notebook only). A person looks at them: clipped or overlapping text, a legend over the
data, a squashed frame. Measured per figure: the width it is shown at over the width it was
drawn at (below 1 the page shrinks it, and its text with it).
Last line: `RESULT figures figures=... shots=... shrunk=... min_scale=... outside_requests=...`
(goals: shots = figures, shrunk = 0 (shown at < 90 % of its drawn width), outside_requests = 0).
Needs Debian's chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "dashboards"))  # the Chromium launcher lives there
import launcher  # noqa: E402

from lab.notebooks import export_html  # noqa: E402

SHRUNK = 0.9


def figure_cells(path: Path) -> list[tuple[int, str]]:
    """(index, id) of the cells whose stored outputs hold a figure (a PNG)."""
    cells = nbformat.read(path, as_version=4).cells
    return [(i, c.id) for i, c in enumerate(cells)
            if any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "figures")
    args = parser.parse_args()
    if not launcher.CHROMIUM.exists():  # as benchmarks/dashboard.py: say so, do not fail
        print(f"{launcher.CHROMIUM} not found: install Debian's chromium (apt-get install "
              "chromium) to run this benchmark")
        print("RESULT figures chromium_missing=1")
        return 0
    from playwright.sync_api import sync_playwright

    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))[: 1 if args.quick else None]
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    figures = shots = shrunk = 0
    scales = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        source = Path(tmp) / "source"
        source.mkdir()
        for notebook in notebooks:
            shutil.copy(notebook, source / notebook.name)
        export_html(source, Path(tmp))
        browser = launcher.chromium(p)
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        outside = launcher.files_only(context)
        page = context.new_page()
        for notebook in notebooks:
            page.goto((Path(tmp) / f"{notebook.stem}.html").as_uri())
            if page.evaluate("() => !!(window.MathJax && MathJax.Hub)"):
                page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")
            for index, cell_id in figure_cells(notebook):
                figures += 1
                area = page.locator(f"[id='cell-id={cell_id}'] .jp-OutputArea").first
                for img in page.locator(f"[id='cell-id={cell_id}'] .jp-OutputArea img").all():
                    scale = img.evaluate("i => i.getBoundingClientRect().width / i.naturalWidth")
                    scales.append(scale)
                    shrunk += scale < SHRUNK
                    if scale < SHRUNK:
                        print(f"{notebook.stem} cell {index}: shown at {scale:.0%} of its width")
                if area.count():
                    area.screenshot(path=str(args.out / f"{notebook.stem}-c{index:02d}.png"))
                    shots += 1
        browser.close()
    print(f"screenshots in {args.out}")
    print(f"RESULT figures figures={figures} shots={shots} shrunk={shrunk} "
          f"min_scale={min(scales, default=1.0):.2f} outside_requests={len(outside)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
