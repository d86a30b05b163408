"""Benchmark: noise-based single-step training (T = 1 → T = N) against BPTT and conversion.

On digits and MNIST-5k (digits alone with --quick), the same MLP and the same training budget
for every method, over model seeds 0..S−1 (the data seed fixed): (a) surrogate-gradient BPTT at
T = N (`lab.bptt`), (b) threshold-balanced conversion of a ReLU ANN (`lab.conversion`:
99.9th-percentile θ per layer, IF with θ·s outputs), (c) single-step training with noise, then
the same weights for N steps (`lab.noise_training`), for every noise in `NOISES` (distribution
× scale σ, in θ), and (d) the same without noise. The noise reported is chosen on the
validation images (the best mean validation accuracy at N over seeds); the test set is read
once, at it. The lab's default (Gaussian, σ = 0.3) is reported too: it was fixed in advance.

Every headline is a paired mean over seeds with its 95% interval (`lab.core.stats`), whatever
its sign: the noise's gain over no noise at N, BPTT − noise at N, and per seed the ratios of
training time (wall and CPU), of inference time and of the N needed for the same validation
accuracy (noise over conversion). The last line is the RESULT headline, per dataset.

    python benchmarks/noise_training.py           # digits and MNIST-5k, 5 seeds, 10 epochs
    python benchmarks/noise_training.py --quick   # digits, 3 seeds, 5 epochs (< 1 min)

Timing uses one torch thread by default (`--threads`): these networks are so small that a
second intra-op thread buys little, and on a busy machine it made every step 20–30× slower
and the wall-time ratios erratic; one thread gives the same conditions to every method.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from lab import bptt, conversion
from lab import noise_training as nt
from lab.core import data, measure, metrics, models, stats, training
from lab.core.noise import IDEAL_RESIDUAL_STD

BATCH_SIZE = 32
LR = 2e-3
PERCENTILE = 99.9
CONVERSION_V_INIT = 0.5  # lab.conversion's default: v[0] = θ/2 rounds instead of flooring
# The noises compared (distribution, σ in θ); 1/√12 is the std of the ideal residual U[0, θ).
NOISES = (("gaussian", 0.15), ("gaussian", 0.3), ("gaussian", 0.5),
          ("uniform", 0.15), ("uniform", IDEAL_RESIDUAL_STD), ("uniform", 0.5))
DEFAULT_NOISE = ("gaussian", 0.3)  # lab.noise_training.Config's, fixed before any measurement


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="digits, 3 seeds, 5 epochs (< 1 min on 2 cores)")
    parser.add_argument("--datasets", default=None, help="default: digits,mnist (digits quick)")
    parser.add_argument("--seeds", type=int, default=None, help="default: 3 quick / 5")
    parser.add_argument("--epochs", type=int, default=None, help="default: 5 quick, 10 full")
    parser.add_argument("--timesteps", type=int, default=8, help="N: BPTT's T and the N compared")
    parser.add_argument("--max-timesteps", type=int, default=32, help="N_max after T = 1")
    parser.add_argument("--conversion-timesteps", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1; 0: torch's default)")
    return parser.parse_args()


def _warm_up() -> None:
    """Pay one-time costs before any clock starts: the first `torch.optim.Adam` of a process
    imports torch._dynamo (about 800 modules, 1–10 s here), which would otherwise be counted in
    the training time of whichever method runs first."""
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([weight])
    weight.sum().backward()
    optimizer.step()


@contextmanager
def _clock() -> Iterator[dict[str, float]]:
    """Wall time (`s`) and this process's CPU time (`cpu_s`): with one torch thread the CPU
    time is the compute itself, and it hardly moves when other processes share the cores."""
    times = {}
    with measure.timer() as t:
        yield times
    times.update(s=t["wall_s"], cpu_s=t["cpu_s"])


def _time_per_sample(snn: nn.Module, x: torch.Tensor, timesteps: int, repeats: int = 3) -> float:
    """Best of `repeats` wall times of one inference over `x` at N steps, per sample."""
    forward = nt.multi_step_forward(timesteps)
    times = []
    for _ in range(repeats):
        with measure.timer() as t:
            training.predict(snn, x, forward)
        times.append(t["wall_s"])
    return min(times) / len(x)


def _bptt(split: data.Split, args, epochs: int) -> dict:
    config = bptt.Config(dataset=split.name, timesteps=args.timesteps, epochs=epochs,
                         batch_size=BATCH_SIZE, lr=LR, beta=1.0, seed=args.seed, device="cpu")
    training.seed_everything(config.seed)
    model = bptt.spiking_model(config, split)
    forward = bptt.forward_over_time(config)
    with _clock() as t:
        training.train(model, split, lambda m, x: forward(m, x).mean(0), epochs=epochs, lr=LR,
                       batch_size=BATCH_SIZE, seed=args.seed)
    curve = measure.accuracy_per_timestep(training.predict(model, split.x_test, forward),
                                          split.y_test)
    x_val, y_val = split.validation()
    val = measure.accuracy_per_timestep(training.predict(model, x_val, forward), y_val)
    return {"train_s": t["s"], "train_cpu_s": t["cpu_s"], "curve": curve, "val_curve": val,
            "snn": model}


def _conversion(split: data.Split, args, epochs: int) -> dict:
    training.seed_everything(args.seed)
    ann = models.build("mlp", split.image_shape, split.num_classes, nn.ReLU)
    with _clock() as t:
        training.train(ann, split, nt.single_step_forward, epochs=epochs, lr=LR,
                       batch_size=BATCH_SIZE, seed=args.seed)
        thresholds = conversion.threshold_balance(ann, split.x_train, PERCENTILE)
    snn = conversion.convert(ann, thresholds, v_init=CONVERSION_V_INIT)
    forward = nt.multi_step_forward(args.conversion_timesteps)
    outputs = training.predict(snn, split.x_test, forward)
    classic = training.predict(conversion.convert(ann, thresholds, v_init=0.0), split.x_test,
                               forward)
    ann_acc = measure.accuracy(training.predict(ann, split.x_test, nt.single_step_forward),
                               split.y_test)
    x_val, y_val = split.validation()
    val = measure.accuracy_per_timestep(training.predict(snn, x_val, forward), y_val)
    return {"train_s": t["s"], "train_cpu_s": t["cpu_s"], "snn": snn, "ann_accuracy": ann_acc,
            "val_curve": val,
            "curve": measure.accuracy_per_timestep(outputs, split.y_test),
            "curve_v0_zero": measure.accuracy_per_timestep(classic, split.y_test)}


def _single_step(split: data.Split, args, epochs: int, noise: str, noise_std: float) -> dict:
    config = nt.Config(dataset=split.name, noise=noise, noise_std=noise_std,
                       timesteps=args.max_timesteps, epochs=epochs, batch_size=BATCH_SIZE, lr=LR,
                       seed=args.seed, device="cpu")
    training.seed_everything(config.seed)
    model = nt.single_step_model(config, split)
    with _clock() as t:  # nt.experiment without its test-set simulation inside the clock
        training.train(model, split, nt.single_step_forward, epochs=epochs, lr=LR,
                       batch_size=BATCH_SIZE, seed=args.seed)
    logits = training.predict(model, split.x_test, nt.single_step_forward)
    return {"train_s": t["s"], "train_cpu_s": t["cpu_s"], "snn": nt.to_multi_step(model),
            "curve": nt.accuracy_per_timestep(model, split, args.max_timesteps),
            "val_curve": nt.accuracy_per_timestep(model, split, args.max_timesteps,
                                                  subset="validation"),
            "accuracy_t1": measure.accuracy(logits, split.y_test)}


def _first_reaching(curve: torch.Tensor, target: float) -> int:
    """The first N at which `curve` reaches `target`; its length if it never does."""
    hits = torch.nonzero(curve >= target)
    return int(hits[0]) + 1 if len(hits) else len(curve)


def _name(noise: tuple[str, float]) -> str:
    return f"{noise[0]}:{noise[1]:.3g}"


def _seed_runs(split: data.Split, args, epochs: int, seed: int) -> dict:
    """Every method and noise on one model seed; inference timed at each one's chosen N."""
    one = argparse.Namespace(**{**vars(args), "seed": seed})
    runs = {"bptt": _bptt(split, one, epochs), "conversion": _conversion(split, one, epochs),
            "none": _single_step(split, one, epochs, "none", 0.0)}
    for noise in NOISES:
        runs[_name(noise)] = _single_step(split, one, epochs, *noise)
    for r in runs.values():
        # the first N from which the validation curve stays within 1 point of its best
        r["n_best"] = (metrics.timesteps_within(r["val_curve"], float(r["val_curve"].max()))
                       or len(r["val_curve"]))
    return runs


