"""Benchmark: streaming rollouts — anytime answers with and without skips, ANN vs converted SNN.

On the emulated N-MNIST-like set (34×34 summed to 17×17, 8 frames; `lab.streaming.Config`'s
defaults), three ANNs of the same graph are trained with a loss at every step:
streaming with skips, streaming without skips, and sequential with skips. Each is converted to
the SNN whose every synapse delays by one frame (K IF steps per frame), which is the streaming
rollout's delay: matched for the streaming ANNs, mismatched for the sequential one.

Measured on the test set, per step: accuracy of the ANN's output y[t] and of the SNN's running
readout; the first step better than chance (one-sided binomial test against the majority class,
p ≤ 0.01); operations per sample (ANN: dense MACs; SNN: input MACs once per frame + SOPs +
one membrane update per hidden neuron and SNN step). The SNN is also run without its v_min floor.
Headline: first useful step of the streaming ANN with and without skips, final accuracy of the
streaming ANN with skips and of its SNN, and SNN operations / ANN MACs.
Goals: skips answer earlier; the SNN is within 2 points of its ANN (compared with both the
ANN's own output y[t] and the ANN under the SNN's running readout, which averages the steps
seen so far and is therefore often the higher); the SNN needs fewer operations.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

import lab.streaming as S
from lab.core import stats

VARIANTS = (("streaming", True), ("streaming", False), ("sequential", True))
GOAL_POINTS = 2.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 epochs (< 1 min on 2 cores)")
    parser.add_argument("--dataset", default="nmnist_like", choices=S.DATASETS)
    parser.add_argument("--epochs", type=int, default=None, help="default 12, --quick 4")
    parser.add_argument("--steps-per-frame", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (tiny networks: 1 is fastest)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def fmt(curve) -> str:
    return " ".join(f"{float(a):5.1f}" for a in curve)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    epochs = args.epochs or (4 if args.quick else 12)
    outcomes = {}
    for rollout, skips in VARIANTS:
        config = S.Config(dataset=args.dataset, rollout=rollout, skips=skips, epochs=epochs,
                          steps_per_frame=args.steps_per_frame, seed=args.seed, device="cpu")
        outcomes[rollout, skips] = S.experiment(config)
    some = next(iter(outcomes.values()))
    chance, bar = S.chance_level(some.labels)
    print(f"dataset {args.dataset}, {len(some.labels)} test recordings, {epochs} epochs, "
          f"K = {args.steps_per_frame} SNN steps per frame; chance {chance:.1f} %, "
          f"better than chance from {bar:.1f} %")
    print(f"{'model':<28} {'reach':>5} {'useful':>6}  accuracy per step (%)")
    rows = {}
    for (rollout, skips), out in outcomes.items():
        name = f"{rollout} {'skips' if skips else 'no skips'}"
        for kind, curve in (("ANN", out.ann_accuracy), ("SNN", out.snn_accuracy)):
            reach = out.first_step if kind == "ANN" else S.first_step(out.graph, "streaming")
            useful = out.first_useful(curve)
            rows[name, kind] = (useful, float(curve[-1]))
            print(f"{name + ' ' + kind:<28} {reach:>5} {useful:>6}  {fmt(curve)}")
    print("(reach: first step whose output can have seen frame 0; useful: first step better "
          "than chance, −1 = never)")
    print(f"{'model':<28} {'ANN MACs':>10} {'SNN ops':>10} {'ratio':>6}  spikes/sample")
    for (rollout, skips), out in outcomes.items():
        name = f"{rollout} {'skips' if skips else 'no skips'}"
        ann, snn = sum(out.ann_macs), sum(out.snn_ops)
        spikes = ", ".join(f"{n} {v:.0f}" for n, v in out.spikes_per_sample.items())
        print(f"{name:<28} {ann:>10.0f} {snn:>10.0f} {snn / ann:>6.3f}  {spikes}")
    main_out = outcomes["streaming", True]
    first_skips, acc_ann = rows["streaming skips", "ANN"]
    first_noskips = rows["streaming no skips", "ANN"][0]
    acc_snn = rows["streaming skips", "SNN"][1]
    acc_ann_running = float(main_out.ann_running_accuracy[-1])
    ops_ratio = sum(main_out.snn_ops) / sum(main_out.ann_macs)
    print(f"streaming skips ANN with the SNN's running readout: final {acc_ann_running:.1f} %")
    seeds = range(args.seed, args.seed + (3 if args.quick else 5))
    per_seed = [main_out] + [S.experiment(dataclasses.replace(main_out.config, seed=s))
                             for s in seeds[1:]]
    snn = [float(o.snn_accuracy[-1]) for o in per_seed]
    running = [float(o.ann_running_accuracy[-1]) for o in per_seed]
    floorless = [no_floor_accuracy(o, args.dataset) for o in per_seed]
    like = stats.paired(snn, running)
    floor = stats.paired(snn, floorless)
    print(f"over {len(per_seed)} seeds, streaming with skips: "
          + stats.verdict(like, "the SNN", "its ANN read out the same way"))
    print("the v_min floor (v_min = 0) against none (−inf): "
          + stats.verdict(floor, "with the floor", "without"))
    acc_no_floor = stats.summary(floorless).mean
    goals = [
        ("skips give an earlier first useful answer",
         0 <= first_skips < first_noskips or (first_skips >= 0 > first_noskips),
         f"step {first_skips} vs {first_noskips}"),
        (f"SNN within {GOAL_POINTS:g} points of its streaming ANN, read out as y[t] and as "
         "the SNN is", acc_snn >= max(acc_ann, acc_ann_running) - GOAL_POINTS,
         f"{acc_snn:.1f} vs {acc_ann:.1f} and {acc_ann_running:.1f} %"),
        ("SNN needs fewer operations than the ANN", ops_ratio < 1, f"ratio {ops_ratio:.3f}"),
    ]
    for goal, met, value in goals:
        print(f"goal: {goal}: {'met' if met else 'MISSED'} ({value})")
    print(f"RESULT streaming first_step_skips={first_skips} first_step_noskips={first_noskips} "
          f"acc_final_ann={acc_ann:.2f} acc_final_snn={acc_snn:.2f} ops_ratio={ops_ratio:.4f} "
          f"ann_acc_running={acc_ann_running:.2f} snn_acc_no_floor={acc_no_floor:.2f} "
          f"snn_minus_ann_running={like.mean_diff:.2f} ci_low={like.ci_low:.2f} "
          f"ci_high={like.ci_high:.2f} floor_gain={floor.mean_diff:.2f} "
          f"floor_ci_low={floor.ci_low:.2f} seeds={len(per_seed)}")


def no_floor_accuracy(out: S.Outcome, dataset: str) -> float:
    """Final test accuracy of the same SNN without its v_min floor (v_min = −inf)."""
    split, _ = S.load_frames(dataset, out.config.n_time_bins, out.config.downsample,
                             out.config.data_dir)
    run = S.simulate(out.graph, split.x_test.transpose(0, 1), out.thresholds,
                     out.config.steps_per_frame, out.config.v_init, v_min=-float("inf"))
    start = S.first_step(out.graph, "streaming")
    return float(S.accuracy_per_step(S.outputs(run, start).cpu(), out.labels)[-1])


if __name__ == "__main__":
    main()
