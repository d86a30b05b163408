"""The headless notebook runner polls in slices, so a missed wake-up costs at most a slice."""

import asyncio
from queue import Empty

from jupyter_client.channels import AsyncZMQSocketChannel

from lab import notebooks


def test_get_msg_polls_in_slices_and_still_honours_the_timeout(monkeypatch):
    calls = []

    async def whole(self, timeout=None):
        calls.append(timeout)
        await asyncio.sleep(timeout)
        if len(calls) == 3:  # the message is noticed on the third poll
            return {"msg": "reply"}
        raise Empty

    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", whole)
    notebooks.sliced_polling()
    channel = object.__new__(AsyncZMQSocketChannel)
    assert asyncio.run(AsyncZMQSocketChannel.get_msg(channel, timeout=30)) == {"msg": "reply"}
    assert calls == [notebooks.SLICE_S] * 3  # three slices, never one wait of 30 s
    calls.clear()
    try:
        asyncio.run(AsyncZMQSocketChannel.get_msg(channel, timeout=0.2))
        raise AssertionError("no Empty after the timeout")
    except Empty:
        pass
    assert sum(calls) <= 0.2 + 1e-9


def test_execute_runs_on_private_sockets_and_leaves_no_kernel_behind(tmp_path, monkeypatch):
    """nbclient stops only the kernels it starts itself; `execute` starts its own manager's
    (private Unix sockets) and must stop it, or every run leaves an idle kernel of ~600 MB."""
    import os

    import nbformat

    made = []
    base = notebooks.kernel_manager()

    class Recording(base):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(notebooks, "kernel_manager", lambda: Recording)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    nbformat.write(nb, tmp_path / "a.ipynb")
    done, _ = notebooks.execute(tmp_path / "a.ipynb", timeout=120)
    assert done.cells[0].outputs[0].text == "42\n"
    (km,) = made
    assert not km.has_kernel and not km.is_alive()
    if os.name == "posix":
        assert km.transport == "ipc" and not os.path.exists(os.path.dirname(km.ip))
