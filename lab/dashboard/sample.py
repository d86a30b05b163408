"""Synthetic runs: a store of hundreds of plausible results, to test and time the dashboard at
scale without training hundreds of networks. Nothing here is a measurement.
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import __version__
from ..core.results import ResultsStore

METHODS = ("bptt", "conversion", "noise-single-step", "ttl-bptt", "streaming")
DATASETS = ("digits", "mnist")


def fill(store: ResultsStore, runs: int = 200, seed: int = 0, failed_every: int = 25) -> None:
    """Add `runs` synthetic runs to `store`: 5 methods × 2 datasets × 4 timesteps × seeds.

    Every `failed_every`-th run fails with an error message instead of finishing.
    """
    rng = np.random.default_rng(seed)
    grid = itertools.cycle(itertools.product(METHODS, DATASETS, (1, 2, 4, 8)))
    for i in range(runs):
        method, dataset, timesteps = next(grid)
        run_seed = i // 40
        config = {"dataset": dataset, "timesteps": timesteps, "epochs": 3, "seed": run_seed,
                  "device": "auto"}
        run_id = store.start(method, dataset, run_seed, config, __version__)
        if failed_every and i % failed_every == failed_every - 1:
            store.fail(run_id, "RuntimeError: synthetic failure for the dashboard's tests")
            continue
        ann = 97.0 if dataset == "digits" else 95.0
        t = np.arange(1, timesteps * 4 + 1)
        curve = ann - 60.0 * np.exp(-t / (1.0 + timesteps)) + rng.normal(0, 0.5, len(t))
        metrics = {"accuracy": float(curve[-1]), "timesteps": timesteps,
                   "peak_autograd_bytes": int(2**20 * timesteps * rng.uniform(0.9, 1.1)),
                   "macs": 1.3e5, "sops": float(6e4 * rng.uniform(0.8, 1.2)),
                   "spikes": 1e3, "energy_pj": float(6.6e5 * rng.uniform(0.9, 1.1))}
        if method != "bptt":
            metrics["ann_accuracy"] = ann + float(rng.normal(0, 0.2))
        store.finish(run_id, metrics,
                     {"accuracy_per_timestep": curve.round(3).tolist(),
                      "loss_per_epoch": [1.0, 0.6, 0.4]},
                     {"train_s": float(timesteps * rng.uniform(1.0, 1.3)), "test_s": 0.05})
