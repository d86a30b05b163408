"""Benchmark: temporally-truncated local BPTT against full BPTT — memory, MACs, accuracy.

A grid of truncation lengths K ∈ {1, 2, 4, …, T} and block sizes 1..depth, on a frame set
(rate-coded images) and two emulated event sets (N-MNIST-like; MovingDigits, whose class is the
temporal order of two crossings), same seeds and epochs everywhere. K = T with one block is
full BPTT, the reference. Measured for one training step on one batch (the first), on the CPU:
peak bytes held by autograd (max over the (segment, block) units, `lab.core.measure`), and
MACs by part — the network's forward, its backward, the local classifiers — as PyTorch
dispatches them. Accuracy: test set, mean over seeds; train time as a ratio to BPTT's.

Chosen configuration (for the headline): among those whose frame saved_bytes_ratio meets the
memory goal (≤ 0.15), the one with the best mean accuracy delta over the three sets (a choice
made on the test sets: read it as the best case of the grid, the whole grid is printed).
Goals (the paper's direction): saved_bytes_ratio ≤ 0.15 with frame accuracy within 2 points of
BPTT, and event accuracy no worse than BPTT's.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import torch

from lab import ttl_bptt as ttl

MEMORY_GOAL = 0.15
FRAME_POINTS = 2.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="digits + 200 MovingDigits, T=4, 2 epochs, 1 seed (< 1 min)")
    parser.add_argument("--arch", default="mlp", choices=("mlp", "cnn"))
    parser.add_argument("--timesteps", type=int, default=None, help="default 8, --quick 4")
    parser.add_argument("--epochs", type=int, default=None, help="default 3, --quick 2")
    parser.add_argument("--seeds", type=int, default=None, help="default 2, --quick 1")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (tiny networks: 1 is fastest)")
    return parser.parse_args()


def datasets(quick: bool) -> dict[str, dict]:
    """Name → extra Config fields: frames first, then the event sets."""
    if quick:
        return {"digits": {}, "moving_digits": {"event_samples": 200}}
    return {"mnist": {}, "nmnist_like": {}, "moving_digits": {}}


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    timesteps = args.timesteps or (4 if args.quick else 8)
    epochs = args.epochs or (2 if args.quick else 3)
    seeds = range(args.seeds or (1 if args.quick else 2))
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64) if k < timesteps] + [timesteps]
    blocks = list(range(1, ttl.depth(args.arch) + 1))
    full = (timesteps, blocks[-1])
    rows: dict[str, dict[tuple[int, int], dict]] = {}
    for name, extra in datasets(args.quick).items():
        base = ttl.Config(dataset=name, arch=args.arch, timesteps=timesteps, epochs=epochs,
                          device="cpu", **extra)
        split, shape = ttl.load(base)
        fits = [ttl.grid(dataclasses.replace(base, seed=s), split, shape, ks, blocks)
                for s in seeds]
        rows[name] = {}
        for k, b in fits[0]:
            config = dataclasses.replace(base, truncation_length=k, block_size=b)
            cost, _ = ttl.step_costs(config, split, shape)
            rows[name][k, b] = {"acc": statistics.mean(f[k, b].accuracy for f in fits),
                                "train_s": sum(f[k, b].timings["train_s"] for f in fits),
                                "cost": cost}
        print(f"\n{name}: {len(split.y_train)} train / {len(split.y_test)} test, "
              f"{args.arch}, T={timesteps}, {epochs} epochs, seeds {list(seeds)}")
        print_table(rows[name], full)
    frames, *events = rows
    chosen = choose(rows, frames, full)
    report(rows, frames, events, chosen, full)


def ratios(row: dict, ref: dict) -> tuple[float, float, float]:
    cost, ref_cost = row["cost"], ref["cost"]
    return (cost.saved_bytes / ref_cost.saved_bytes,
            cost.macs_total / ref_cost.macs_total, row["train_s"] / ref["train_s"])


def print_table(table: dict[tuple[int, int], dict], full: tuple[int, int]) -> None:
    ref = table[full]
    print(f"{'K':>3} {'block':>5} {'acc %':>6} {'Δ pts':>6} {'saved kB':>8} {'mem×':>6} "
          f"{'fwd MMAC':>8} {'bwd MMAC':>8} {'local MMAC':>10} {'MAC×':>6} {'time×':>6}")
    for (k, b), row in table.items():
        mem, macs, time = ratios(row, ref)
        cost = row["cost"]
        print(f"{k:>3} {b:>5} {row['acc']:>6.1f} {row['acc'] - ref['acc']:>+6.1f} "
              f"{cost.saved_bytes / 1024:>8.1f} {mem:>6.3f} "
              f"{cost.macs_forward / 1e6:>8.3f} "
              f"{cost.macs_backward / 1e6:>8.3f} {cost.macs_local / 1e6:>10.3f} {macs:>6.3f} "
              f"{time:>6.2f}" + ("  ← full BPTT" if (k, b) == full else ""))


def choose(rows: dict, frames: str, full: tuple[int, int]) -> tuple[int, int]:
    """Best mean accuracy delta among configurations meeting the memory goal on frames."""
    table = rows[frames]
    mem = {kb: ratios(row, table[full])[0] for kb, row in table.items()}
    delta = {kb: statistics.mean(rows[n][kb]["acc"] - rows[n][full]["acc"] for n in rows)
             for kb in table}
    meeting = [kb for kb in table if mem[kb] <= MEMORY_GOAL]
    if not meeting:
        return min(table, key=lambda kb: mem[kb])
    return max(meeting, key=lambda kb: (delta[kb], -mem[kb]))


def report(rows: dict, frames: str, events: list[str], chosen: tuple[int, int],
           full: tuple[int, int]) -> None:
    mem, macs, time = ratios(rows[frames][chosen], rows[frames][full])
    delta = {n: rows[n][chosen]["acc"] - rows[n][full]["acc"] for n in rows}
    cost, ref = rows[frames][chosen]["cost"], rows[frames][full]["cost"]
    print(f"\nchosen: K={chosen[0]}, block size {chosen[1]} (vs full BPTT K={full[0]}, "
          f"one block of {full[1]})")
    print(f"MACs on {frames}, TTL / BPTT by part: forward "
          f"{cost.macs_forward / ref.macs_forward:.3f}, backward "
          f"{cost.macs_backward / ref.macs_backward:.3f}, local classifiers "
          f"+{cost.macs_local / ref.macs_total:.3f} of BPTT's total")
    goals = [(f"saved_bytes_ratio {mem:.3f} ≤ {MEMORY_GOAL}", mem <= MEMORY_GOAL),
             (f"frames ({frames}) Δacc {delta[frames]:+.1f} ≥ −{FRAME_POINTS}",
              delta[frames] >= -FRAME_POINTS)]
    goals += [(f"events ({n}) Δacc {delta[n]:+.1f} ≥ 0", delta[n] >= 0) for n in events]
    for text, met in goals:
        print(f"goal {'MET   ' if met else 'MISSED'} {text}")
    per_event = " ".join(f"acc_delta_{n}={delta[n]:.2f}" for n in events)
    step_peak = (rows[frames][chosen]["cost"].step_peak_bytes
                 / rows[frames][full]["cost"].step_peak_bytes)
    print(f"RESULT ttl_bptt saved_bytes_ratio={mem:.4f} step_peak_ratio={step_peak:.4f} "
          f"train_macs_ratio={macs:.4f} "
          f"acc_delta_frames={delta[frames]:.2f} "
          f"acc_delta_events={statistics.mean(delta[n] for n in events):.2f} {per_event} "
          f"truncation_length={chosen[0]} block_size={chosen[1]} train_s_ratio={time:.3f}")


if __name__ == "__main__":
    main()
