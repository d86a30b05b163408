"""Benchmark: how fast the dashboard draws with 200 stored runs, and a quick run from the page.

In one headless Chromium (Debian's, driven by Playwright) against one `panel serve` of both the
app and an empty page with the same template and extensions: the time from the page request to
the Compare view fully drawn (the figure's traces and the cost table's rows in the DOM), the same
for the empty page (the floor the browser and Panel's scripts set), and the time a quick run
(bptt, default laptop config) takes from the click on Launch to its finished card. Each load uses
a fresh browser context (a first visit, nothing cached); the median of the repetitions is used.

    python benchmarks/dashboard.py            # 5 loads of each page
    python benchmarks/dashboard.py --quick    # 2 loads of each page (< 1 min on 2 cores)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lab.core.results import ResultsStore
from lab.dashboard import sample

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboards"))
import launcher  # noqa: E402  (beside the app, not in the library)

GOAL_RENDER_RATIO, GOAL_QUICK_RUN_S = 1.2, 30.0
EMPTY_APP = '''"""The empty page: the dashboard's template and extensions, nothing in it."""
from lab.dashboard import views

views.extension()
views.template([]).servable()
'''
BOKEH_READY = ("() => window.Bokeh !== undefined && Bokeh.documents.length > 0"
               " && Object.keys(Bokeh.index).length > 0")


def load_time(browser, url: str, compare: bool) -> float:
    """Seconds from the request to the page drawn (the Compare figure and table, if asked)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(BOKEH_READY, timeout=120_000, polling=20)
        if compare:
            page.locator(".js-plotly-plot .scatterlayer .trace").first.wait_for(timeout=120_000)
            page.locator("table.cost-table tbody tr").first.wait_for(timeout=120_000)
        return time.perf_counter() - start
    finally:
        context.close()


def quick_run_time(browser, url: str, shot: Path) -> float:
    """Seconds from the click on Launch (default config) to the run's finished card."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url)
    page.locator(".bk-tab", has_text="Launch").click()
    button = page.get_by_role("button", name="Launch run")
    button.wait_for(timeout=60_000)
    start = time.perf_counter()
    button.click()
    page.get_by_role("button", name="Show in Compare").wait_for(timeout=300_000)
    elapsed = time.perf_counter() - start
    page.screenshot(path=str(shot))
    page.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 loads of each page (< 1 min)")
    parser.add_argument("--runs", type=int, default=200, help="synthetic runs in the store")
    parser.add_argument("--repeats", type=int, default=None, help="default 5 (2 with --quick)")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    if not launcher.CHROMIUM.exists():
        print(f"{launcher.CHROMIUM} not found: install Debian's chromium (apt-get install "
              "chromium) to run this benchmark")
        print("RESULT dashboard chromium_missing=1")
        return
    from playwright.sync_api import sync_playwright

    artifacts = Path(__file__).resolve().parents[1] / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultsStore(Path(tmp) / "runs.sqlite")
        sample.fill(store, args.runs, seed=0)
        empty = Path(tmp) / "empty.py"
        empty.write_text(EMPTY_APP)
        print(f"# {args.runs} synthetic runs in the store, {repeats} loads of each page, "
              "fresh browser context per load")
        with launcher.served(store.path, apps=(launcher.APP, empty)) as url, \
                sync_playwright() as p:
            browser = launcher.chromium(p)
            load_time(browser, f"{url}/app", compare=True)  # warm-up: browser, server caches
            load_time(browser, f"{url}/empty", compare=False)
            app_s, empty_s = [], []
            for _ in range(repeats):  # alternate, so load drift hits both equally
                empty_s.append(load_time(browser, f"{url}/empty", compare=False))
                app_s.append(load_time(browser, f"{url}/app", compare=True))
            quick_s = quick_run_time(browser, f"{url}/app", artifacts / "dashboard_bench.png")
            browser.close()
    first, floor = statistics.median(app_s), statistics.median(empty_s)
    ratio = first / floor
    print(f"{'page':<40} {'median (s)':>10}   each load (s)")
    print(f"{'empty page, same template':<40} {floor:>10.2f}   "
          + " ".join(f"{t:.2f}" for t in empty_s))
    print(f"{f'Compare, {args.runs} runs, fully drawn':<40} {first:>10.2f}   "
          + " ".join(f"{t:.2f}" for t in app_s))
    print(f"{'quick run (bptt defaults), click → done':<40} {quick_s:>10.2f}")
    print(f"goal: render ≤ {GOAL_RENDER_RATIO}× the empty page: {ratio:.2f}× — "
          f"{'met' if ratio <= GOAL_RENDER_RATIO else 'MISSED'}")
    print(f"goal: quick run < {GOAL_QUICK_RUN_S:.0f} s: {quick_s:.1f} s — "
          f"{'met' if quick_s < GOAL_QUICK_RUN_S else 'MISSED'}")
    print(f"RESULT dashboard first_render_s={first:.3f} empty_render_s={floor:.3f} "
          f"render_over_empty={ratio:.3f} quick_run_s={quick_s:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
