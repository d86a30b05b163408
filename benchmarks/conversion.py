"""Benchmark: conversion at depth — residual noise against QCFS(L) and QCFS(L = T), paired.

Every arm shares the data split, architecture (BatchNorm on, folded at conversion), epochs and
model seeds 0..N−1: QCFS at L = 4 and residual noise at L = 4 (σ fitted on the validation
images at T = L, the authors' setting) are each one network read at every T ≤ T_max; QCFS with
L = T is one network per T ∈ {1, 2, 4} (at T = L it is the QCFS(L) network). The configs are
`lab.sweep` specs; they run through the sweep engine (a Dask LocalCluster of --workers processes,
one torch thread each) into a results store — a temporary one, or --results FILE, where a
re-run resumes — or, with --quick, one after another in this process: on 2 shared cores the
cluster's start alone took 10–20 s of the minute (`--engine` picks either).

Reported per depth, on the test set, whatever the sign: accuracy and conversion loss (ANN −
SNN) at T = 1, 2, 4 with 95% intervals; the gap (SNN rate − ANN activation)/θ per layer; the
paired differences noise − QCFS(L) and noise − QCFS(L = T) over matched seeds. Nothing is
chosen on the test set; `noise_T_within1` is the median over seeds of the first T from which
the noise SNN stays within 1 point of its ANN on the *validation* images.

    python benchmarks/conversion.py           # MNIST-5k, MLP depths 2, 4, 8, 5 seeds, 15
                                              # epochs, sweep on 2 workers (11 min, load ≈ 5)
    python benchmarks/conversion.py --quick   # digits, MLP depth 4, 3 seeds, 10 epochs,
                                              # in this process (30 s)

The MLP is the default (`--arch cnn` runs the VGG-style CNN, far slower on CPU). Depth 2 is in
the full run to show how the gap grows with depth; the goal is checked at depth ≥ 4. A floor
to keep in mind: at T = 2 an L = 4 network's first layer (constant input, no residual error)
already has a gap std of ≈ 0.12 θ from quantization alone, so the ratio cannot fall far below
0.12 / (QCFS's deepest gap std).

RESULT (last line), at the deepest depth: gap_std_ratio_T2 is the last hidden layer's gap std
at T = 2, residual noise over QCFS (ratio of the means over seeds); noise_minus_qcfs_T2 and
noise_minus_qcfsLT_T1 are paired differences in points with their 95% intervals; ann_acc is
the residual-noise ANN's mean test accuracy.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time

import torch

from lab.conversion import comparison as cmp
from lab.core import config as cfg
from lab.core import stats
from lab.core.results import ResultsStore
from lab.sweep import connect, key, make, run

GOAL_GAP_RATIO_T2 = 0.75  # the deepest layer's gap std at T = 2, noise over QCFS, depth ≥ 4
ARMS = (cmp.QCFS, cmp.NOISE, cmp.QCFS_LT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits, depth 4, 3 seeds (< 1 min)")
    parser.add_argument("--dataset", default=None, help="default: mnist (digits with --quick)")
    parser.add_argument("--arch", default="mlp", choices=("mlp", "cnn"))
    parser.add_argument("--depths", default=None,
                        help="comma-separated; default 2,4,8 (4 with --quick)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 10 (quick) / 15")
    parser.add_argument("--seeds", type=int, default=None, help="default: 5 (3 with --quick)")
    parser.add_argument("--timesteps", type=int, default=None, help="T_max; default 16")
    parser.add_argument("--calibration-timesteps", type=int, default=0,
                        help="T at which σ is fitted on validation (default 0: T = L)")
    parser.add_argument("--engine", default=None, choices=("sweep", "process"),
                        help="sweep: Dask workers and a results store (default); process: "
                        "one after another in this process (default with --quick)")
    parser.add_argument("--workers", type=int, default=2, help="sweep workers")
    parser.add_argument("--threshold-balancing", action="store_true",
                        help="add threshold balancing, v[0] = 0 and θ/2 (two runs per seed)")
    parser.add_argument("--results", default=None, help="results store (default: temporary)")
    args = parser.parse_args()
    depths = tuple(int(d) for d in (args.depths or ("4" if args.quick else "2,4,8")).split(","))
    seeds = args.seeds or (3 if args.quick else 5)
    base = {"dataset": args.dataset or ("digits" if args.quick else "mnist"), "arch": args.arch,
            "epochs": args.epochs or (10 if args.quick else 15), "batch_norm": True,
            "timesteps": args.timesteps or 16, "device": "cpu",
            "calibration_timesteps": args.calibration_timesteps}
    print(f"# {base['dataset']}, {base['arch']} depths {depths}, BatchNorm, {base['epochs']} "
          f"epochs, L = 4, σ fitted at T = {args.calibration_timesteps or 'L'}, T_max = "
          f"{base['timesteps']}, seeds 0..{seeds - 1}, load {os.getloadavg()[0]:.1f} at the start")
    torch.set_num_threads(1)  # as on every sweep worker
    started = time.perf_counter()
    found = cmp.grids(base, depths, threshold_balancing=args.threshold_balancing)
    engine = args.engine or ("process" if args.quick else "sweep")
    runs = (_sweep([make(cmp.METHOD, grid, seeds) for grid in found], args.workers, args.results)
            if engine == "sweep" else cmp.run_here(found, seeds))
    print(f"# {len(runs)} runs ({engine}) in {time.perf_counter() - started:.0f} s")
    headline = {}
    for depth in depths:
        headline = report(runs, depth, args.threshold_balancing)
    print(f"RESULT conversion depth={depths[-1]} seeds={seeds} " + " ".join(
        f"{name}={value}" for name, value in headline.items()))


def _sweep(specs: list, workers: int, results: str | None) -> list:
    """Every config of `specs` through the sweep engine; the finished runs, read back."""
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultsStore(results or os.path.join(tmp, "conversion.sqlite"))
        with connect(workers=workers) as client:
            for spec in specs:
                outcome = run(spec, store, client, progress=False)
                if outcome.failed:
                    raise SystemExit(f"{len(outcome.failed)} runs failed: see {store.path}")
        wanted = {key(cfg.as_dict(c)) for spec in specs for c in spec.configs()}
        return [r for r in store.runs(cmp.METHOD, status="finished") if key(r.config) in wanted]


def report(runs: list, depth: int, threshold_balancing: bool) -> dict[str, str]:
    """Print the tables of one depth; return its RESULT fields."""
    arms = ARMS + (("TB v0=0", "TB v0=θ/2") if threshold_balancing else ())
    print(f"\n## depth {depth}: test accuracy (%) at T, mean [95% interval] over seeds")
    print(f"{'':>16} " + " ".join(f"{'T = ' + str(T):>20}" for T in cmp.COMPARED_TIMESTEPS)
          + f" {'its ANN':>20}")
    for name in arms:
        cells = [_interval(cmp.values(runs, depth, name, T)) for T in cmp.COMPARED_TIMESTEPS]
        ann = _interval(cmp.values(runs, depth, name, 1, "ann_accuracy"))
        if name == cmp.QCFS_LT:  # one ANN per T
            ann = "/".join(f"{_mean(cmp.values(runs, depth, name, T, 'ann_accuracy')):.2f}"
                           for T in cmp.COMPARED_TIMESTEPS)
        print(f"{name:>16} " + " ".join(f"{c:>20}" for c in cells) + f" {ann:>20}")
    loss = "conversion_loss_T{T}"
    print("conversion loss (ANN − SNN, points) at T = 1, 2, 4: " + "; ".join(
        f"{name} " + "/".join(f"{_mean(cmp.values(runs, depth, name, T, loss)):.2f}"
                              for T in cmp.COMPARED_TIMESTEPS) for name in arms))

    print("gap std per layer (units of θ, test images), mean over seeds:")
    for T in cmp.COMPARED_TIMESTEPS:
        for name in (cmp.QCFS, cmp.NOISE, cmp.QCFS_LT):
            layers = _per_layer(runs, depth, name, T, f"gap_std_per_layer_T{T}")
            means = _per_layer(runs, depth, name, T, f"gap_mean_per_layer_T{T}")
            print(f"  T = {T} {name:>15}: std {layers}  mean {means}")
    print(f"σ per layer (units of θ, last epoch): "
          f"{_per_layer(runs, depth, cmp.NOISE, 1, 'noise_std_per_layer')}")

    result = {}
    for other, tag in ((cmp.QCFS, "qcfs"), (cmp.QCFS_LT, "qcfsLT")):
        for T in cmp.COMPARED_TIMESTEPS:
            diff = cmp.paired(cmp.values(runs, depth, cmp.NOISE, T),
                              cmp.values(runs, depth, other, T))
            word = ("no measurable difference" if not diff.ci_low > 0 and not diff.ci_high < 0
                    else "noise higher" if diff.mean_diff > 0 else "noise lower")
            print(f"noise − {other} at T = {T}: {diff.mean_diff:+.2f} points, 95% interval "
                  f"[{diff.ci_low:+.2f}, {diff.ci_high:+.2f}], p = {diff.p_value:.2g}, "
                  f"n = {diff.n}: {word}")
            result[f"noise_minus_{tag}_T{T}"] = diff
    ratio = cmp.ratio_of_means(cmp.deepest_gap_std(runs, depth, cmp.NOISE, 2),
                               cmp.deepest_gap_std(runs, depth, cmp.QCFS, 2))
    within = [-1 if r.metrics.get("timesteps_within_1pt_of_ann") is None
              else r.metrics["timesteps_within_1pt_of_ann"]
              for r in cmp.by_seed(runs, depth, cmp.NOISE, 1).values()]
    status = "n/a   " if depth < 4 else "MET   " if ratio <= GOAL_GAP_RATIO_T2 else "MISSED"
    print(f"goal {status} deepest layer's gap std at T = 2, noise over QCFS ≤ "
          f"{GOAL_GAP_RATIO_T2} at depth ≥ 4: {ratio:.3f}")
    t2, lt1 = result["noise_minus_qcfs_T2"], result["noise_minus_qcfsLT_T1"]
    return {"gap_std_ratio_T2": f"{ratio:.3f}", "noise_minus_qcfs_T2": f"{t2.mean_diff:.2f}",
            "ci_low_T2": f"{t2.ci_low:.2f}", "ci_high_T2": f"{t2.ci_high:.2f}",
            "noise_minus_qcfsLT_T1": f"{lt1.mean_diff:.2f}",
            "ci_low_qcfsLT_T1": f"{lt1.ci_low:.2f}", "ci_high_qcfsLT_T1": f"{lt1.ci_high:.2f}",
            "ann_acc": f"{_mean(cmp.values(runs, depth, cmp.NOISE, 1, 'ann_accuracy')):.2f}",
            "noise_T_within1": str(statistics.median_high(within) if within else -1)}  # -1: never


def _interval(by_seed: dict[int, float]) -> str:
    if not by_seed:
        return "-"
    s = stats.summary(list(by_seed.values()))
    return f"{s.mean:.2f}" if s.n < 2 else f"{s.mean:.2f} [{s.ci_low:.1f}, {s.ci_high:.1f}]"


def _mean(by_seed: dict[int, float]) -> float:
    return statistics.fmean(by_seed.values()) if by_seed else math.nan


def _per_layer(runs: list, depth: int, name: str, timesteps: int, curve: str) -> str:
    """The mean over seeds of a per-layer curve (`cmp.per_layer`), as a short list."""
    found = cmp.per_layer(runs, depth, name, timesteps, curve)
    return "[" + ", ".join(f"{s.mean:.3f}" for s in found) + "]" if found else "-"

if __name__ == "__main__":
    main()
