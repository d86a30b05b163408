"""Run the course's notebooks headless (tests, benchmarks, refreshing stored outputs).

`execute(path)` runs a notebook in a fresh kernel with nbclient, its own folder as working
directory. Measured here: under load, nbclient sometimes waits a whole cell timeout at a widget
cell although the kernel has already replied and gone idle (3 runs in 8 of notebook 02 took
`timeout` seconds longer, with the kernel idle throughout; then the reply is read and the run
goes on). jupyter_client's asyncio channel polls its socket once for the whole timeout, and a
wake-up missed on the socket's edge-triggered descriptor is only noticed when that poll times
out. `sliced_polling()` makes every wait poll in slices of `SLICE_S`, so a missed wake-up costs
at most a slice. nbval (`make test`) uses the blocking client, which did not stall here.
"""

from __future__ import annotations

import time
from pathlib import Path
from queue import Empty

import nbformat

SLICE_S = 0.5


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


def execute(path: str | Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, float]:
    """The executed notebook (not written back) and its wall time in seconds."""
    from nbclient import NotebookClient

    sliced_polling()
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, time.perf_counter() - start
