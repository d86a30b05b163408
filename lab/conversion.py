"""ANN-to-SNN conversion at ultra-low latency: threshold balancing, QCFS and residual noise.

Every activation becomes a plain IF neuron (reset by subtraction, emitting θ·s). Summing its
equations over t = 1..T gives, per neuron, with the rate r = θ·Σs/T (METHODS.md §1):

    r = mean(I) − (v[T] − v[0]) / T

While v[T] stays in [0, θ) the rate is the ANN's activation clipped and quantized; spikes that
arrive unevenly push v[T] out of [0, θ), and the spike count then misrepresents the input — the
residual error. Three ways to pick θ and the ANN: threshold balancing (ReLU ANN, θ = a
percentile of its activations), QCFS (θ = trained λ, v[0] = θ/2) and residual noise (QCFS
trained with the residual error modelled as noise, σ fitted on the converted SNN).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from .activations import NOISE_KINDS, QCFS, ClippedReLU, NoiseModel, ResidualNoise
from .core import config as cfg
from .core import data, encoding, grid, measure, models, neurons, training
from .core.neurons import SpikingNeuron

VARIANTS = ("threshold-balancing", "qcfs", "residual-noise")
TIMESTEPS = (1, 2, 4, 8, 16, 32, 64)
ACTIVATIONS = (nn.ReLU, ClippedReLU, QCFS)  # ResidualNoise is a QCFS
CONVERTIBLE = (nn.Linear, nn.Conv2d, nn.AvgPool2d, nn.Flatten, nn.Dropout, nn.Identity)
HISTOGRAM_RANGE = (-2.0, 3.0)  # v[T]/θ
HISTOGRAM_BINS = 50
CALIBRATION_SAMPLES = 1024  # training images used for thresholds and for fitting σ


@dataclass(frozen=True)
class Config:
    """Laptop defaults: digits, MLP 64-256-128-10, 10 epochs, L = 4, T up to 64 (≈ 5 s).

    `variant` picks the method (the CLI's `--variant`; `--method` names the lab method).
    Thresholds and σ are in units of θ where they are ratios: `v_init` (v[0] = v_init·θ; 0 is
    classic threshold balancing, 0.5 QCFS's shift), `noise_std` (fixed σ). With
    `noise_calibration='fitted'` σ per layer is the std of the gap measured on the SNN at
    `calibration_timesteps` (the authors' code uses T = L = 4; the lab's default is T = 1, the
    latency the method is for — notebook 02 shows why on networks this shallow).
    `noise_mean` also shifts the noise by the mean gap (the authors measure it, use σ only).
    """

    variant: str = "residual-noise"
    dataset: str = "digits"
    arch: str = "mlp"
    timesteps: int = 64
    levels: int = 4
    threshold_init: float = 2.0
    percentile: float = 99.9
    v_init: float = 0.5
    noise: str = "gaussian"
    noise_calibration: str = "fitted"
    noise_std: float = 0.1
    noise_mean: bool = False
    calibration_timesteps: int = 1
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        cfg.check_common(self)
        cfg.one_of("variant", self.variant, VARIANTS)
        cfg.one_of("arch", self.arch, ("mlp", "cnn"))
        cfg.require(isinstance(self.levels, int) and self.levels >= 1, "levels (L)",
                    "an integer ≥ 1", self.levels)
        cfg.positive("threshold_init", self.threshold_init, integer=False)
        cfg.require(0 < self.percentile <= 100, "percentile", "in (0, 100]", self.percentile)
        cfg.require(0 <= self.v_init < 1, "v_init", "in [0, 1) (units of θ)", self.v_init)
        cfg.one_of("noise", self.noise, NOISE_KINDS)
        cfg.one_of("noise_calibration", self.noise_calibration, ("fitted", "fixed"))
        cfg.require(self.noise_std >= 0, "noise_std", "≥ 0", self.noise_std)
        cfg.positive("calibration_timesteps", self.calibration_timesteps)


# --- conversion -----------------------------------------------------------------------------

def activation_layers(ann: nn.Module) -> list[nn.Module]:
    """The activations of `ann` that conversion turns into IF neurons, in order."""
    return [m for m in ann.children() if isinstance(m, ACTIVATIONS)]


def convert(ann: nn.Sequential, thresholds: Sequence[float] | None = None,
            v_init: float = 0.5) -> nn.Sequential:
    """The SNN of `ann`: each activation → IF neuron with θ, v[0] = v_init·θ, output θ·s.

    θ per layer comes from `thresholds`, else from the activation's trained λ (clipped ReLU,
    QCFS, residual noise); plain ReLU layers need `threshold_balance`. Weights are copied.
    """
    for name, module in ann.named_children():
        if isinstance(module, nn.MaxPool2d):
            raise TypeError(f"layer {name} (MaxPool2d) cannot be converted: the max of spikes is "
                            "not the max of firing rates; use AvgPool2d")
        if not isinstance(module, ACTIVATIONS + CONVERTIBLE):
            raise TypeError(f"layer {name} ({type(module).__name__}) cannot be converted: "
                            f"supported are {[t.__name__ for t in ACTIVATIONS + CONVERTIBLE]}")
    acts = activation_layers(ann)
    if thresholds is None:
        if any(not hasattr(a, "threshold") for a in acts):
            raise ValueError("thresholds are needed for ReLU layers: use threshold_balance(ann, x)")
        thresholds = [float(a.threshold.detach()) for a in acts]
    if len(thresholds) != len(acts):
        raise ValueError(f"thresholds must have one value per activation ({len(acts)}), "
                         f"got {len(thresholds)}")
    theta = iter(float(t) for t in thresholds)
    snn = models.to_spiking(
        ann, lambda _: SpikingNeuron(next(theta), v_init=v_init, scale_output=True),
        is_activation=lambda m: isinstance(m, ACTIVATIONS))
    return snn.eval()


@contextmanager
def _recording(layers: Sequence[nn.Module]) -> Iterator[list[tuple[Tensor, Tensor] | None]]:
    """While open, slot i holds (input, output) of the last forward call of `layers[i]`."""
    slots: list[tuple[Tensor, Tensor] | None] = [None] * len(layers)

    def hook(i: int):
        return lambda _m, inputs, output: slots.__setitem__(i, (inputs[0], output))

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(layers)]
    try:
        yield slots
    finally:
        for h in handles:
            h.remove()


@contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode (no noise, no dropout) and no gradients; the previous mode comes back."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def threshold_balance(ann: nn.Module, x: Tensor, percentile: float = 99.9,
                      batch_size: int = 256) -> list[float]:
    """θ per activation layer: the `percentile` of its positive outputs on `x` (100: the max).

    Robust normalization (Rueckauer et al. 2017); silent outputs are left out, as in their
    toolbox. 99.9 accepts a little clipping for a finer rate resolution θ/T. A layer that is
    silent on all of `x` gets θ = 1.
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    acts = activation_layers(ann)
    positive: list[list[Tensor]] = [[] for _ in acts]
    with _evaluating(ann), _recording(acts) as slots:
        for xb, _ in data.batches(x, torch.zeros(len(x)), batch_size):
            ann(xb.to(_device(ann)))
            for i, (_, out) in enumerate(slots):
                positive[i].append(out[out > 0].cpu())
    values = [torch.cat(p).numpy() for p in positive]
    return [float(np.percentile(v, percentile)) if v.size else 1.0 for v in values]


@dataclass(frozen=True)
class Gap:
    """Mean and std of one layer's gap, SNN rate − ANN activation, in units of its θ."""

    mean: float
    std: float


def residual_gap(ann: nn.Module, snn: nn.Module, x: Tensor, timesteps: int,
                 batch_size: int = 256) -> list[Gap]:
    """Per layer, the gap between the SNN's rate over T steps and the ANN's activation.

    Both networks see the same images, as in the authors' code: a layer's gap holds its own
    residual error and the error it inherits. Statistics pool every neuron and image.
    """
    _check_timesteps(timesteps)
    acts, spiking = activation_layers(ann), models.spiking_layers(snn)
    sums = torch.zeros(len(acts), 3, dtype=torch.float64)  # Σg, Σg², count
    snn.to(_device(ann))
    with _evaluating(ann), _evaluating(snn), _recording(acts) as a, _recording(spiking) as s:
        for xb, _ in data.batches(x, torch.zeros(len(x)), batch_size):
            xb = xb.to(_device(ann))
            ann(xb)
            snn(encoding.encode(xb, timesteps))
            for i in range(len(acts)):
                g = (s[i][1].mean(0) - a[i][1]).double() / float(spiking[i].threshold)
                sums[i] += torch.stack([g.sum(), (g**2).sum(), torch.tensor(g.numel())])
    mean = sums[:, 0] / sums[:, 2]
    std = (sums[:, 1] / sums[:, 2] - mean**2).clamp(min=0).sqrt()
    return [Gap(float(m), float(d)) for m, d in zip(mean, std, strict=True)]


def fit_noise(ann: nn.Module, x: Tensor, timesteps: int, v_init: float = 0.5,
              use_mean: bool = False) -> list[Gap]:
    """Set σ (and μ if `use_mean`) of every ResidualNoise layer to the gap measured at T."""
    gaps = residual_gap(ann, convert(ann, v_init=v_init), x, timesteps)
    for layer, g in zip(activation_layers(ann), gaps, strict=True):
        if isinstance(layer, ResidualNoise):
            layer.set_noise(std=g.std, mean=g.mean if use_mean else 0.0)
    return gaps


# --- simulation -----------------------------------------------------------------------------

def ideal_spike_count(total_input: Tensor | float, timesteps: int, threshold: float = 1.0,
                      v_init: float = 0.5) -> Tensor:
    """clip(⌊ΣI/θ + v_init⌋, 0, T): the spikes of an IF neuron whose input ΣI arrives evenly.

    `v_init` in units of θ. Any other count leaves v[T] outside [0, θ) (misrepresentation).
    """
    return torch.clamp(torch.floor(torch.as_tensor(total_input) / threshold + v_init), 0,
                       timesteps)


@dataclass
class LayerRecord:
    """One IF layer at every T ≤ T_max: fractions over its neurons, counts per sample."""

    outside: Tensor  # [T] fraction with v[T] ∉ [0, θ)
    misrepresented: Tensor  # [T] fraction whose spike count ≠ the count for even arrival
    spikes_per_sample: Tensor  # [T] spikes emitted in steps 1..T
    histograms: dict[int, Tensor]  # T → counts of v[T]/θ over HISTOGRAM_RANGE, unclipped neurons


@dataclass
class Simulation:
    """Accuracy (%) of the readout averaged over steps 1..T, for every T ≤ T_max, per layer."""

    accuracy: Tensor
    layers: list[LayerRecord]

    def accuracy_at(self, timesteps: int) -> float:
        return float(self.accuracy[timesteps - 1])

    def timesteps_within(self, reference: float, points: float = 1.0) -> int | None:
        """Smallest T from which the accuracy stays within `points` of `reference` to T_max."""
        ok = (self.accuracy >= reference - points).flip(0).cumprod(0).flip(0)
        return int(ok.argmax()) + 1 if ok.any() else None


def histogram_edges() -> Tensor:
    return grid.linspace(*HISTOGRAM_RANGE, HISTOGRAM_BINS + 1, torch.float32)


def _layer_statistics(neuron: SpikingNeuron, current: Tensor, output: Tensor,
                      grid: Sequence[int]) -> list[Tensor]:
    """Sums over a batch: outside, misrepresented, spikes per T, then a histogram per `grid` T.

    v[t] is recomputed with the one IF loop (`neurons.simulate`, same inputs, so the same
    numbers). With n[t] spikes so far, v[t] < 0 with n = 0 or v[t] ≥ θ with n = t is clipping,
    not misrepresentation: only the rest changes the count from clip(⌊(v[0] + ΣI)/θ⌋, 0, t).
    Step by step, so that no [T, B, ...] temporaries are made (they cost more than the SNN).
    """
    theta = float(neuron.threshold)
    v = neurons.simulate(current, theta, neuron.beta, neuron.v_init * theta, neuron.reset,
                         record=True).v_trace
    sums, hists = torch.zeros(3, len(v), dtype=torch.float64), []
    n = torch.zeros_like(v[0])
    for t in range(len(v)):
        n += output[t] != 0
        below, above = v[t] < 0, v[t] >= theta
        wrong = (below & (n > 0)) | (above & (n <= t))
        sums[:, t] = torch.stack([below.sum() + above.sum(), wrong.sum(), n.sum()]).double()
        if t + 1 in grid:
            shown = v[t][~(below | above) | wrong] / theta
            hists.append(torch.histc(shown.clamp(*HISTOGRAM_RANGE).float().cpu(),
                                     HISTOGRAM_BINS, *HISTOGRAM_RANGE))
    return [*sums, *hists]


def simulate_accuracy(snn: nn.Module, x: Tensor, y: Tensor, timesteps_max: int,
                      batch_size: int | None = None) -> Simulation:
    """One simulation to T_max (direct input) gives the accuracy and residuals at every T."""
    _check_timesteps(timesteps_max)
    batch_size = batch_size or max(1, 2048 // timesteps_max)
    layers = models.spiking_layers(snn)
    grid = [T for T in TIMESTEPS if T < timesteps_max] + [timesteps_max]
    sums: list[list] = [[] for _ in layers]  # outside, misrepresented, spikes, *histograms
    neurons_per_sample = [0] * len(layers)
    outputs = []
    device = _device(snn)
    with _evaluating(snn), _recording(layers) as slots:
        for xb, _ in data.batches(x, y, batch_size):
            outputs.append(snn(encoding.encode(xb.to(device), timesteps_max)).cpu())
            for i, (current, out) in enumerate(slots):
                stats = _layer_statistics(layers[i], current, out, grid)
                sums[i] = [a + b for a, b in zip(sums[i], stats, strict=True)] if sums[i] else stats
                neurons_per_sample[i] = out[0, 0].numel()
    records = [LayerRecord(s[0] / (len(x) * n), s[1] / (len(x) * n), s[2] / len(x),
                           dict(zip(grid, s[3:], strict=True)))
               for s, n in zip(sums, neurons_per_sample, strict=True)]
    return Simulation(measure.accuracy_per_timestep(torch.cat(outputs, 1), y), records)


def _check_timesteps(timesteps: int) -> None:
    if not (isinstance(timesteps, int) and timesteps >= 1):
        raise ValueError(f"timesteps must be an integer ≥ 1, got {timesteps!r}")


# --- the method: train the ANN, convert, measure ---------------------------------------------

def activation(config: Config) -> models.Activation:
    """The ANN activation of each variant (same architecture and seed otherwise)."""
    if config.variant == "threshold-balancing":
        return nn.ReLU
    if config.variant == "qcfs":
        return lambda: QCFS(config.levels, config.threshold_init)
    std = 0.0 if config.noise_calibration == "fitted" else config.noise_std
    return lambda: ResidualNoise(config.levels, config.threshold_init,
                                 noise=NoiseModel(config.noise, std))


def _forward(model: nn.Module, x: Tensor) -> Tensor:
    return model(x)


def train_ann(config: Config, split: data.Split, device: torch.device | None = None,
              progress: training.Progress | None = None) -> tuple[nn.Sequential, list[float]]:
    """Build (seeded) and train the variant's ANN; returns it and the loss per epoch.

    Residual noise with fitted σ follows the authors' code: the first epoch has no noise, and
    before each later epoch σ per layer is refitted on the current network's SNN at
    `calibration_timesteps`, from the first CALIBRATION_SAMPLES training images.
    """
    training.seed_everything(config.seed)
    ann = models.build(config.arch, split.image_shape, split.num_classes, activation(config))
    step = None
    if config.variant == "residual-noise" and config.noise_calibration == "fitted":
        step = _refitting_step(config, split.x_train[:CALIBRATION_SAMPLES],
                               -(-len(split.y_train) // config.batch_size))
    history = training.train(ann, split, _forward, epochs=config.epochs, lr=config.lr,
                             batch_size=config.batch_size, seed=config.seed, device=device,
                             step=step, progress=progress)
    return ann, history


def _refitting_step(config: Config, x_calibration: Tensor, batches_per_epoch: int):
    """The default training step, with `fit_noise` before the first batch of epochs 2, 3, ..."""
    default = training.default_step(_forward)
    count = {"batches": 0}

    def step(model: nn.Module, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer) -> float:
        if count["batches"] and count["batches"] % batches_per_epoch == 0:
            fit_noise(model, x_calibration, config.calibration_timesteps, config.v_init,
                      config.noise_mean)
        count["batches"] += 1
        return default(model, x, y, optimizer)

    return step


@dataclass
class Outcome:
    """Everything one run produces; `run` stores a summary of it."""

    config: Config
    ann: nn.Sequential
    snn: nn.Sequential
    ann_accuracy: float
    simulation: Simulation
    thresholds: list[float]
    gaps: list[Gap]  # measured at calibration_timesteps on the trained network
    loss_per_epoch: list[float]
    timings: dict[str, float]

    @property
    def noise_std(self) -> list[float]:
        """σ per layer (units of θ) that the last training epoch used; 0 without noise."""
        return [a.noise.std if isinstance(a, ResidualNoise) else 0.0
                for a in activation_layers(self.ann)]


def experiment(config: Config, progress: training.Progress | None = None,
               split: data.Split | None = None, ann: nn.Sequential | None = None) -> Outcome:
    """Train the variant's ANN (or take the trained `ann`), convert it, simulate to T_max."""
    device = cfg.resolve_device(config.device)
    split = split or data.load(config.dataset, seed=config.seed)
    fraction = (lambda f, msg: progress(0.9 * f, msg)) if progress else None
    history: list[float] = []
    with measure.wall_time() as train_time:
        if ann is None:
            ann, history = train_ann(config, split, device, fraction)
    x_calibration = split.x_train[:CALIBRATION_SAMPLES]
    thresholds = (threshold_balance(ann, x_calibration, config.percentile)
                  if config.variant == "threshold-balancing" else None)
    snn = convert(ann, thresholds, config.v_init)
    if progress:
        progress(0.9, f"simulating T = 1..{config.timesteps}")
    with measure.wall_time() as test_time:
        logits = training.predict(ann, split.x_test, _forward, device=device)
        simulation = simulate_accuracy(snn, split.x_test, split.y_test, config.timesteps)
    gaps = residual_gap(ann, snn, x_calibration, config.calibration_timesteps)
    return Outcome(config, ann, snn, measure.accuracy(logits, split.y_test), simulation,
                   [float(n.threshold) for n in models.spiking_layers(snn)], gaps, history,
                   {"train_s": train_time["s"], "test_s": test_time["s"]})


def run(config: Config, progress: training.Progress | None = None) -> dict:
    """Train, convert and measure; metrics, curves (per T and per layer) and timings."""
    split = data.load(config.dataset, seed=config.seed)
    out = experiment(config, progress, split)
    sim, grid = out.simulation, [T for T in TIMESTEPS if T < config.timesteps]
    grid.append(config.timesteps)
    sample = split.x_test[:256].to(_device(out.ann))
    ops = {T: measure.count_operations(out.snn, encoding.encode(sample, T)).per_sample()
           for T in grid}
    metrics = {"accuracy": sim.accuracy_at(config.timesteps), "ann_accuracy": out.ann_accuracy,
               "timesteps": config.timesteps,
               "timesteps_within_1pt": sim.timesteps_within(out.ann_accuracy),
               **{f"accuracy_T{T}": sim.accuracy_at(T) for T in grid},
               "ann_macs_per_sample": measure.count_operations(out.ann, sample).per_sample()[
                   "macs"],
               **ops[config.timesteps], "final_loss": out.loss_per_epoch[-1]}
    curves = {"accuracy_per_timestep": sim.accuracy.tolist(), "timesteps_grid": grid,
              "sops_per_sample": [ops[T]["sops"] for T in grid],
              "loss_per_epoch": out.loss_per_epoch, "threshold_per_layer": out.thresholds,
              "noise_std_per_layer": out.noise_std,
              "gap_mean_per_layer": [g.mean for g in out.gaps],
              "gap_std_per_layer": [g.std for g in out.gaps]}
    for i, layer in enumerate(sim.layers):
        curves[f"residual_outside_fraction_layer{i + 1}"] = layer.outside.tolist()
        curves[f"misrepresented_fraction_layer{i + 1}"] = layer.misrepresented.tolist()
        curves[f"spikes_per_sample_layer{i + 1}"] = layer.spikes_per_sample.tolist()
    return {"metrics": metrics, "curves": curves, "timings": out.timings}
