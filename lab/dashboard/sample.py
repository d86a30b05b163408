"""Synthetic runs: a store of hundreds of plausible results, to test and time the dashboard at
scale without training hundreds of networks. Nothing here is a measurement.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..core.metrics import timesteps_within
from ..core.results import ResultsStore
from ..version import __version__

METHODS = ("bptt", "conversion", "noise-single-step", "ttl-bptt", "streaming")
DATASETS = ("digits", "mnist")


def fill(store: ResultsStore, runs: int = 200, seed: int = 0, failed_every: int = 25) -> None:
    """Add `runs` synthetic runs to `store`: 5 methods × 2 datasets × 4 timesteps × seeds,
    each with the names its method stores (streaming: curves per frame step, `snn_ops`).

    Every `failed_every`-th run fails with an error message instead of finishing.
    """
    rng = np.random.default_rng(seed)
    grid = itertools.cycle(itertools.product(METHODS, DATASETS, (1, 2, 4, 8)))
    for i in range(runs):
        method, dataset, timesteps = next(grid)
        run_seed = i // 40
        steps = "n_time_bins" if method == "streaming" else "timesteps"
        config = {"dataset": dataset, steps: timesteps, "epochs": 3, "seed": run_seed,
                  "device": "auto"}
        run_id = store.start(method, dataset, run_seed, config, __version__)
        if failed_every and i % failed_every == failed_every - 1:
            store.fail(run_id, "RuntimeError: synthetic failure for the dashboard's tests")
            continue
        ann = 97.0 if dataset == "digits" else 95.0
        t = np.arange(1, timesteps * 4 + 1)
        curve = ann - 60.0 * np.exp(-t / (1.0 + timesteps)) + rng.normal(0, 0.5, len(t))
        saved = int(2**20 * timesteps * rng.uniform(0.9, 1.1))
        metrics = {"accuracy": float(curve[-1]), "timesteps": timesteps,
                   "saved_bytes": saved, "step_peak_bytes": saved + 3 * 2**18}
        curves = {"loss_per_epoch": [1.0, 0.6, 0.4]}
        if method == "streaming":  # what lab.streaming stores: curves per frame step, no per-T
            ann_macs = [2e4] * len(t)
            snn_ops = [float(6e3 * rng.uniform(0.8, 1.2)) for _ in t]
            metrics |= {"ann_accuracy": ann + float(rng.normal(0, 0.2)),
                        "ann_macs": sum(ann_macs), "snn_ops": sum(snn_ops),
                        "ops_ratio": sum(snn_ops) / sum(ann_macs)}
            curves |= {"accuracy_per_step_snn": curve.round(3).tolist(),
                       "accuracy_per_step_ann": (curve + 1.0).round(3).tolist(),
                       "ann_macs_per_step": ann_macs, "snn_ops_per_step": snn_ops}
        else:
            metrics |= {"macs": 1.3e5, "sops": float(6e4 * rng.uniform(0.8, 1.2)),
                        "spikes": 1e3, "energy_pj": float(6.6e5 * rng.uniform(0.9, 1.1))}
            curves["accuracy_per_timestep"] = curve.round(3).tolist()
        if method not in ("bptt", "streaming"):
            metrics["ann_accuracy"] = ann + float(rng.normal(0, 0.2))
        if method == "conversion":
            metrics["timesteps_within_1pt_of_ann"] = timesteps_within(curve,
                                                                      metrics["ann_accuracy"])
            grid_t = [T for T in (1, 2, 4, 8, 16, 32) if T <= len(t)]
            curves |= {"timesteps_grid": grid_t, "sops_per_sample": [6e3 * T for T in grid_t]}
        if method == "noise-single-step":
            metrics["timesteps_within_1pt_of_best"] = timesteps_within(curve, float(curve.max()))
        if method == "ttl-bptt":
            metrics["bptt_saved_bytes"] = saved * 3
        train_s = float(timesteps * rng.uniform(1.0, 1.3))
        store.finish(run_id, metrics, curves,
                     {"train_s": train_s, "train_cpu_s": 0.95 * train_s,
                      "test_s": 0.05, "test_cpu_s": 0.05})
