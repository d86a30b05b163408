"""SIGTERM handled as Ctrl-C: what `timeout`, systemd, batch schedulers and `docker stop` send.

Python turns SIGINT (Ctrl-C) into KeyboardInterrupt in the main thread; every place that stores
a run or a sweep as `cancelled` already catches it. `sigterm_as_interrupt` makes SIGTERM raise
`Terminated`, a KeyboardInterrupt, at the same place, so a terminated run ends `cancelled` as an
interrupted one does; the process then exits with code 143 (128 + 15, what a shell reports for
SIGTERM) where Ctrl-C gives 130 (128 + 2), so a scheduler still tells the two apart.
`deferred` holds both signals while a row is being written, so a stop never leaves one half
written (it would read `interrupted` for ever).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread, as Ctrl-C raises KeyboardInterrupt."""


def exit_code(stop: BaseException) -> int:
    """143 for SIGTERM (`Terminated`), else 130 (Ctrl-C)."""
    return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED


def reason(stop: BaseException) -> str:
    """How a cancelled run's row says it was stopped."""
    return "cancelled by SIGTERM" if isinstance(stop, Terminated) else "cancelled by the user"


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` in the main thread (elsewhere: no change,
    Python lets only the main thread set handlers). A second SIGTERM is ignored, so it cannot
    cut short the cancelling the first one started; the previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated("terminated by SIGTERM")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM wait: the block runs to its end, then the first
    signal that arrived is delivered again to the handler it would have met (Ctrl-C raises
    KeyboardInterrupt there, SIGTERM `Terminated` inside `sigterm_as_interrupt`). For short
    writes that must not be cut in half; blocks nest. Main thread only (elsewhere: no change).

    >>> with deferred():
    ...     pass
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []

    def hold(signum: int, frame: object) -> None:
        arrived.append(signum)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if arrived:
            signal.raise_signal(arrived[0])  # its handler runs before this returns
