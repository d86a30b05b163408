"""A sweep's runs as they train: progress from the workers to the client, and a stop they obey.

A run given a `topic` reports `{"run": key, "fraction": f, "message": m}` as a Dask event on that
topic (`Worker.log_event`; the client listens with `Client.subscribe_topic`), at most every
`EVERY_S` seconds (and always the last, at fraction 1), and at each report reads the Dask
`Event` of the same name: once the client sets it (`stop`), the run raises `RunCancelled` at
its next report. The scheduler relays both, so a worker needs no address of the client and the
client no file of the worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from distributed import Client, Event, get_worker

from ..core.training import Progress, RunCancelled

EVERY_S = 0.25  # a run reports once per batch; the page redraws twice a second


def reporter(topic: str, run: str) -> Progress:
    """The progress callback of run `run` on this worker: throttled events, and the stop."""
    worker, stop, last = get_worker(), Event(topic), [-EVERY_S]

    def report(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] < EVERY_S and fraction < 1:
            return
        last[0] = now
        if stop.is_set():
            raise RunCancelled("cancelled by the user")
        worker.log_event(topic, {"run": run, "fraction": float(fraction), "message": message})

    return report


def listen(client: Client, topic: str, handler: Callable[[dict[str, Any]], None]) -> None:
    """Call `handler(report)` for each report on `topic` (in the client's event-loop thread)."""
    client.subscribe_topic(topic, lambda event: handler(event[1]))


def stop(client: Client, topic: str) -> None:
    """Make every run reporting on `topic` stop at its next report."""
    Event(topic, client=client).set()


def close(client: Client, topic: str) -> None:
    """Stop listening on `topic` and drop its stop flag at the scheduler."""
    client.unsubscribe_topic(topic)
    Event(topic, client=client).clear()
