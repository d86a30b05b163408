"""The dashboard in headless Chromium: two sessions launch runs by clicking, both finish, and
the results show up in Compare and Runs. Saves `artifacts/dashboard.png`.

Needs Debian's Chromium at /usr/bin/chromium (CI installs it); skipped, saying so, without it.
"""

from __future__ import annotations

import os
import sys

import pytest

from lab import bptt
from lab.core.config import spec
from lab.core.results import PROJECT_ROOT, ResultsStore

sys.path.insert(0, str(PROJECT_ROOT / "dashboards"))  # the launcher lives beside the app
import launcher  # noqa: E402

pytestmark = pytest.mark.skipif(
    not launcher.CHROMIUM.exists() and not os.environ.get("LAB_REQUIRE_BROWSER"),
    reason=f"{launcher.CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) "
           "to run the browser test")

SCREENSHOT = PROJECT_ROOT / "artifacts" / "dashboard.png"
TIMESTEPS = spec(bptt.Config, "timesteps")
VIEWPORT = {"width": 1400, "height": 900}


def set_field(page, name: str, value: str) -> None:
    """Type into a launch-form field and leave it, as a user does (the value syncs on change)."""
    box = page.locator(f".field-{name} input")
    box.fill(value)
    box.press("Tab")


def open_launch(page, **fields: str) -> None:
    page.locator(".bk-tab", has_text="Launch").click()
    for name, value in fields.items():
        set_field(page, name, value)


def test_two_sessions_launch_runs_that_finish_and_appear_in_compare(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    store = ResultsStore(tmp_path / "runs.sqlite")
    log = tmp_path / "server.log"
    with launcher.served(store.path, log=log) as url, sync_playwright() as p:
        browser = launcher.chromium(p)
        try:
            first = browser.new_context(viewport=VIEWPORT).new_page()
            second = browser.new_context(viewport=VIEWPORT).new_page()  # another session
            first.goto(f"{url}/app")
            second.goto(f"{url}/app", wait_until="commit")  # both load at once
            expect(first.get_by_text("No runs yet")).to_be_visible(timeout=60_000)

            open_launch(first, timesteps="2.5")
            error = first.locator(".error-timesteps")
            expect(error).to_contain_text("written in digits, got '2.5'")
            set_field(first, "timesteps", "0")
            expect(error).to_have_text(f"timesteps must be {TIMESTEPS.valid()}, got 0")
            launch = first.get_by_role("button", name="Launch run")
            expect(launch).to_be_disabled()
            set_field(first, "timesteps", "4")
            set_field(first, "epochs", "1")
            expect(error).to_be_hidden()

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

            second.locator(".bk-tab", has_text="Runs").click()
            expect(second.locator(".tabulator-row")).to_have_count(2)
            expect(second.locator(".tabulator-row").first).to_contain_text("finished")
        finally:
            browser.close()
    assert sorted((r.seed, r.status) for r in store.runs()) == [(0, "finished"), (1, "finished")]
    assert "Traceback" not in log.read_text()