def _at(runs: list[dict], name: str, n: int, curve: str = "curve") -> list[float]:
    return [float(r[name][curve][n - 1]) for r in runs]


def _ci(values: list[float], digits: int = 2) -> str:
    s = stats.summary(values)
    return f"{s.mean:.{digits}f} [{s.ci_low:.{digits}f}, {s.ci_high:.{digits}f}]"


def _fields(prefix: str, name: str, values: stats.Paired | stats.Summary, digits: int = 2
            ) -> dict[str, str]:
    mean = values.mean_diff if isinstance(values, stats.Paired) else values.mean
    return {f"{prefix}_{name}": f"{mean:.{digits}f}",
            f"{prefix}_{name}_ci": f"[{values.ci_low:.{digits}f},{values.ci_high:.{digits}f}]"}


def _dataset(name: str, args, epochs: int, seeds: int) -> dict[str, str]:
    """One dataset's runs over seeds, its tables, and its RESULT fields (prefixed by name)."""
    split = data.load(name, seed=0)  # the data seed stays fixed; the seeds are the models'
    n = args.timesteps
    print(f"\n## {name} ({len(split.y_train)} train / {len(split.y_test)} test), MLP "
          f"in-256-128-{split.num_classes}, {epochs} epochs, model seeds 0..{seeds - 1}")
    runs = [_seed_runs(split, args, epochs, seed) for seed in range(seeds)]
    for r in runs:
        for method in r.values():
            method["infer_s"] = _time_per_sample(method["snn"], split.x_test, method["n_best"])
    print(f"{'noise (σ in θ)':<22}{'validation acc@N':>22}{'test acc@N':>22}  test − no noise")
    none = _at(runs, "none", n)
    val_means = {}
    for noise in [("none", 0.0), *NOISES]:
        key = "none" if noise[0] == "none" else _name(noise)
        val, test = _at(runs, key, n, "val_curve"), _at(runs, key, n)
        val_means[noise] = statistics.fmean(val)
        gain = "" if key == "none" else _paired(stats.paired(test, none))
        print(f"{key:<22}{_ci(val):>22}{_ci(test):>22}  {gain}")
    # on validation, never test; a tie goes to the first in NOISES (max keeps the first)
    chosen = max(NOISES, key=lambda noise: val_means[noise])
    c = _name(chosen)
    print(f"chosen on validation: {c} (the lab's default: {_name(DEFAULT_NOISE)})")

    gain = stats.paired(_at(runs, c, n), none)
    default_gain = stats.paired(_at(runs, _name(DEFAULT_NOISE), n), none)
    gap = stats.paired(_at(runs, "bptt", n), _at(runs, c, n))
    train = stats.summary([r[c]["train_s"] / r["bptt"]["train_s"] for r in runs])
    cpu = stats.summary([r[c]["train_cpu_s"] / r["bptt"]["train_cpu_s"] for r in runs])
    infer = stats.summary([r[c]["infer_s"] / r["conversion"]["infer_s"] for r in runs])
    steps = []
    for r in runs:  # N for the same validation accuracy: the lower best of the two, − 1 point
        target = min(float(r["conversion"]["val_curve"].max()),
                     float(r[c]["val_curve"].max())) - 1.0
        steps.append(_first_reaching(r[c]["val_curve"], target)
                     / _first_reaching(r["conversion"]["val_curve"], target))
    step_ratio = stats.summary(steps)
    at = {m: _ci(_at(runs, m, n)) for m in ("bptt", "conversion", c, "none")}
    print(f"test accuracy at N = {n}: BPTT {at['bptt']}, conversion {at['conversion']}, "
          f"noise {c} {at[c]}, no noise {at['none']}")
    classic = [float(r["conversion"]["curve_v0_zero"][n - 1]) for r in runs]
    print(f"ANN (ReLU) {_ci([r['conversion']['ann_accuracy'] for r in runs])}; conversion with "
          f"v[0] = 0 at N = {n}: {_ci(classic)}")
    print(f"noise {c} − no noise at N = {n}: {_paired(gain)}; the default "
          f"{_name(DEFAULT_NOISE)}: {_paired(default_gain)}")
    print(f"BPTT − noise {c} at N = {n}: {_paired(gap)}")
    print(f"ratios per seed, mean [95% interval]: training time noise/BPTT wall "
          f"{_summary(train)}, CPU {_summary(cpu)}; inference time at each one's N, "
          f"noise/conversion {_summary(infer)}; N for the same validation accuracy, "
          f"noise/conversion {_summary(step_ratio)}")
    return {f"{name}_noise": c, **_fields(name, "noise_gain", gain),
            **_fields(name, "default_noise_gain", default_gain),
            **_fields(name, "acc_gap", gap), **_fields(name, "train_s_ratio", train, 3),
            **_fields(name, "train_cpu_s_ratio", cpu, 3),
            **_fields(name, "infer_s_ratio", infer, 3),
            **_fields(name, "timesteps_ratio", step_ratio, 3)}


