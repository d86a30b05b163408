"""Where a sweep's runs execute: Dask workers, and the task each of them runs.

By default a `LocalCluster` started in this process: one worker process per core, one thread
each, and torch on one thread in each — N small runs side by side on N cores finish sooner than
one after another on N threads. `address` (or `$LAB_SCHEDULER`) joins an existing cluster
instead: `dask scheduler` on one machine, `dask worker tcp://HOST:8786` on the others, each with
the same lab installed. Workers only compute and send results back; they never open the store.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dask
import torch
from distributed import Client, LocalCluster, WorkerPlugin, get_worker

from .. import registry
from ..core import config as cfg
from ..core import measure
from ..core.config import ConfigError
from ..version import __version__
from . import live
from .spec import key

CONNECT_TIMEOUT_S = 5  # a reachable scheduler answers in well under a second


class LeaveSignalsToTheClient(WorkerPlugin):
    """A local worker ignores SIGINT and SIGTERM: Ctrl-C in a terminal reaches the whole process
    group, as systemd's or a scheduler's SIGTERM reaches the whole control group, and the
    client, not each worker, cancels what is pending and stores it (`lab.core.signals`). The
    cluster still stops its workers when it closes: the nanny asks them to, then kills them."""

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)


class VersionMismatch(RuntimeError):
    """A worker runs another version of the lab than the client that sent it the task."""


def cores() -> int:
    """The CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@contextmanager
def connect(address: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client of the scheduler at `address` (default `$LAB_SCHEDULER`), or of a new local
    cluster of `workers` processes (default: one per core); closed on exit."""
    address = address or os.environ.get("LAB_SCHEDULER") or None
    if address is None:
        # Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its workers against fragmentation; glibc
        # then hands freed memory back at once and torch faults it in again: bptt runs measured
        # 1.45× slower with it. None leaves glibc's default.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            local = LocalCluster(n_workers=workers or cores(), threads_per_worker=1,
                                 processes=True, host="127.0.0.1", dashboard_address=":0",
                                 silence_logs=logging.CRITICAL)
        with local, Client(local) as client:
            client.register_plugin(LeaveSignalsToTheClient())
            yield client
        return
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as err:
        raise ConfigError(
            f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT_S} s: start one "
            "there (`dask scheduler`), or run on this machine by leaving out --scheduler "
            "and unsetting LAB_SCHEDULER") from err
    with client:
        yield client


def compute(method: str, fields: dict[str, Any], version: str, topic: str | None = None,
            keep_models: bool = False) -> dict[str, Any]:
    """Run `method` with config `fields` here (on a worker); return its metrics, curves and
    timings, the machine and the start and end times, and with `keep_models` its trained models
    (else they stay behind). With a `topic` it reports its progress and obeys a stop (`live`)."""
    here = _where()
    if version != __version__:
        raise VersionMismatch(f"worker {here} runs lab {__version__} but this client runs lab "
                              f"{version}: install the same lab version on every worker")
    torch.set_num_threads(1)
    module = registry.method(method)
    config = module.Config(**fields)
    device = str(cfg.resolve_device(getattr(config, "device", "cpu")))
    machine = {**measure.machine(device), "worker": here}
    progress = live.reporter(topic, key(fields)) if topic else None
    if progress:
        progress(0.0, f"started on {here}")
    started = time.time()
    result = module.run(config, progress)  # seeds torch itself from config.seed
    kept = {k: result[k] for k in ("models", "architecture") if keep_models and k in result}
    return {"metrics": result["metrics"], "curves": result["curves"],
            "timings": result["timings"], "machine": machine, "started_at": started,
            "finished_at": time.time(), **kept}


def _where() -> str:
    try:
        return get_worker().address
    except ValueError:  # called outside a worker (a test, a debugger)
        return socket.gethostname()
