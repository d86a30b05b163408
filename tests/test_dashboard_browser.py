"""The dashboard in headless Chromium at 1366×768, as a user clicks it: stored runs compared,
their paired difference, and listed; two browsers launching runs through the Dask engine that
finish, a run's live progress from its worker, a reload during a run, the sweeps listed; an
unusable results file; and not one request leaves the machine. Saves `artifacts/dashboard.png`.

One `panel serve` for the module serves three pages: `app` (dashboards/app.py over a store of
synthetic runs), `fresh` (an empty store) and `broken` (a results file that is not SQLite).
Needs Debian's Chromium at /usr/bin/chromium (CI installs it); skipped, saying so, without it.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import time
from urllib.parse import urlsplit

import pytest

from lab import bptt
from lab.core.config import spec
from lab.core.results import PROJECT_ROOT, ResultsStore
from lab.dashboard import sample

sys.path.insert(0, str(PROJECT_ROOT / "dashboards"))  # the launcher lives beside the app
import launcher  # noqa: E402

pytestmark = pytest.mark.skipif(
    not launcher.CHROMIUM.exists() and not os.environ.get("LAB_REQUIRE_BROWSER"),
    reason=f"{launcher.CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) "
           "to run the browser test")

SCREENSHOT = PROJECT_ROOT / "artifacts" / "dashboard.png"
TIMESTEPS = spec(bptt.Config, "timesteps")
VIEWPORT = {"width": 1366, "height": 768}  # a common laptop screen
PAGE = '''from lab.dashboard import views

views.extension()
views.page(r"{path}").servable()
'''
# Typed into the launch form: each must be refused next to its field, never reach the Config.
BAD_INTEGERS = ["2.5", "1e3", "", "abc", "nan", "inf"]
BAD_NUMBERS = ["", "abc", "nan", "inf"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The base URL and the paths of the stores behind `app`, `fresh` and `broken`."""
    folder = tmp_path_factory.mktemp("served")
    stores = {"app": folder / "sample.sqlite", "fresh": folder / "fresh.sqlite",
              "broken": folder / "broken.sqlite"}
    sample.fill(ResultsStore(stores["app"]), 80)
    stores["broken"].write_text("not a database\n" * 100)
    apps = [launcher.APP]
    for name in ("fresh", "broken"):
        apps.append(folder / f"{name}.py")
        apps[-1].write_text(PAGE.format(path=stores[name]))
    log = folder / "server.log"
    with launcher.served(stores["app"], apps=apps, log=log) as url:
        yield url, stores
    # No error raised in the lab's code (a closing browser's socket may log tornado's own).
    assert [line for line in log.read_text().splitlines()
            if f"{PROJECT_ROOT}/lab/" in line or f"{PROJECT_ROOT}/dashboards/" in line] == []


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launcher.chromium(p)
        yield browser
        browser.close()


class Offline:
    """Records every request a browser context makes to a host other than the server."""

    def __init__(self, url: str) -> None:
        self.host, self.foreign = urlsplit(url).netloc, []

    def watch(self, context):
        context.on("request", lambda r: self._check(r.url))
        return context

    def _check(self, url: str) -> None:
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and \
                urlsplit(url).netloc != self.host:
            self.foreign.append(url)


def set_field(page, name: str, value: str) -> None:
    """Type into a launch-form field and leave it, as a user does (the value syncs on change)."""
    box = page.locator(f".field-{name} input")
    box.fill(value)
    box.press("Tab")


def open_launch(page, **fields: str) -> None:
    page.locator(".bk-tab", has_text="Launch").click()
    for name, value in fields.items():
        set_field(page, name, value)


def downloaded(page, label: str) -> list[dict]:
    """Click the FileDownload labelled `label`; the CSV it saves, as rows."""
    with page.expect_download() as download:
        page.get_by_text(label).click()
    with open(download.value.path()) as f:
        return list(csv.DictReader(io.StringIO(f.read())))


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


LONGEST_LABEL_PX = """select => {
  const font = getComputedStyle(select).font, ctx = document.createElement("canvas")
    .getContext("2d");
  ctx.font = font;
  return [Math.max(...[...select.options].map(o => ctx.measureText(o.text).width)),
          select.clientWidth];
}"""


# The figure is drawn at its pane's width, its legend measured and below the tick labels: of
# Panel's redraws at one size only the first two are made (views.style.PlotlyResizeOnce).
FIGURE_FITS = """plot => {
  const pane = plot.getRootNode().host.getBoundingClientRect();
  const svg = plot.querySelector("svg.main-svg").getBoundingClientRect();
  const legend = plot.querySelector("g.legend").getBoundingClientRect();
  const ticks = plot.querySelector("g.xaxislayer-above").getBoundingClientRect();
  return [Math.round(svg.width - pane.width),
          legend.width > 100 && legend.height > 10 && legend.top >= ticks.bottom];
}"""


