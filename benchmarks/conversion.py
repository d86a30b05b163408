"""Benchmark: ANN-to-SNN conversion at ultra-low latency (threshold balancing, QCFS, noise).

Same data split, seed, architecture and epochs for every ANN; each converts to plain IF
neurons and runs once to T_max, which gives the accuracy at every T ≤ T_max. Threshold
balancing converts one ReLU ANN twice: classic (v[0] = 0) and with v[0] = θ/2.

    python benchmarks/conversion.py            # MNIST-5k, CNN, 8 epochs (minutes on 2 cores)
    python benchmarks/conversion.py --quick    # digits, MLP, 10 epochs (< 1 min)
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from lab import conversion
from lab.core import data, encoding, operations

GOAL_T1_MARGIN, GOAL_T2_MARGIN, GOAL_NOISE_T, GOAL_TB_T = 5.0, 5.0, 8, 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits + MLP, < 1 min")
    parser.add_argument("--dataset", default=None, help="default: mnist (digits with --quick)")
    parser.add_argument("--arch", default=None, help="default: cnn (mlp with --quick)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 8 (10 with --quick)")
    parser.add_argument("--timesteps", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:  # tiny MLP: one thread is as fast, and gives notebook 02's numbers
        torch.set_num_threads(1)
    base = conversion.Config(
        dataset=args.dataset or ("digits" if args.quick else "mnist"),
        arch=args.arch or ("mlp" if args.quick else "cnn"),
        epochs=args.epochs or (10 if args.quick else 8),
        timesteps=args.timesteps, seed=args.seed, device="cpu")
    split = data.load(base.dataset, seed=base.seed)
    print(f"# {base.dataset} ({len(split.y_train)} train / {len(split.y_test)} test), "
          f"{base.arch}, {base.epochs} epochs, seed {base.seed}, L = {base.levels}, "
          f"σ fitted at T = {base.calibration_timesteps}")

    def variant(name: str, **changes) -> conversion.Outcome:
        return conversion.experiment(dataclasses.replace(base, variant=name, **changes),
                                     split=split)

    tb_classic = variant("threshold-balancing", v_init=0.0)
    outcomes = {
        "TB v0=0": tb_classic,
        "TB v0=θ/2": conversion.experiment(
            dataclasses.replace(base, variant="threshold-balancing", v_init=0.5), split=split,
            ann=tb_classic.ann),
        "QCFS": variant("qcfs"),
        "noise": variant("residual-noise"),
    }
    report(outcomes, split, base.timesteps)


def report(outcomes: dict[str, conversion.Outcome], split: data.Split, t_max: int) -> None:
    grid = [T for T in conversion.TIMESTEPS if T < t_max] + [t_max]
    names = list(outcomes)
    print("\naccuracy (%) of each SNN at T; the ANN each was converted from in the first row")
    print(f"{'T':>6} " + " ".join(f"{n:>10}" for n in names))
    print(f"{'ANN':>6} " + " ".join(f"{o.ann_accuracy:>10.2f}" for o in outcomes.values()))
    for T in grid:
        print(f"{T:>6} " + " ".join(f"{o.simulation.accuracy_at(T):>10.2f}"
                                    for o in outcomes.values()))
    within = {n: o.simulation.timesteps_within(o.ann_accuracy) for n, o in outcomes.items()}
    print(f"{'≤1pt':>6} " + " ".join(f"{_t(within[n]):>10}" for n in names))
    print("(≤1pt: smallest T from which the SNN stays within 1 point of its ANN; - = never)")

    sample = split.x_test[:256]
    macs = operations.count_operations(outcomes["QCFS"].ann, sample).per_sample()["macs"]
    print(f"\noperations per image (ANN: {macs / 1e6:.2f} M MACs); SNN: M synaptic ops "
          "(+ first-layer MACs × T)")
    print(f"{'T':>6} " + " ".join(f"{n:>10}" for n in names))
    for T in [T for T in grid if T in (1, 2, 4, 8, t_max)]:
        ops = [operations.count_operations(o.snn, encoding.direct(sample, T)).per_sample()["sops"]
               for o in outcomes.values()]
        print(f"{T:>6} " + " ".join(f"{s / 1e6:>10.2f}" for s in ops))
    noise, qcfs = outcomes["noise"], outcomes["QCFS"]
    print(f"\nσ per layer (units of θ) in the last noise epoch: "
          f"{[round(s, 3) for s in noise.noise_std]}")
    print("fraction misrepresented per layer at T = 1, 4, 16 (QCFS | noise): " + "; ".join(
        f"L{i + 1} " + "/".join(f"{100 * float(a.misrepresented[T - 1]):.1f}" for T in (1, 4, 16)
                                if T <= t_max)
        + " | " + "/".join(f"{100 * float(b.misrepresented[T - 1]):.1f}" for T in (1, 4, 16)
                           if T <= t_max) + " %"
        for i, (a, b) in enumerate(zip(qcfs.simulation.layers, noise.simulation.layers,
                                       strict=True))))

    acc = {n: {T: o.simulation.accuracy_at(T) for T in grid} for n, o in outcomes.items()}
    tb_within = within["TB v0=0"]
    goals = [
        (f"noise beats QCFS at T=1 by ≥ {GOAL_T1_MARGIN:g} points",
         acc["noise"][1] - acc["QCFS"][1] >= GOAL_T1_MARGIN,
         f"{acc['noise'][1]:.2f} vs {acc['QCFS'][1]:.2f}"),
        (f"noise beats QCFS at T=2 by ≥ {GOAL_T2_MARGIN:g} points",
         2 in acc["noise"] and acc["noise"][2] - acc["QCFS"][2] >= GOAL_T2_MARGIN,
         f"{acc['noise'].get(2, float('nan')):.2f} vs {acc['QCFS'].get(2, float('nan')):.2f}"),
        (f"noise within 1 point of its ANN by T ≤ {GOAL_NOISE_T}",
         within["noise"] is not None and within["noise"] <= GOAL_NOISE_T,
         f"T = {_t(within['noise'])}"),
        (f"threshold balancing (v0=0) needs T ≥ {GOAL_TB_T}",
         tb_within is None or tb_within >= GOAL_TB_T, f"T = {_t(tb_within)}"),
    ]
    print()
    for text, met, measured in goals:
        print(f"goal {'MET   ' if met else 'MISSED'} {text}: {measured}")
    print(f"RESULT conversion ann_acc={outcomes['TB v0=0'].ann_accuracy:.2f} "
          f"tb_T_within1={_n(tb_within)} qcfs_acc_T1={acc['QCFS'][1]:.2f} "
          f"qcfs_acc_T2={acc['QCFS'].get(2, float('nan')):.2f} "
          f"noise_acc_T1={acc['noise'][1]:.2f} "
          f"noise_acc_T2={acc['noise'].get(2, float('nan')):.2f} "
          f"noise_acc_T4={acc['noise'].get(4, float('nan')):.2f} "
          f"noise_T_within1={_n(within['noise'])} tb_half_T_within1={_n(within['TB v0=θ/2'])} "
          f"qcfs_T_within1={_n(within['QCFS'])} qcfs_ann_acc={qcfs.ann_accuracy:.2f} "
          f"noise_ann_acc={noise.ann_accuracy:.2f}")


def _t(value: int | None) -> str:
    return "-" if value is None else str(value)


def _n(value: int | None) -> int:
    """-1 where the SNN never comes within 1 point up to T_max (RESULT values are numbers)."""
    return -1 if value is None else value


if __name__ == "__main__":
    main()
