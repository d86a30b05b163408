"""Benchmark: sweeps on Dask — short bptt runs on a 2-worker LocalCluster against the same runs
one after another in one process, a sweep with a worker killed mid-way, and the wall time of a
5-seed comparison of the three conversion variants through the command line.

Both sides run torch on one thread and are warmed by one untimed run, so the comparison is of
scheduling, not of imports; the cluster's start is timed apart. On a shared machine other
processes take cores at random: the two sides alternate three times and each keeps its best
time (one round with --quick). overhead_per_run_s is the worker time a run costs beyond a
perfect split of the one-process time: (workers · sweep_s − one_process_s) / runs. Model seeds
are 0..N−1.

    python benchmarks/sweep.py            # 12 bptt runs (T = 8, 3 epochs); the comparison
    python benchmarks/sweep.py --quick    # 6 bptt runs (2 epochs); the comparison at 1 epoch,
                                          # T_max = 8
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from distributed import Client

from lab import registry
from lab.core import config as cfg
from lab.core.results import ResultsStore
from lab.sweep import Spec, connect, key, make, run

WORKERS = 2
VARIANTS = "threshold-balancing,qcfs,residual-noise"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller runs (< 1 min)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as on every worker
    runs, epochs = (6, 2) if args.quick else (12, 3)
    spec = make("bptt", {"timesteps": [8], "epochs": [epochs], "device": ["cpu"]}, seeds=runs)
    print(f"# {runs} bptt runs (digits, MLP, T = 8, {epochs} epochs, seeds 0..{runs - 1}), "
          f"{WORKERS} workers of 1 torch thread, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f} at the start (another busy process slows both sides)")

    rounds = 1 if args.quick else 3
    _warm()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with connect(workers=WORKERS) as client:
            start_s = time.perf_counter() - started
            client.run(_warm)
            one_process, sweep, share = [], [], 0.0
            for i in range(rounds):  # interleaved, so both sides meet the same load
                one_process.append(_one_process(spec))
                store = ResultsStore(Path(tmp) / f"sweep{i}.sqlite")
                started = time.perf_counter()
                run(spec, store, client, progress=False)
                sweep.append(time.perf_counter() - started)
                share = max(share, sum(r.timings["train_cpu_s"] / r.timings["train_s"]
                                       for r in store.runs()) / runs)
            lost, duplicates, killed_s = _killed_sweep(spec, client, Path(tmp) / "killed.sqlite")
        compare_s, compare_out = _compare(Path(tmp) / "compare.sqlite", args.quick)

    one_process_s, sweep_s = min(one_process), min(sweep)  # the least disturbed of each
    speedup = one_process_s / sweep_s
    overhead = (WORKERS * sweep_s - one_process_s) / runs
    print(f"\n{'':<32} {'seconds':>8}")
    print(f"{'cluster start (2 workers)':<32} {start_s:>8.2f}")
    print(f"{'one process, one after another':<32} {one_process_s:>8.2f}   (best of "
          f"{', '.join(f'{t:.2f}' for t in one_process)})")
    print(f"{'sweep on 2 workers':<32} {sweep_s:>8.2f}   (best of "
          f"{', '.join(f'{t:.2f}' for t in sweep)}) speedup {speedup:.2f}×, overhead "
          f"{overhead:.3f} s a run; a worker training had up to {100 * share:.0f}% of a core")
    print(f"{'sweep, a worker killed mid-way':<32} {killed_s:>8.2f}   {lost} rows lost, "
          f"{duplicates} duplicated")
    print(f"{'compare 3 conversion variants':<32} {compare_s:>8.2f}   (5 seeds, the CLI: its "
          "start and the cluster's included)")
    print(f"# load {os.getloadavg()[0]:.2f} at the end\n")
    print(compare_out.strip())
    print(f"RESULT sweep speedup={speedup:.2f} overhead_per_run_s={overhead:.3f} "
          f"rows_lost={lost} duplicate_rows={duplicates} compare_s={compare_s:.1f}")


def _one_process(spec: Spec) -> float:
    """Seconds for the spec's runs one after another in this process."""
    started = time.perf_counter()
    for config in spec.configs():
        registry.method("bptt").run(config)
    return time.perf_counter() - started


def _warm() -> None:
    """Imports, data and first-call costs, paid once before timing (here and on each worker)."""
    torch.set_num_threads(1)
    bptt = registry.method("bptt")
    bptt.run(bptt.Config(timesteps=2, epochs=1, device="cpu", seed=99))


def _killed_sweep(spec: Spec, client: Client, path: Path) -> tuple[int, int, float]:
    """Kill the worker running a task once the first row is in; count lost and extra rows."""
    store = ResultsStore(path)
    pids = client.run(os.getpid)
    started = time.perf_counter()
    sweep = threading.Thread(target=run, args=(spec, store, client, False))
    sweep.start()
    while sweep.is_alive() and not (store.runs() and any(client.processing().values())):
        time.sleep(0.02)
    busy = [worker for worker, tasks in client.processing().items() if tasks]
    if busy:
        os.kill(pids[busy[0]], signal.SIGKILL)
    sweep.join()
    killed_s = time.perf_counter() - started
    rows = [key(r.config) for r in store.runs() if r.status == "finished"]
    expected = {key(cfg.as_dict(c)) for c in spec.configs()}
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return len(expected - set(rows)), len(store.runs()) - len(set(rows)), killed_s


def _compare(path: Path, quick: bool) -> tuple[float, str]:
    """Wall time of the three conversion variants × 5 seeds through `python -m lab sweep`."""
    command = [sys.executable, "-m", "lab", "sweep", "conversion", "--grid", f"variant={VARIANTS}",
               "--seeds", "5", "--quiet", "--results", str(path)]
    if quick:
        command += ["--grid", "epochs=1", "--grid", "timesteps=8"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


if __name__ == "__main__":
    main()