def _summary(s: stats.Summary) -> str:
    return f"{s.mean:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}]"


def _paired(d: stats.Paired) -> str:
    word = ("no measurable difference" if d.ci_low <= 0 <= d.ci_high else
            "higher" if d.mean_diff > 0 else "lower")
    return f"{d.mean_diff:+.2f} [{d.ci_low:+.2f}, {d.ci_high:+.2f}] {word}"


def main() -> None:
    args = _arguments()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = (args.datasets or ("digits" if args.quick else "digits,mnist")).split(",")
    epochs = args.epochs or (5 if args.quick else 10)
    seeds = args.seeds or (3 if args.quick else 5)
    n = args.timesteps
    if not 1 <= n <= args.max_timesteps <= args.conversion_timesteps:
        raise SystemExit("need 1 ≤ --timesteps ≤ --max-timesteps ≤ --conversion-timesteps")
    if seeds < 2:
        raise SystemExit("--seeds must be ≥ 2: every headline is an interval over seeds")
    _warm_up()
    print(f"noise_training benchmark: {', '.join(names)}, {seeds} model seeds, N = {n}, torch "
          f"threads {torch.get_num_threads()}"
          + (" (quick: digits only, 3 seeds, 5 epochs; the full run adds MNIST-5k, 5 seeds, 10 "
             "epochs)" if args.quick else ""))
    print(f"budget policy: every method trains {epochs} epochs over the same training set, "
          f"batch {BATCH_SIZE}, Adam lr {LR}; BPTT is an IF network (β = 1) at T = {n}; the "
          f"conversion ANN is the same MLP with ReLU, θ = {PERCENTILE}th percentile of its "
          f"activations on the training set (counted in its training time), v[0] = "
          f"{CONVERSION_V_INIT}·θ; single-step nets: T = 1, then the same weights as IF for "
          f"N ≤ {args.max_timesteps} steps (v[0] = θ/2); noises "
          + ", ".join(_name(x) for x in NOISES) + " and none.")
    fields: dict[str, str] = {}
    for name in names:
        fields.update(_dataset(name, args, epochs, seeds))
    print(f"RESULT noise_training datasets={','.join(names)} seeds={seeds} timesteps={n} "
          + " ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    main()
