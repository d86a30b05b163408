"""The headless notebook runner polls in slices, so a missed wake-up costs at most a slice."""

import asyncio
import time
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
    start = time.monotonic()
    assert asyncio.run(AsyncZMQSocketChannel.get_msg(channel, timeout=30)) == {"msg": "reply"}
    assert calls == [notebooks.SLICE_S] * 3 and time.monotonic() - start < 5
    calls.clear()
    try:
        asyncio.run(AsyncZMQSocketChannel.get_msg(channel, timeout=0.2))
        raise AssertionError("no Empty after the timeout")
    except Empty:
        pass
    assert sum(calls) <= 0.2 + 1e-9
