"""Run the course's notebooks headless (tests, benchmarks, refreshing stored outputs).

`execute(path)` runs a notebook in a fresh kernel with nbclient, its own folder as working
directory. Measured here: under load, nbclient sometimes waits a whole cell timeout at a widget
cell although the kernel has already replied and gone idle (3 runs in 8 of notebook 02 took
`timeout` seconds longer, with the kernel idle throughout; then the reply is read and the run
goes on). jupyter_client's asyncio channel polls its socket once for the whole timeout, and a
wake-up missed on the socket's edge-triggered descriptor is only noticed when that poll times
out. `sliced_polling()` makes every wait poll in slices of `SLICE_S`, so a missed wake-up costs
at most a slice. nbval (`make test`) uses the blocking client, which did not stall here.

`kernel_manager()` starts kernels that talk over Unix sockets in a private folder (POSIX): with
TCP, jupyter_client picks free ports by binding and releasing them before the kernel binds, and
two processes starting kernels at once can pick the same port (a kernel died before replying,
seen 2026-12-06 with two test processes). `make nbtest` runs two such processes side by side.

`export_html(src, dst)` writes every notebook as a static HTML page from its stored outputs
(nothing is run) that reads offline: `python -m lab.notebooks export notebooks build/html`.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from queue import Empty

import nbformat

SLICE_S = 0.5
# The export: MathJax 2.7 served from the copy beside the pages (jupyter-server-mathjax ships
# its files; nbconvert's default loads it from a CDN, and offline every formula stays raw $…$),
# and each output's stored PNG before a widget's view (nbconvert's default prefers the view,
# which needs the widget manager from a CDN: offline, a blank cell).
MATHJAX_DIR = "mathjax"
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
# MathJax's STIX-Web fonts, as the Jupyter Notebook configures them: the package ships those
# only (the default TeX fonts missing, formulas fall back to a system font, misplacing accents).
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, imageFont: null,
                                  webFont: "STIX-Web"}});
</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
"""
EXPORT_PRIORITY = ["image/png", "image/jpeg", "image/svg+xml", "text/html", "text/markdown",
                   "text/latex", "application/vnd.jupyter.widget-view+json", "text/plain"]


def sliced_polling() -> None:
    """Patch jupyter_client's asyncio channels to poll in slices (idempotent)."""
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.get_msg, "sliced", False):
        return
    whole = AsyncZMQSocketChannel.get_msg

    async def get_msg(self, timeout: float | None = None):
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = SLICE_S if end is None else max(0.0, min(SLICE_S, end - time.monotonic()))
            try:
                return await whole(self, timeout=left)
            except Empty:
                if end is not None and time.monotonic() >= end:
                    raise

    get_msg.sliced = True
    AsyncZMQSocketChannel.get_msg = get_msg


@functools.cache
def kernel_manager() -> type:
    """jupyter_client's KernelManager, its kernels on Unix sockets in a folder of their own.

    On POSIX every kernel gets `transport="ipc"` and a fresh folder from `tempfile.mkdtemp`
    (removed at its shutdown), so no two kernels, in any process, share a port or a socket;
    elsewhere (Windows has no ipc transport) it is KernelManager itself.

    Example:
        >>> km = kernel_manager()(kernel_name="python3")
        >>> km.transport == ("ipc" if os.name == "posix" else "tcp")
        True
    """
    from jupyter_client.manager import KernelManager

    if os.name != "posix":
        return KernelManager

    class PrivateKernelManager(KernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(tempfile.mkdtemp(prefix="lab-kernel-"), "k"))
            super().__init__(**kwargs)

        def cleanup_ipc_files(self) -> None:
            super().cleanup_ipc_files()
            shutil.rmtree(os.path.dirname(self.ip), ignore_errors=True)

    return PrivateKernelManager


def shutdown(km) -> None:
    """Stop `km`'s kernel if it runs (an idle kernel holds hundreds of MB) and free its sockets."""
    if km.has_kernel:
        km.shutdown_kernel(now=True)


def execute(path: str | Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, float]:
    """The executed notebook (not written back) and its wall time in seconds."""
    from nbclient import NotebookClient

    sliced_polling()
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    km = kernel_manager()(kernel_name="python3")
    try:
        NotebookClient(nb, timeout=timeout, km=km,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:  # nbclient shuts down only the kernels it made itself
        shutdown(km)
    return nb, time.perf_counter() - start


def export_html(src: str | Path, dst: str | Path) -> list[Path]:
    """Each notebook of `src` (a notebook, or a folder of them) as `dst/NAME.html`, and
    `dst/index.html` listing them: the pages written, the index last.

    Built from the stored outputs only: a figure is its stored PNG (`lab.viz.static` stores one
    beside every plotly figure and widget), equations are typeset by the MathJax copied to
    `dst/mathjax/`, and no page requests anything from another host (no require.js, no widget
    manager: the notebook's saved widget state is left out).
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    src, dst = Path(src), Path(dst)
    paths = sorted(src.glob("*.ipynb")) if src.is_dir() else [src]
    if not paths or any(p.suffix != ".ipynb" or not p.is_file() for p in paths):
        raise FileNotFoundError(f"src={str(src)!r}: expected a notebook (.ipynb) or a folder "
                                "holding at least one")
    config = Config({"NbConvertBase": {"display_data_priority": EXPORT_PRIORITY},
                     "HTMLExporter": {"mathjax_url": MATHJAX_URL, "require_js_url": ""}})
    exporter = HTMLExporter(config=config, template_file="offline.html.j2",
                            extra_loaders=[DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})])
    dst.mkdir(parents=True, exist_ok=True)
    _copy_mathjax(dst / MATHJAX_DIR)
    pages = []
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata.pop("widgets", None)
        body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {
            "name": path.stem, "path": str(path.parent)}})
        pages.append(dst / f"{path.stem}.html")
        pages[-1].write_text(body, encoding="utf-8")
    links = "".join(f'<li><a href="{p.name}">{p.stem}</a></li>\n' for p in pages)
    index = dst / "index.html"
    index.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                     f"<title>Spike Lab notebooks</title></head>\n<body><h1>Spike Lab "
                     f"notebooks</h1>\n<ul>\n{links}</ul>\n</body></html>\n", encoding="utf-8")
    return [*pages, index]


def _copy_mathjax(target: Path) -> None:
    """MathJax 2.7's files (12 MB, from jupyter-server-mathjax), copied once."""
    try:
        import jupyter_server_mathjax
    except ImportError as error:
        raise ImportError("the offline export needs jupyter-server-mathjax (in "
                          "requirements.lock): run `make setup`") from error
    if not (target / "MathJax.js").is_file():
        source = Path(jupyter_server_mathjax.__file__).parent / "static"
        shutil.copytree(source, target, dirs_exist_ok=True)


def main(argv: Iterable[str] | None = None) -> int:
    """`python -m lab.notebooks export SRC DST`: the static HTML pages; exit 2 on bad usage."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or args[0] != "export":
        sys.stderr.write("usage: python -m lab.notebooks export SRC DST  (SRC: a notebook or "
                         "a folder of notebooks; DST: the folder for the HTML pages)\n")
        return 2
    try:
        pages = export_html(args[1], args[2])
    except (FileNotFoundError, ImportError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    sys.stdout.write("".join(f"{page}\n" for page in pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
