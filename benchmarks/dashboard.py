"""Benchmark: how fast the dashboard draws with 200 stored runs, whether it stays offline,
whether its launch form lets a bad entry through, and a quick run from the page.

In one headless Chromium (Debian's, driven by Playwright) against one `panel serve` of both the
app and an empty page with the same template and extensions: the time from the page request to
the Compare view fully drawn (the figure's traces and the cost table's rows in the DOM), the same
for the empty page (the floor the browser and Panel's scripts set), and the time a quick run
(bptt, default laptop config) takes from the click on Launch to its finished card. Each load uses
a fresh browser context (a first visit, nothing cached); the median of the repetitions is used.
Both pages are timed by one probe, polled every 20 ms in the page: Bokeh has drawn the document
and, for Compare, the figure's traces and the table's rows are in the DOM (open shadow roots
searched). Playwright's own waits back off to 100 and 500 ms between checks, which put up to
half a second on the app's time and none on the empty page's.

`offline_requests` counts the requests to any host but the served one over every load and the
visit to Launch and Runs (goal 0: the page works on a machine without a network).
`bad_inputs_accepted` types each entry of `BAD_INPUTS` into its launch-form field and counts those
the page takes: no message under the field, Launch enabled, or a raw TypeError (goal 0).

    python benchmarks/dashboard.py            # 5 loads of each page
    python benchmarks/dashboard.py --quick    # 3 loads of each page (about 1 min on 2 cores)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

# Run as a script, this folder comes first on sys.path, where benchmarks/nir.py would shadow the
# `nir` package the app imports (through lab.export): leave it out.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from lab.core.results import ResultsStore  # noqa: E402
from lab.dashboard import sample  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboards"))
import launcher  # noqa: E402  (beside the app, not in the library)

GOAL_RENDER_RATIO, GOAL_QUICK_RUN_S = 1.2, 30.0
# bptt's launch form: (field, entry) pairs that must each be refused next to the field.
BAD_INPUTS = [("timesteps", t) for t in ("2.5", "1e3", "", " ", "abc", "nan", "inf", "-inf",
                                         "0x4", "1,5", "0", "-3", "1025")] + \
             [("lr", t) for t in ("", "abc", "nan", "inf", "-inf", "1,5", "0", "-0.1", "11")] + \
             [("epochs", t) for t in ("1.0", "", "1e1", "0")] + \
             [("beta", t) for t in ("nan", "1.5", "")]
EMPTY_APP = '''"""The empty page: the dashboard's template and extensions, nothing in it."""
from lab.dashboard import views

views.extension()
views.template([]).servable()
'''
# The page is drawn: Bokeh has rendered the document and every selector matches, in the page or
# in any open shadow root (Panel draws each component in one).
DRAWN = """(selectors) => {
  const ready = window.Bokeh !== undefined && Bokeh.documents.length > 0
      && Object.keys(Bokeh.index).length > 0;
  const found = (root, selector) => root.querySelector(selector) !== null
      || Array.from(root.querySelectorAll("*")).some(
           el => el.shadowRoot !== null && found(el.shadowRoot, selector));
  return ready && selectors.every(selector => found(document, selector));
}"""
COMPARE_DRAWN = [".js-plotly-plot .scatterlayer .trace", "table.cost-table tbody tr"]


class Foreign:
    """Counts the requests browser contexts make to a host other than the server's."""

    def __init__(self, url: str) -> None:
        self.host, self.urls = urlsplit(url).netloc, []

    def watch(self, context):
        context.on("request", self._check)
        return context

    def _check(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.host:
            self.urls.append(request.url)


def load_time(browser, url: str, compare: bool, foreign: Foreign) -> float:
    """Seconds from the request to the page drawn (the Compare figure and table, if asked):
    both pages by the same probe (`DRAWN`), every 20 ms."""
    context = foreign.watch(browser.new_context(viewport={"width": 1400, "height": 900}))
    page = context.new_page()
    selectors = COMPARE_DRAWN if compare else []
    try:
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(DRAWN, arg=selectors, timeout=120_000, polling=20)
        elapsed = time.perf_counter() - start
        for selector in selectors:  # and visible, as Playwright sees it (off the clock)
            page.locator(selector).first.wait_for(timeout=10_000)
        return elapsed
    finally:
        context.close()


def bad_inputs_accepted(page) -> list[str]:
    """The `BAD_INPUTS` the open Launch form accepts (see the module docstring)."""
    from playwright.sync_api import expect

    button = page.get_by_role("button", name="Launch run")
    accepted = []
    for name, typed in BAD_INPUTS:
        box = page.locator(f".field-{name} input")
        default = box.input_value()
        box.fill(typed)
        box.press("Tab")
        try:
            expect(page.locator(f".error-{name}")).to_contain_text(name, timeout=3_000)
            expect(button).to_be_disabled(timeout=1_000)
            expect(page.get_by_text("TypeError")).to_have_count(0, timeout=100)
        except AssertionError:
            accepted.append(f"{name}={typed!r}")
        box.fill(default)
        box.press("Tab")
        expect(page.locator(f".error-{name}")).to_be_hidden()
    return accepted


def quick_run_time(browser, url: str, shot: Path, foreign: Foreign) -> tuple[float, list[str]]:
    """Seconds from the click on Launch (default config) to the run's finished card, after
    trying every bad entry in the form; and the bad entries it accepted. Visits Runs too."""
    page = foreign.watch(browser.new_context(viewport={"width": 1400, "height": 900})).new_page()
    page.goto(url)
    page.locator(".bk-tab", has_text="Launch").click()
    button = page.get_by_role("button", name="Launch run")
    button.wait_for(timeout=60_000)
    accepted = bad_inputs_accepted(page)
    start = time.perf_counter()
    button.click()
    page.get_by_role("button", name="Show in Compare").wait_for(timeout=300_000)
    elapsed = time.perf_counter() - start
    page.screenshot(path=str(shot))
    page.locator(".bk-tab", has_text="Runs").click()
    page.locator(".tabulator-row").first.click()
    page.locator(".cli-command textarea").wait_for(timeout=30_000)
    page.context.close()
    return elapsed, accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 loads of each page (~1 min)")
    parser.add_argument("--runs", type=int, default=200, help="synthetic runs in the store")
    parser.add_argument("--repeats", type=int, default=None, help="default 5 (3 with --quick)")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)  # odd: the median is one load
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
            foreign = Foreign(url)
            load_time(browser, f"{url}/app", True, foreign)  # warm-up: browser, server caches
            load_time(browser, f"{url}/empty", False, foreign)
            app_s, empty_s = [], []
            for _ in range(repeats):  # alternate, so load drift hits both equally
                empty_s.append(load_time(browser, f"{url}/empty", False, foreign))
                app_s.append(load_time(browser, f"{url}/app", True, foreign))
            quick_s, accepted = quick_run_time(browser, f"{url}/app",
                                               artifacts / "dashboard_bench.png", foreign)
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
    print(f"goal: no request to another host: {len(foreign.urls)} — "
          f"{'met' if not foreign.urls else 'MISSED: ' + ' '.join(sorted(set(foreign.urls)))}")
    print(f"goal: no bad form entry accepted, of {len(BAD_INPUTS)}: {len(accepted)} — "
          f"{'met' if not accepted else 'MISSED: ' + ', '.join(accepted)}")
    print(f"RESULT dashboard first_render_s={first:.3f} empty_render_s={floor:.3f} "
          f"render_over_empty={ratio:.3f} quick_run_s={quick_s:.2f} "
          f"offline_requests={len(foreign.urls)} bad_inputs_accepted={len(accepted)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
