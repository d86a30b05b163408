"""Benchmark: the residual-noise mechanism at depth, against QCFS(L) and QCFS(L = T), paired.

One *cell* is a setting of the architecture and of the method; in every cell residual noise and
QCFS share the data split, the architecture, the epochs and model seeds 0..N−1, and every
headline is the paired mean over those seeds (noise − QCFS) with its 95% interval
(`lab.core.stats`), reported whatever its sign. No value comes from one seed.

The base cell is the authors' method (`hzp2022/ANN2SNN_NQ`; the defaults of
`lab.conversion.Config`): MLP depth 4 (tapered 2w, w, w, w), BatchNorm on (folded at
conversion), L = 4, σ per layer the std of the gap measured on the converted SNN at T = L on the
validation images, refitted before every epoch — with one lab variant, λ starting at 2 (the
authors' 8 hardly moves under the lab's short Adam training; the last cell measures it). The
ablation cells change one thing each:

    σ at T = 2        σ fitted at the target T = 2 instead of T = L (noise arm only)
    BatchNorm off     no BatchNorm
    uniform width     hidden widths w, w, w, w instead of 2w, w, w, w
    depth 2 / 8       two or eight hidden layers
    λ0 = 8 (authors)  λ starting at the authors' 8

What the headlines measure (the gap is SNN rate − ANN activation, in units of θ, per layer, on
the test images; METHODS of `lab.conversion`):
- `floor_T2`: the first hidden layer's gap std at T = 2. It gets constant input, so it has no
  residual error: its gap is the quantization of an L = 4 network read at T = 2. No noise can
  lower it; the deepest layer's gap cannot fall below it either.
- `excess_T2`: the deepest layer's gap std minus the first layer's, per seed, at T = 2: the
  residual error (with what it inherits) above the quantization floor, printed beside it.
- `deep_gap_TL`: the deepest layer's gap std at T = L = 4, where the first layer's gap is 0
  (QCFS is exact at T = L for constant input): residual error alone.
- accuracy at T = 1, 2, 4 against QCFS(L) (one network read at every T, the paper's setting)
  and, in the base cell, against QCFS(L = T) (one network per latency; at T = 1 it converts
  exactly, at T = 4 it is QCFS(L)).

    python benchmarks/conversion.py           # MNIST-5k, 5 seeds, 15 epochs, 7 cells (≈ 10 min)
    python benchmarks/conversion.py --quick   # digits, 3 seeds, 6 epochs, 7 cells (< 1 min)

RESULT (last line): the base cell's headlines, `name=mean` with `name_ci=[low,high]`.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from lab.conversion import comparison as cmp
from lab.core import stats

LEVELS = 4  # L, the authors'
COMPARED = (1, 2, 4)  # T of the accuracy headlines


@dataclass(frozen=True)
class Cell:
    """One setting: `changes` to the base config; `noise_only` runs the noise arm alone (its
    QCFS is the base cell's: the change does not touch QCFS)."""

    name: str
    changes: dict = field(default_factory=dict)
    noise_only: bool = False


BASE = Cell("base (λ0 = 2)")
ABLATIONS = (
    Cell("σ fitted at T = 2", {"calibration_timesteps": 2}, noise_only=True),
    Cell("BatchNorm off", {"batch_norm": False}),
    Cell("uniform width w×4", {"width_profile": "uniform"}),
    Cell("depth 2", {"depth": 2}),
    Cell("depth 8", {"depth": 8}),
    Cell("λ0 = 8 (authors')", {"threshold_init": 8.0}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="digits, 3 seeds, 6 epochs, every cell (< 1 min on 2 cores)")
    parser.add_argument("--dataset", default=None, help="default: mnist (digits with --quick)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 6 quick / 15")
    parser.add_argument("--seeds", type=int, default=None, help="default: 3 quick / 5")
    parser.add_argument("--width", type=int, default=128, help="w of the MLP")
    parser.add_argument("--no-ablations", action="store_true", help="the base cell alone")
    args = parser.parse_args()
    seeds = args.seeds or (3 if args.quick else 5)
    if seeds < 2:
        raise SystemExit("--seeds must be ≥ 2: every headline is an interval over seeds")
    base = {"dataset": args.dataset or ("digits" if args.quick else "mnist"), "arch": "mlp",
            "epochs": args.epochs or (6 if args.quick else 15), "depth": 4, "width": args.width,
            "width_profile": "tapered", "batch_norm": True, "levels": LEVELS,
            "threshold_init": 2.0, "calibration_timesteps": 0, "timesteps": LEVELS,
            "device": "cpu"}
    cells = (BASE,) + (() if args.no_ablations else ABLATIONS)
    print(f"# {base['dataset']}, MLP w = {args.width}, {base['epochs']} epochs, L = {LEVELS}, "
          f"model seeds 0..{seeds - 1}, {len(cells) - 1} ablation cells"
          + (" (quick: digits, 3 seeds, 6 epochs; the full run: MNIST-5k, 5 seeds, 15 epochs)"
             if args.quick else "") + f"; load {os.getloadavg()[0]:.1f} at the start")
    torch.set_num_threads(1)
    started = time.perf_counter()
    runs = cmp.run_here(grids(base, cells), seeds)
    print(f"# {len(runs)} runs in {time.perf_counter() - started:.0f} s, in this process")
    headline = report_base(runs, base)
    print("\n## ablations: noise − QCFS(L) in each cell, paired over seeds, mean [95% interval]")
    print(f"{'cell':<24}{'floor T=2':>10}{'excess T=2':>24}{'deep gap T=L':>24}"
          + "".join(f"{'acc T=' + str(T):>24}" for T in COMPARED) + "  noise acc T=1/2/4")
    for cell in cells:
        report_cell(runs, base, cell)
    print(f"RESULT conversion dataset={base['dataset']} depth=4 seeds={seeds} "
          f"ablation_cells={len(cells) - 1} " + " ".join(
              f"{name}={value}" for name, value in headline.items()))


def grids(base: Mapping, cells: Sequence[Cell]) -> list[dict[str, tuple]]:
    """The sweep grids: each cell's arms, and QCFS(L = T) at T = 1, 2 for the base cell."""
    found = []
    for cell in cells:
        config = {name: (value,) for name, value in {**base, **cell.changes}.items()}
        config["variant"] = (cmp.NOISE,) if cell.noise_only else (cmp.QCFS, cmp.NOISE)
        found.append(config)
    per_latency = {name: (value,) for name, value in base.items()}
    per_latency.update(variant=(cmp.QCFS,), levels_equal_timesteps=(True,),
                       timesteps=tuple(T for T in COMPARED if T != LEVELS))
    found.append(per_latency)
    return found


def arm(runs: Sequence, base: Mapping, cell: Cell, variant: str) -> dict[int, object]:
    """seed → the run of `variant` in `cell` (QCFS of a noise-only cell: the base cell's)."""
    changes = {} if (cell.noise_only and variant == cmp.QCFS) else cell.changes
    wanted = {**base, **changes, "variant": variant}
    return {r.config["seed"]: r for r in runs
            if not r.config.get("levels_equal_timesteps")
            and all(r.config[k] == v for k, v in wanted.items())}


def per_latency(runs: Sequence, base: Mapping, T: int) -> dict[int, object]:
    """seed → QCFS(L = T) run read at T (at T = L: the base cell's QCFS(L) run)."""
    if T == LEVELS:
        return arm(runs, base, BASE, cmp.QCFS)
    return {r.config["seed"]: r for r in runs if r.config.get("levels_equal_timesteps")
            and r.config["timesteps"] == T and r.config["depth"] == base["depth"]}


def gap_std(by_seed: Mapping[int, object], T: int, layer: int) -> dict[int, float]:
    """seed → the gap std (θ) of hidden layer `layer` (0 first, −1 deepest) at T."""
    return {s: float(r.curves[f"gap_std_per_layer_T{T}"][layer]) for s, r in by_seed.items()}


def excess(by_seed: Mapping[int, object], T: int) -> dict[int, float]:
    """seed → deepest layer's gap std − first layer's, at T: the residual above the floor."""
    deep, first = gap_std(by_seed, T, -1), gap_std(by_seed, T, 0)
    return {s: deep[s] - first[s] for s in deep}


def metric(by_seed: Mapping[int, object], name: str) -> dict[int, float]:
    return {s: float(r.metrics[name]) for s, r in by_seed.items() if name in r.metrics}


def report_base(runs: Sequence, base: Mapping) -> dict[str, str]:
    """Print the base cell in full; return the RESULT fields."""
    noise, qcfs = arm(runs, base, BASE, cmp.NOISE), arm(runs, base, BASE, cmp.QCFS)
    print("\n## base: the authors' method (σ at T = L, BatchNorm, tapered, depth 4), λ0 = 2 "
          "(lab variant): test accuracy (%), mean [95% interval] over seeds")
    rows = {"QCFS(L = 4)": qcfs, "residual noise (L = 4)": noise}
    print(f"{'':<26}" + "".join(f"{'T = ' + str(T):>23}" for T in COMPARED) + f"{'ANN':>23}")
    for name, by_seed in rows.items():
        print(f"{name:<26}" + "".join(f"{_interval(metric(by_seed, f'accuracy_T{T}')):>23}"
                                      for T in COMPARED)
              + f"{_interval(metric(by_seed, 'ann_accuracy')):>23}")
    print(f"{'QCFS(L = T)':<26}" + "".join(
        f"{_interval(metric(per_latency(runs, base, T), f'accuracy_T{T}')):>23}"
        for T in COMPARED) + "   (one network per T)")
    on, off = metric(noise, "ann_accuracy_noise_on"), metric(noise, "ann_accuracy")
    print(f"residual-noise ANN: noise off {_interval(off)} (the network converted), noise on "
          f"{_interval(on)} (the authors' 'ANN' column); on − off {_diff(on, off)}")
    print("gap std per layer (θ, test images), mean over seeds:")
    for T in COMPARED:
        for name, by_seed in rows.items():
            layers = zip(*(r.curves[f"gap_std_per_layer_T{T}"] for r in by_seed.values()),
                         strict=True)
            print(f"  T = {T} {name:<24} [" + ", ".join(
                f"{statistics.fmean(v):.3f}" for v in layers) + "]")

    result: dict[str, str] = {}
    floor = gap_std(noise, 2, 0)
    result["floor_T2"] = f"{statistics.fmean(floor.values()):.3f}"
    print(f"\nfloor at T = 2 (first layer's gap std, quantization alone): noise "
          f"{_interval(floor, 3)}, QCFS {_interval(gap_std(qcfs, 2, 0), 3)}")
    for name, a, b, text in (
            ("excess_T2", excess(noise, 2), excess(qcfs, 2),
             "deepest − first layer's gap std at T = 2 (θ)"),
            ("deep_gap_TL", gap_std(noise, LEVELS, -1), gap_std(qcfs, LEVELS, -1),
             f"deepest layer's gap std at T = L = {LEVELS} (θ)")):
        d = cmp.paired(a, b)
        print(f"{text}: noise {_interval(a, 3)}, QCFS {_interval(b, 3)}; noise − QCFS "
              f"{_fmt(d, 3)}: {_word(d, 'noise')}")
        result.update(_fields(f"{name}_noise_minus_qcfs", d, 3))
    first_TL = gap_std(qcfs, LEVELS, 0)
    print(f"check: QCFS's first layer at T = L has gap std {_interval(first_TL, 4)} (exact: 0)")
    for T in COMPARED:
        for other, tag, label in ((qcfs, "qcfs", "QCFS(L)"),
                                  (per_latency(runs, base, T), "qcfsLT", "QCFS(L = T)")):
            if tag == "qcfsLT" and T == LEVELS:
                continue  # the same network as QCFS(L)
            d = cmp.paired(metric(noise, f"accuracy_T{T}"), metric(other, f"accuracy_T{T}"))
            print(f"accuracy noise − {label} at T = {T}: {_fmt(d, 2)} points: "
                  f"{_word(d, 'noise')}")
            result.update(_fields(f"acc_T{T}_noise_minus_{tag}", d, 2))
    result.update(_fields("ann_noise_on_minus_off", cmp.paired(on, off), 2))
    return result


def report_cell(runs: Sequence, base: Mapping, cell: Cell) -> None:
    """One row: the floor, and noise − QCFS of the excess, the gap at T = L and accuracy."""
    noise, qcfs = arm(runs, base, cell, cmp.NOISE), arm(runs, base, cell, cmp.QCFS)
    floor = statistics.fmean(gap_std(noise, 2, 0).values())
    cells = [cmp.paired(excess(noise, 2), excess(qcfs, 2)),
             cmp.paired(gap_std(noise, LEVELS, -1), gap_std(qcfs, LEVELS, -1))]
    cells += [cmp.paired(metric(noise, f"accuracy_T{T}"), metric(qcfs, f"accuracy_T{T}"))
              for T in COMPARED]
    levels = "/".join(f"{statistics.fmean(metric(noise, f'accuracy_T{T}').values()):.1f}"
                      for T in COMPARED)
    print(f"{cell.name:<24}{floor:>10.3f}" + "".join(
        f"{_fmt(d, 3 if i < 2 else 1):>24}" for i, d in enumerate(cells)) + f"  {levels}")


def _interval(by_seed: Mapping[int, float], digits: int = 2) -> str:
    if not by_seed:
        return "-"
    s = stats.summary(list(by_seed.values()))
    return f"{s.mean:.{digits}f} [{s.ci_low:.{digits}f}, {s.ci_high:.{digits}f}]"


def _diff(a: Mapping[int, float], b: Mapping[int, float]) -> str:
    return _fmt(cmp.paired(a, b), 2) if a and b else "-"


def _fmt(d: stats.Paired, digits: int) -> str:
    return f"{d.mean_diff:+.{digits}f} [{d.ci_low:+.{digits}f}, {d.ci_high:+.{digits}f}]"


def _word(d: stats.Paired, name: str) -> str:
    if not (d.ci_low > 0 or d.ci_high < 0) or math.isnan(d.ci_low):
        return f"no measurable difference (n = {d.n})"
    return f"{name} {'higher' if d.mean_diff > 0 else 'lower'} (n = {d.n}, p = {d.p_value:.2g})"


def _fields(name: str, d: stats.Paired, digits: int) -> dict[str, str]:
    return {name: f"{d.mean_diff:.{digits}f}",
            f"{name}_ci": f"[{d.ci_low:.{digits}f},{d.ci_high:.{digits}f}]"}


if __name__ == "__main__":
    main()