def eventually(check, timeout: float = 15.0) -> bool:
    """Whether `check()` holds within `timeout` seconds (polled every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_stored_runs_compare_and_list_offline(server, chromium):
    from playwright.sync_api import expect

    url, stores = server
    offline = Offline(url)
    context = offline.watch(chromium.new_context(
        viewport=VIEWPORT, permissions=["clipboard-read", "clipboard-write"]))
    page = context.new_page()
    page.goto(f"{url}/app")
    traces = page.locator(".js-plotly-plot .scatterlayer .trace:visible")  # not Difference's
    rows = page.locator("table.cost-table tbody tr")
    expect(traces).to_have_count(len(sample.METHODS), timeout=60_000)
    expect(rows).to_have_count(len(sample.METHODS))
    streaming = rows.filter(has_text="streaming")  # its own curve, its operations, no "None"
    expect(streaming.locator("td").nth(4)).to_have_text(re.compile(r"^(t=\d+|> \d+)$"))
    expect(streaming.locator("td").nth(10)).to_have_text(re.compile(r" k$"))  # SNN ops
    expect(streaming).not_to_contain_text("None")
    figure = page.locator(".js-plotly-plot:visible")
    assert eventually(lambda: figure.evaluate(FIGURE_FITS) == [0, True])

    dataset = page.locator("select").first
    first = dataset.input_value()
    for name in [d for d in sample.DATASETS if d != first] + [first]:  # away and back
        dataset.select_option(name)
        expect(traces).to_have_count(len(sample.METHODS))
        expect(rows).to_have_count(len(sample.METHODS))

    page.locator(".js-plotly-plot .nsewdrag").first.hover()  # the modebar shows on hover
    modebar = page.locator(".js-plotly-plot .modebar").bounding_box()
    legend = page.locator(".js-plotly-plot g.legend").bounding_box()
    assert modebar and legend and not overlap(modebar, legend)
    longest, width = page.locator("select[multiple]").evaluate(LONGEST_LABEL_PX)
    assert longest <= width, "run labels are cut"

    fits = "t => t.scrollWidth <= t.parentElement.clientWidth"
    assert page.locator("table.cost-table").evaluate(fits), "the cost table is cut at 1366 px"
    cost = downloaded(page, "Cost table (CSV)")
    assert len(cost) == len(sample.METHODS) and float(cost[0]["best_accuracy_mean"]) > 50

    page.locator(".bk-tab", has_text="Difference").click()  # the sample has matched seeds
    expect(page.locator(".verdict")).to_contain_text(re.compile(
        r"Accuracy: (no measurable difference between|.+ is higher than) .+ n = \d"))
    expect(page.get_by_text("matched seeds: the mean paired difference")).to_be_visible()
    expect(page.locator("table.paired-table tbody tr").first).to_contain_text("=1")

    page.locator(".bk-tab", has_text="Runs").click()
    table = page.locator(".tabulator-row")
    expect(table).to_have_count(20)  # a page of 80
    where = page.locator(".where input")
    where.fill("timesteps>=4, epochs=3")
    where.press("Enter")
    expect(page.locator(".tabulator-row", has_text="streaming")).to_have_count(0)
    listed = downloaded(page, "These runs (CSV)")
    assert listed and all(int(r["config.timesteps"]) >= 4 for r in listed)
    table.first.click()
    command = page.locator(".cli-command textarea")
    expect(command).to_have_value(f"python -m lab run {listed[0]['method']} --dataset "
                                  f"{listed[0]['dataset']} "
                                  f"--timesteps {listed[0]['config.timesteps']} "
                                  f"--epochs 3 --seed {listed[0]['seed']} --device auto")
    page.get_by_role("button", name="Copy command").click()
    expect(page.get_by_role("button", name="✓ Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == command.input_value()

    # Hiding redraws Compare while its tab is hidden: it once sent every component's shared
    # stylesheet to Panel's CDN.
    shown = page.locator(".tabulator-row").first.locator(".tabulator-cell[tabulator-field='id']")\
        .inner_text()
    page.get_by_role("button", name="Hide this run").click()
    expect(page.get_by_text(f"Run #{shown} is hidden")).to_be_visible()
    page.locator(".bk-tab", has_text="Compare").click()
    expect(page.locator("select[multiple] option", has_text=f"#{shown} ·")).to_have_count(0)
    expect(traces).to_have_count(len(sample.METHODS))
    assert eventually(lambda: figure.evaluate(FIGURE_FITS)[1])  # redrawn hidden, then shown
    context.close()
    assert offline.foreign == []


def test_two_browsers_launch_runs_and_a_reload_keeps_its_run(server, chromium):
    from playwright.sync_api import expect

    url, stores = server
    offline = Offline(url)
    first = offline.watch(chromium.new_context(viewport=VIEWPORT)).new_page()
    second = offline.watch(chromium.new_context(viewport=VIEWPORT)).new_page()  # another browser
    first.goto(f"{url}/fresh")
    second.goto(f"{url}/fresh", wait_until="commit")  # both load at once
    expect(first.get_by_text("No runs yet")).to_be_visible(timeout=60_000)

    open_launch(first)
    launch = first.get_by_role("button", name="Launch run")
    for name, entries in (("timesteps", BAD_INTEGERS), ("lr", BAD_NUMBERS)):
        error = first.locator(f".error-{name}")
        for typed in entries:
            set_field(first, name, typed)
            expect(error).to_contain_text(f"{name} needs a value" if not typed
                                          else f"{name} must be")
            expect(launch).to_be_disabled()
        set_field(first, name, str(spec(bptt.Config, name).default))
        expect(error).to_be_hidden()
    expect(first.locator(".alert-danger:visible")).to_have_count(0)  # no raw form-wide error
    expect(first.get_by_text("TypeError")).to_have_count(0)
    set_field(first, "timesteps", "0")
    expect(first.locator(".error-timesteps")).to_have_text(
        f"timesteps must be {TIMESTEPS.valid()}, got 0")
    set_field(first, "timesteps", "4")
    set_field(first, "epochs", "1")

    open_launch(second, timesteps="4", epochs="1", seed="1")
    launch.click()
    second.get_by_role("button", name="Launch run").click()
    for page in (first, second):
        expect(page.get_by_role("button", name="Show in Compare")).to_be_visible(
            timeout=120_000)
        expect(page.get_by_text("finished in")).to_be_visible()

    first.get_by_role("button", name="Show in Compare").click()
    first.get_by_role("button", name="Newest of each method").click()
    table = first.locator("table.cost-table tbody tr")
    expect(table).to_have_count(1)
    expect(table.locator("td").nth(0)).to_have_text("bptt")
    expect(table.locator("td").nth(1)).to_have_text("2")  # both seeds, one experiment
    expect(first.locator(".js-plotly-plot .scatterlayer .trace")).to_have_count(1)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    first.screenshot(path=str(SCREENSHOT), full_page=True)

    # A long run, then a reload: the page finds its run, with Cancel, and does not count it as
    # another browser's (the other browser does).
    open_launch(first, epochs="200")
    launch.click()
    cancel = first.get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible(timeout=30_000)
    live = first.get_by_text(re.compile(r"epoch \d+/200 loss"))  # reported by the Dask worker
    expect(live).to_be_visible(timeout=60_000)
    expect(second.get_by_text("1 run from other browsers")).to_be_visible(timeout=10_000)
    first.reload()
    first.locator(".bk-tab", has_text="Launch").click()
    expect(cancel).to_be_visible(timeout=30_000)
    expect(first.get_by_text("finished in")).to_be_visible()  # its first run, too
    expect(first.get_by_text("from other browsers")).to_have_count(0)
    cancel.click()
    expect(first.get_by_text("cancelled").first).to_be_visible(timeout=30_000)
    expect(second.get_by_text("from other browsers")).to_have_count(0, timeout=10_000)

    second.locator(".bk-tab", has_text="Sweeps").click()  # each launch: a sweep of one
    sweeps = second.locator("table.sweeps-table tbody tr")
    expect(sweeps).to_have_count(3)
    expect(sweeps.first).to_contain_text("cancelled")
    expect(sweeps.last).to_contain_text("1 / 1")
    second.locator(".bk-tab", has_text="Runs").click()
    expect(second.locator(".tabulator-row")).to_have_count(3)
    expect(second.locator(".tabulator-row").first).to_contain_text("cancelled")
    for page in (first, second):
        page.context.close()
    assert sorted((r.seed, r.status) for r in ResultsStore(stores["fresh"]).runs()) == [
        (0, "cancelled"), (0, "finished"), (1, "finished")]
    assert offline.foreign == []


def test_an_unusable_results_file_gives_a_page_that_says_why(server, chromium):
    from playwright.sync_api import expect

    url, stores = server
    offline = Offline(url)
    page = offline.watch(chromium.new_context(viewport=VIEWPORT)).new_page()
    page.goto(f"{url}/broken")
    alert = page.locator(".results-error")
    expect(alert).to_contain_text("The results file cannot be used", timeout=60_000)
    expect(alert).to_contain_text(str(stores["broken"]))
    page.context.close()
    assert offline.foreign == []
