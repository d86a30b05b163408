"""Serve the dashboard on a free loopback port and open it in headless Chromium.

For the browser test and the dashboard benchmark, not the library: they put this folder on
`sys.path` and `import launcher`. `served(...)` starts `panel serve` as a subprocess bound to
127.0.0.1 with `$LAB_RESULTS` pointing at a given store, waits until it answers, and always
stops it; `chromium(playwright)` launches Debian's Chromium with the flags a sandboxed,
offline machine needs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
APP = PROJECT_ROOT / "dashboards" / "app.py"
ADDRESS = "127.0.0.1"  # loopback only: nothing outside this machine can reach a test server
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((ADDRESS, 0))
        return s.getsockname()[1]


@contextmanager
def served(results: str | os.PathLike, apps: Sequence[str | os.PathLike] = (APP,),
           timeout: float = 120.0, log: str | os.PathLike | None = None) -> Iterator[str]:
    """`panel serve apps` on a free loopback port with `LAB_RESULTS=results`; yields the base URL.

    The first request is made here, so the app's imports (torch, panel) are paid before the
    caller's clock starts. The server is terminated (then killed) on exit, whatever happens.
    """
    port = free_port()
    env = {**os.environ, "LAB_RESULTS": str(results)}
    command = [sys.executable, "-m", "panel", "serve", *map(str, apps),
               "--address", ADDRESS, "--port", str(port),
               f"--allow-websocket-origin={ADDRESS}:{port}",
               f"--allow-websocket-origin=localhost:{port}"]
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115  (closed below)
    server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                              cwd=PROJECT_ROOT, start_new_session=True)
    url = f"http://{ADDRESS}:{port}"
    try:
        _wait_until_up(server, url + "/" + Path(apps[0]).stem, timeout)
        yield url
    finally:
        _stop(server)
        if log:
            out.close()


def _wait_until_up(server: subprocess.Popen, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"panel serve exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=max(1.0, deadline - time.monotonic())):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def chromium(playwright):
    """Headless Debian Chromium driven by Playwright."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def files_only(context) -> list[str]:
    """Abort every request of a browser `context` that leaves the machine (anything but a
    local file, data or blob URL), as an offline reader's browser fails it; returns the list
    the aborted URLs are appended to."""
    outside: list[str] = []

    def route(request_route) -> None:
        if request_route.request.url.startswith(LOCAL_SCHEMES):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    return outside
