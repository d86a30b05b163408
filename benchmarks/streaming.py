"""Benchmark: streaming rollouts — anytime answers with and without skips, ANN vs converted SNN.

On the emulated N-MNIST-like set (34×34 summed to 17×17, 8 frames; `lab.streaming.Config`'s
defaults), three ANNs of the same graph are trained with a loss at every step:
streaming with skips, streaming without skips, and sequential with skips. Each is converted to
the SNN whose every synapse delays by one frame (K IF steps per frame), which is the streaming
rollout's delay: matched for the streaming ANNs, mismatched for the sequential one.

Measured on the test set, per step: accuracy of the ANN's output y[t], of the same ANN under
the SNN's running readout (the mean of y since the output could first see input), and of the
SNN's running readout; the first step better than chance (one-sided binomial test against the
majority class, p ≤ 0.01); operations per sample (ANN: dense MACs; SNN: input MACs once per
frame + SOPs + one membrane update per hidden neuron and SNN step). The SNN is also run without
its v_min floor. Controls for time (`lab.controls`): a memoryless per-frame model, and the
streaming ANN with skips trained and tested on frames shuffled in time.

Every figure is over model seeds (3 with --quick, else 5; the data seed fixed): accuracies as
mean with a 95% interval, differences paired over seeds (`lab.core.stats`); a first useful
step is reported for every seed, and the headline takes the latest of them (useful from then
on in every seed). No configuration is chosen here: all settings are `Config`'s defaults, fixed
before measuring, so the test set is read once per model.

Sizes: --quick: the set's default size (300 test recordings), 4 epochs, 3 seeds, about 25 s on
2 cores (measured). Full: 5000 recordings (1000 test), 12 epochs, 5 seeds: about 17× the quick
run's training, some 7 min on 2 cores plus 20 s to emulate the larger set once (an estimate;
the script prints its wall time).

Headline: first useful step of the streaming ANN with and without skips, final accuracy of the
streaming ANN with skips, of that ANN read out as its SNN is, and of its SNN; SNN operations /
ANN MACs; the controls. Goals: skips answer earlier; the SNN is within 2 points of its ANN
(compared with both the ANN's own output y[t] and the ANN under the running readout); the SNN
needs fewer operations.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence

import torch

import lab.streaming as S
from lab import controls
from lab.core import stats

VARIANTS = (("streaming", True), ("streaming", False), ("sequential", True))
GOAL_POINTS = 2.0
CONTROL_EPOCHS = 20  # the per-frame control is cheap: trained long, so it flatters nothing


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="default set size (300 test), 4 epochs, 3 seeds (about 3 min)")
    parser.add_argument("--dataset", default="nmnist_like", choices=S.DATASETS)
    parser.add_argument("--data-dir", default="", help="folder of a real set (nmnist, ...)")
    parser.add_argument("--epochs", type=int, default=None, help="default 12, --quick 4")
    parser.add_argument("--seeds", type=int, default=None, help="default 5, --quick 3")
    parser.add_argument("--steps-per-frame", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (tiny networks: 1 is fastest)")
    parser.add_argument("--seed", type=int, default=0, help="the first model seed")
    return parser.parse_args()


def ci(values: Sequence[float]) -> str:
    s = stats.summary(values)
    return f"{s.mean:5.1f} [{s.ci_low:5.1f}, {s.ci_high:5.1f}]"


def curve_ci(curves: Sequence[torch.Tensor]) -> str:
    """Mean accuracy per step over seeds."""
    return " ".join(f"{v:5.1f}" for v in torch.stack(list(curves)).mean(0).tolist())


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    epochs = args.epochs or (4 if args.quick else 12)
    seeds = list(range(args.seed, args.seed + (args.seeds or (3 if args.quick else 5))))
    samples = 0 if args.quick or args.dataset not in ("nmnist_like", "moving_digits") else 5000
    base = S.Config(dataset=args.dataset, data_dir=args.data_dir, event_samples=samples,
                    epochs=epochs, steps_per_frame=args.steps_per_frame, device="cpu")
    runs = {(rollout, skips): [S.experiment(dataclasses.replace(
        base, rollout=rollout, skips=skips, seed=s)) for s in seeds]
        for rollout, skips in VARIANTS}
    main_runs = runs["streaming", True]
    split, _ = S.load_frames(base.dataset, base.n_time_bins, base.downsample, base.data_dir,
                             base.event_samples, base.data_seed)
    labels = main_runs[0].labels
    chance, bar = S.chance_level(labels)
    print(f"dataset {args.dataset}, {len(split.y_train)} train / {len(labels)} test "
          f"recordings, {epochs} epochs, K = {args.steps_per_frame} SNN steps per frame, "
          f"seeds {seeds}; chance {chance:.1f} %, better than chance from {bar:.1f} %")
    print(f"{'model':<31} {'reach':>5} {'useful (per seed)':>18}  final [95% CI]   "
          "mean accuracy per step (%)")
    useful: dict[tuple[str, str], list[int]] = {}
    final: dict[tuple[str, str], list[float]] = {}
    for (rollout, skips), outs in runs.items():
        name = f"{rollout} {'skips' if skips else 'no skips'}"
        for kind in ("ANN", "ANN running", "SNN"):
            curves = [o.ann_accuracy if kind == "ANN" else o.ann_running_accuracy
                      if kind == "ANN running" else o.snn_accuracy for o in outs]
            reach = (outs[0].first_step if kind != "SNN"
                     else S.first_step(outs[0].graph, "streaming"))
            useful[name, kind] = [o.first_useful(c) for o, c in zip(outs, curves, strict=True)]
            final[name, kind] = [float(c[-1]) for c in curves]
            print(f"{name + ' ' + kind:<31} {reach:>5} {str(useful[name, kind]):>18}  "
                  f"{ci(final[name, kind])}  {curve_ci(curves)}")
    print("(reach: first step whose output can have seen frame 0; useful: first step better "
          "than chance, −1 = never)")
    print(f"{'model':<28} {'ANN MACs':>10} {'SNN ops':>10} {'ratio':>6}  spikes/sample (seed "
          f"{seeds[0]})")
    for (rollout, skips), outs in runs.items():
        name = f"{rollout} {'skips' if skips else 'no skips'}"
        ann, snn = sum(outs[0].ann_macs), sum(outs[0].snn_ops)
        spikes = ", ".join(f"{n} {v:.0f}" for n, v in outs[0].spikes_per_sample.items())
        print(f"{name:<28} {ann:>10.0f} {snn:>10.0f} {snn / ann:>6.3f}  {spikes}")

    ops = [sum(o.snn_ops) / sum(o.ann_macs) for o in main_runs]
    snn, running = final["streaming skips", "SNN"], final["streaming skips", "ANN running"]
    ann = final["streaming skips", "ANN"]
    floorless = [no_floor_accuracy(o) for o in main_runs]
    like = stats.paired(snn, running)
    own = stats.paired(snn, ann)
    floor = stats.paired(snn, floorless)
    memoryless = [controls.memoryless(split, controls.Config(epochs=CONTROL_EPOCHS, seed=s)).test
                  for s in seeds]
    shuffled_split = controls.shuffled_split(split, seed=base.data_seed)
    shuffled = [float(S.experiment(dataclasses.replace(base, seed=s), split=shuffled_split)
                      .ann_accuracy[-1]) for s in seeds]
    print(f"\nover {len(seeds)} seeds, streaming with skips (95% intervals, paired):")
    print("  " + stats.verdict(like, "the SNN", "its ANN read out the same way (running)"))
    print("  " + stats.verdict(own, "the SNN", "its ANN's own last output y[T−1]"))
    print("  the v_min floor (v_min = 0) against none (−inf): "
          + stats.verdict(floor, "with the floor", "without"))
    print(f"  controls: memoryless per-frame model {ci(memoryless)}, the streaming ANN on "
          f"frames shuffled in time {ci(shuffled)}, the streaming ANN {ci(ann)}")
    print("  " + controls.order_label(ann, shuffled) + " (for the streaming ANN, whose last "
          "output sees frames T−5..T−3 only)")
    print("  memoryless control against the streaming ANN (does the class need more than "
          "single frames?): " + stats.verdict(stats.paired(memoryless, ann),
                                              "the memoryless control", "the streaming ANN"))
    first_skips = max(useful["streaming skips", "ANN"])
    first_noskips = max(useful["streaming no skips", "ANN"])
    never = -1 in useful["streaming no skips", "ANN"]
    goals = [
        ("skips give an earlier first useful answer in every seed",
         all(0 <= a < b or (a >= 0 > b) for a, b in zip(useful["streaming skips", "ANN"],
                                                         useful["streaming no skips", "ANN"],
                                                         strict=True)),
         f"steps {useful['streaming skips', 'ANN']} vs {useful['streaming no skips', 'ANN']}"),
        (f"SNN within {GOAL_POINTS:g} points of its streaming ANN, read out as y[t] and as "
         "the SNN is (paired intervals' lower ends)",
         min(like.ci_low, own.ci_low) >= -GOAL_POINTS,
         f"SNN − running {like.mean_diff:+.1f} [{like.ci_low:.1f}, {like.ci_high:.1f}], "
         f"SNN − y[t] {own.mean_diff:+.1f} [{own.ci_low:.1f}, {own.ci_high:.1f}]"),
        ("SNN needs fewer operations than the ANN", max(ops) < 1,
         f"ratio {stats.summary(ops).mean:.3f}"),
    ]
    for goal, met, value in goals:
        print(f"goal: {goal}: {'met' if met else 'MISSED'} ({value})")
    print(f"wall time {time.perf_counter() - started:.0f} s")
    mean = lambda v: stats.summary(v).mean  # noqa: E731
    print(f"RESULT streaming first_step_skips={first_skips} "
          f"first_step_noskips={-1 if never else first_noskips} "
          f"acc_final_ann={mean(ann):.2f} acc_final_snn={mean(snn):.2f} "
          f"ops_ratio={mean(ops):.4f} ann_acc_running={mean(running):.2f} "
          f"snn_acc_no_floor={mean(floorless):.2f} "
          f"snn_minus_ann_running={like.mean_diff:.2f} ci_low={like.ci_low:.2f} "
          f"ci_high={like.ci_high:.2f} floor_gain={floor.mean_diff:.2f} "
          f"floor_ci_low={floor.ci_low:.2f} memoryless_acc={mean(memoryless):.2f} "
          f"shuffled_acc={mean(shuffled):.2f} "
          f"acc_final_snn_ci_low={stats.summary(snn).ci_low:.2f} "
          f"acc_final_snn_ci_high={stats.summary(snn).ci_high:.2f} "
          f"test_recordings={len(labels)} seeds={len(seeds)}")


def no_floor_accuracy(out: S.Outcome) -> float:
    """Final test accuracy of the same SNN without its v_min floor (v_min = −inf)."""
    c = out.config
    split, _ = S.load_frames(c.dataset, c.n_time_bins, c.downsample, c.data_dir,
                             c.event_samples, c.data_seed)
    run = S.simulate(out.graph, split.x_test.transpose(0, 1), out.thresholds,
                     c.steps_per_frame, c.v_init, v_min=-float("inf"))
    start = S.first_step(out.graph, "streaming")
    return float(S.accuracy_per_step(S.outputs(run, start).cpu(), out.labels)[-1])


if __name__ == "__main__":
    main()
