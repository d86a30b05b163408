"""The conversion experiment: train the variant's ANN, convert it, measure at every T ≤ T_max.

Three variants share the architecture and seed: threshold balancing (ReLU ANN, θ = a
percentile of its activations), QCFS (θ = trained λ, v[0] = θ/2) and residual noise (QCFS
trained with the residual error modelled as noise, σ fitted on the converted SNN). QCFS with
`levels_equal_timesteps` is the one-network-per-latency baseline (L = T, exact at T = 1).
The mechanism is measured per layer at T = 1, 2, 4: the gap (SNN rate − ANN activation)/θ.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import (
    augment,
    cifar,
    costs,
    data,
    encoding,
    measure,
    metrics,
    models,
    operations,
    training,
)
from ..core import config as cfg
from ..core.noise import NoiseModel
from .activations import NOISE_KINDS, QCFS, ResidualNoise
from .calibration import Gap, fit_noise, residual_gap, threshold_balance
from .convert import activation_layers, check_convertible, convert
from .residual import TIMESTEPS, Simulation, simulate_accuracy

VARIANTS = ("threshold-balancing", "qcfs", "residual-noise")
CALIBRATION_SAMPLES = 1024  # training images for threshold balancing (Rueckauer et al.)
MECHANISM_TIMESTEPS = (1, 2, 4)  # T at which the per-layer gap is measured and stored
# The network kept after training. The authors keep the epoch whose SNN at T = 4 is best on the
# *test* set; 'best-validation' makes that choice on the validation images instead.
CHECKPOINTS = ("last", "best-validation")


@dataclass(frozen=True)
class Config:
    """Laptop defaults: digits, MLP 64-256-128-10, 10 epochs, L = 4, T up to 64 (≈ 5 s).

    `variant` picks the method (the CLI's `--variant`; `--method` names the lab method).
    Thresholds and σ are in units of θ where they are ratios: `v_init` (v[0] = v_init·θ; 0 is
    classic threshold balancing, 0.5 QCFS's shift), `noise_std` (fixed σ). With
    `noise_calibration='fitted'` σ per layer is the std of the gap measured on the SNN, on the
    validation images, at `calibration_timesteps`; its default 0 means T = L, the authors'
    setting (T = L = 4). (Until issue 15 the default was T = 1; notebook 02 shows that choice.)
    `noise_mean` also shifts the noise by the mean gap (the authors measure it, use σ only).

    The architecture: `depth` hidden weight layers for the MLP (widths 2w, w, ..., w), conv
    layers for the VGG-style CNN (average pooling; its classifier's hidden Linear on top),
    `width` w (`width_profile` uniform: w, ..., w), and `batch_norm` after every hidden weight
    layer, folded into that layer at conversion. λ starts at `threshold_init` = 2, a lab
    variant: the authors' 8 (their SGD at 0.05 for 400 epochs moves λ) hardly moves under the
    lab's Adam at 1e-3 in 10 epochs (8 → 7.9); it left the default MLP at chance after 2 epochs
    and a depth-4 BatchNorm MLP near chance at T ≤ 2 (measured; the preset uses 8). The defaults
    (depth 2, width 128, no BatchNorm) are the MLP 256-128 and the CNN 16-32 + 128 of before.
    `levels_equal_timesteps` sets L = `timesteps`
    (QCFS with L = T: one network per latency; `levels` is then unused).

    The paper's setting (README, "The paper's setting"; preset `vgg16-cifar10`): `dataset`
    cifar10 or cifar100 read from `data_dir` (fetched there only with `download`), `arch` vgg16,
    resnet18 or resnet20 (their own depth; `width` scales the standard channels by w/128, so the
    default 128 is the standard network), `recipe` authors (SGD, momentum 0.9, weight decay 5e-4,
    cosine schedule, at `lr`: theirs is 0.05; crop, flip and Cutout on image sets) and `device`.
    """

    variant: str = cfg.setting("residual-noise", choices=VARIANTS)
    dataset: str = cfg.setting("digits", choices=data.names("frames") + data.names("images"))
    data_dir: str = cfg.data_dir_setting()
    download: bool = cfg.setting(False, help="fetch CIFAR into data_dir when its files are "
                                 "missing (needs torchvision and a network)")
    arch: str = cfg.setting("mlp", choices=models.ARCHS)
    depth: int = cfg.setting(models.DEFAULT_DEPTH, low=models.DEPTH_RANGE[0],
                             high=models.DEPTH_RANGE[1],
                             unit="hidden layers (MLP) or conv layers (CNN); vgg16 and the "
                                  "resnets have their own")
    width: int = cfg.setting(models.DEFAULT_WIDTH, low=1, high=4096, unit="units",
                             help="w: MLP hidden layers 2w, w, ...; CNN convs from w/8 channels, "
                                  "classifier w; vgg16/resnet18/resnet20: standard channels "
                                  "× w/128")
    width_profile: str = cfg.setting("tapered", choices=models.WIDTH_PROFILES,
                                     help="MLP hidden widths: tapered 2w, w, ..., w (the lab's); "
                                          "uniform w, ..., w")
    batch_norm: bool = cfg.setting(False, help="BatchNorm in training, folded at conversion")
    timesteps: int = cfg.timesteps_setting(64, help="T_max: the SNN runs once, read at every T")
    levels: int = cfg.setting(4, low=1, high=256, unit="L, quantization levels")
    levels_equal_timesteps: bool = cfg.setting(False, help="L = timesteps: one network per "
                                               "latency (levels unused)")
    threshold_init: float = cfg.setting(2.0, low=1e-3, high=1e3, unit="λ at initialisation",
                                        help="2: a lab variant; the authors start at 8 (preset "
                                             "vgg16-cifar10), which leaves the lab's short Adam "
                                             "runs near chance (docs/fidelity-conversion.md)")
    percentile: float = cfg.setting(99.9, low=1e-3, high=100.0, unit="%",
                                    help="threshold balancing: θ = this percentile")
    v_init: float = cfg.setting(0.5, low=0.0, high=0.999, unit="θ", help="v[0] = v_init·θ")
    noise: str = cfg.setting("gaussian", choices=NOISE_KINDS)
    noise_calibration: str = cfg.setting("fitted", choices=("fitted", "fixed"))
    noise_std: float = cfg.setting(0.1, low=0.0, high=10.0, unit="θ", help="σ when fixed")
    noise_mean: bool = cfg.setting(False)
    calibration_timesteps: int = cfg.setting(0, low=0, high=1024, unit="steps",
                                             help="T at which σ is fitted; 0: T = L")
    epochs: int = cfg.epochs_setting(10)
    checkpoint: str = cfg.setting("last", choices=CHECKPOINTS,
                                  help="the ANN kept: the last epoch's, or the epoch whose SNN at "
                                       "the calibration T is best on validation")
    batch_size: int = cfg.batch_size_setting()
    recipe: str = cfg.setting("lab", choices=tuple(training.RECIPES),
                              help="lab: Adam, constant rate; authors: SGD momentum 0.9, weight "
                                   "decay 5e-4, cosine schedule, crop/flip/Cutout on CIFAR")
    lr: float = cfg.setting(1e-3, low=1e-6, high=10.0,
                            help="learning rate: Adam's (recipe lab) or SGD's (recipe authors; "
                                 "theirs is 0.05)")
    seed: int = cfg.seed_setting()
    data_seed: int = cfg.data_seed_setting()
    device: str = cfg.device_setting()

    def __post_init__(self) -> None:
        cfg.validate(self)
        cfg.require(data.kind_of(self.dataset) != "images" or bool(self.data_dir.strip()),
                    "data_dir", f"the folder holding {cifar.FOLDERS.get(self.dataset)}/ for "
                    f"dataset {self.dataset} (or any folder, with --download)", self.data_dir)
        cfg.require(self.checkpoint == "last" or self.variant != "threshold-balancing",
                    "checkpoint", "'last' for threshold-balancing (its θ come after training)",
                    self.checkpoint)

    @property
    def quantization_levels(self) -> int:
        """L of the QCFS activation: `timesteps` with `levels_equal_timesteps`, else `levels`."""
        return self.timesteps if self.levels_equal_timesteps else self.levels

    @property
    def fit_timesteps(self) -> int:
        """T at which σ is fitted: `calibration_timesteps`, or L when it is 0."""
        return self.calibration_timesteps or self.quantization_levels


def activation(config: Config) -> models.Activation:
    """The ANN activation of each variant (same architecture and seed otherwise)."""
    if config.variant == "threshold-balancing":
        return nn.ReLU
    if config.variant == "qcfs":
        return lambda: QCFS(config.quantization_levels, config.threshold_init)
    std = 0.0 if config.noise_calibration == "fitted" else config.noise_std
    return lambda: ResidualNoise(config.quantization_levels, config.threshold_init,
                                 noise=NoiseModel(config.noise, std))


def networks(config: Config, input_shape: tuple[int, ...], num_classes: int
             ) -> dict[str, nn.Module]:
    """The untrained networks `run` returns under "models" (`lab.weights` loads into them).

    The SNN's θ are placeholders until the weights (its θ buffers) are loaded.
    """
    ann = build_ann(config, input_shape, num_classes)
    thresholds = ([1.0] * len(activation_layers(ann)) if config.variant == "threshold-balancing"
                  else None)
    return {"ann": ann, "snn": convert(ann, thresholds, config.v_init)}


def build_ann(config: Config, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """The variant's untrained ANN at the config's depth, width and BatchNorm; a network that
    could not be converted is refused here, before any training."""
    ann = models.build(config.arch, input_shape, num_classes, activation(config),
                       depth=config.depth, width=config.width, batch_norm=config.batch_norm,
                       width_profile=config.width_profile)
    check_convertible(ann)
    return ann


def load_split(config: Config) -> data.Split:
    """The config's dataset, split with its data seed (CIFAR: read from `data_dir`)."""
    return data.load(config.dataset, seed=config.data_seed, data_dir=config.data_dir,
                     download=config.download)


def _forward(model: nn.Module, x: Tensor) -> Tensor:
    return model(x)


def train_ann(config: Config, split: data.Split, device: torch.device | None = None,
              progress: training.Progress | None = None) -> tuple[nn.Sequential, list[float]]:
    """Build (seeded) and train the variant's ANN; returns it and the loss per epoch.

    Residual noise with fitted σ follows the authors' code: the first epoch has no noise, and
    before each later epoch σ per layer is refitted on the current network's SNN at
    `config.fit_timesteps`, on the validation images (held out: docs/methods.md §1, §6). With
    `checkpoint='best-validation'` the returned ANN is that of the epoch whose SNN at
    `fit_timesteps` was most accurate on the validation images (the first such epoch). The
    returned network's `checkpoint_epoch` says which epoch it is (1-based).
    """
    training.seed_everything(config.seed)
    ann = build_ann(config, split.image_shape, split.num_classes)
    step = None
    if config.variant == "residual-noise" and config.noise_calibration == "fitted":
        step = _refitting_step(config, split.validation()[0],
                               -(-len(split.y_train) // config.batch_size))
    images = data.kind_of(config.dataset) == "images"
    best = _BestOnValidation(config, *split.validation(), device) if (
        config.checkpoint == "best-validation") else None
    history = training.train(ann, split, _forward, epochs=config.epochs, lr=config.lr,
                             batch_size=config.batch_size, seed=config.seed, device=device,
                             step=step, progress=progress, recipe=training.RECIPES[config.recipe],
                             augment=augment.crop_flip_cutout if config.recipe == "authors"
                             and images else None, epoch_end=best)
    kept = best.model if best else ann
    kept.checkpoint_epoch = best.epoch + 1 if best else config.epochs  # 1-based, stored by run
    return kept, history


class _BestOnValidation:
    """An `epoch_end` hook that keeps a copy of the network whose SNN at T is most accurate on
    the validation images."""

    def __init__(self, config: Config, x_val: Tensor, y_val: Tensor,
                 device: torch.device | None) -> None:
        self.config, self.x, self.y, self.device = config, x_val, y_val, device
        self.accuracy, self.epoch, self.model = -1.0, -1, None

    def __call__(self, model: nn.Module, epoch: int) -> None:
        T = self.config.fit_timesteps
        snn = convert(model, v_init=self.config.v_init)
        logits = training.predict(snn, self.x, lambda m, x: m(encoding.direct(x, T)).mean(0),
                                  device=self.device)
        accuracy = measure.accuracy(logits, self.y)
        if accuracy > self.accuracy:
            self.accuracy, self.epoch, self.model = accuracy, epoch, copy.deepcopy(model).eval()


def _refitting_step(config: Config, x_calibration: Tensor, batches_per_epoch: int):
    """The default training step, with `fit_noise` before the first batch of epochs 2, 3, ..."""
    default = training.default_step(_forward)
    count = {"batches": 0}

    def step(model: nn.Module, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer) -> float:
        if count["batches"] and count["batches"] % batches_per_epoch == 0:
            fit_noise(model, x_calibration, config.fit_timesteps, config.v_init,
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
    gaps: list[Gap]  # measured at config.fit_timesteps on the trained network, validation
    loss_per_epoch: list[float]
    timings: dict[str, float]
    val_ann_accuracy: float = float("nan")  # the choices ("first T within 1 point") use these
    val_accuracy: Tensor | None = None  # [T_max], the SNN on the validation images
    gaps_at: dict[int, list[Gap]] | None = None  # T → gap per layer, test images
    ann_accuracy_noise_on: float | None = None  # residual noise: the authors' "ANN" column

    @property
    def noise_std(self) -> list[float]:
        """σ per layer (units of θ) that the last training epoch used; 0 without noise."""
        return [a.noise.std if isinstance(a, ResidualNoise) else 0.0
                for a in activation_layers(self.ann)]


def accuracy_with_noise(ann: nn.Module, x: Tensor, y: Tensor, seed: int,
                        device: torch.device | None = None) -> float:
    """Test accuracy (%) of the ANN with its residual noise on and BatchNorm in eval mode.

    This is how the authors report their "ANN" column (their `eval_ann` leaves MPLayer's
    `train_mode` on, so QCFS(z) − σ·ε is evaluated); the network converted is the noiseless one
    (`Outcome.ann_accuracy`). The noise is drawn from a generator seeded with `seed`.
    """
    noisy = [a for a in activation_layers(ann) if isinstance(a, ResidualNoise)]

    def forward(model: nn.Module, xb: Tensor) -> Tensor:
        for layer in noisy:
            layer.train()
        try:
            return model(xb)
        finally:
            for layer in noisy:
                layer.eval()

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if device is not None and device.type == "cuda":
            torch.cuda.manual_seed_all(seed)
        return measure.accuracy(training.predict(ann, x, forward, device=device), y)


def experiment(config: Config, progress: training.Progress | None = None,
               split: data.Split | None = None, ann: nn.Sequential | None = None) -> Outcome:
    """Train the variant's ANN (or take the trained `ann`), convert it, simulate to T_max."""
    device = cfg.resolve_device(config.device)
    split = split or load_split(config)
    fraction = (lambda f, msg: progress(0.9 * f, msg)) if progress else None
    history: list[float] = []
    with measure.timer() as train_time:
        if ann is None:
            ann, history = train_ann(config, split, device, fraction)
    x_calibration = split.x_train[:CALIBRATION_SAMPLES]
    thresholds = (threshold_balance(ann, x_calibration, config.percentile)
                  if config.variant == "threshold-balancing" else None)
    snn = convert(ann, thresholds, config.v_init)
    if progress:
        progress(0.9, f"simulating T = 1..{config.timesteps}")
    with measure.timer() as test_time:
        logits = training.predict(ann, split.x_test, _forward, device=device)
        simulation = simulate_accuracy(snn, split.x_test, split.y_test, config.timesteps)
    x_val, y_val = split.validation()
    val_ann = measure.accuracy(training.predict(ann, x_val, _forward, device=device), y_val)
    val_curve = simulate_accuracy(snn, x_val, y_val, config.timesteps).accuracy
    gaps = residual_gap(ann, snn, x_val, config.fit_timesteps)
    gaps_at = {T: residual_gap(ann, snn, split.x_test, T) for T in MECHANISM_TIMESTEPS}
    noise_on = (accuracy_with_noise(ann, split.x_test, split.y_test, config.seed, device)
                if config.variant == "residual-noise" else None)
    return Outcome(config, ann, snn, measure.accuracy(logits, split.y_test), simulation,
                   [float(n.threshold) for n in models.spiking_layers(snn)], gaps, history,
                   costs.timings(train_time, test_time), val_ann, val_curve, gaps_at, noise_on)


def _points(difference: float) -> float:
    """A difference of two accuracies (%) without the float32 rounding (~1e-5 points) between
    them: equal predictions give 0.0, not -2e-06. One image of 10,000 is 0.01 points."""
    return round(difference, 4) + 0.0


def run(config: Config, progress: training.Progress | None = None) -> dict:
    """Train, convert and measure; metrics, curves (per T and per layer), costs and timings.

    Training costs are the ANN's (the network trained); inference costs are the SNN's at T.
    `models` holds the trained ANN and its SNN, `architecture` what rebuilds them.
    """
    split = load_split(config)
    out = experiment(config, progress, split)
    sim, grid = out.simulation, [T for T in TIMESTEPS if T < config.timesteps]
    grid.append(config.timesteps)
    device = models.device_of(out.ann)
    sample = split.x_test[:256].to(device)
    sops = [operations.count_operations(out.snn, encoding.direct(sample, T)).per_sample()["sops"]
            for T in grid]
    x, y = (t[: config.batch_size].to(device) for t in (split.x_train, split.y_train))
    ann = out.ann.train()  # the noise is on in the measured training step, as in training
    cost = costs.step_cost(ann, costs.single_unit(_forward, F.cross_entropy, x, y), len(y))
    out.ann.eval()
    values = {"accuracy": sim.accuracy_at(config.timesteps), "ann_accuracy": out.ann_accuracy,
              "timesteps": config.timesteps,
              "timesteps_within_1pt_of_ann": metrics.timesteps_within(out.val_accuracy,
                                                                      out.val_ann_accuracy),
              **{f"accuracy_T{T}": sim.accuracy_at(T) for T in grid},
              **{f"conversion_loss_T{T}": _points(out.ann_accuracy - sim.accuracy_at(T))
                 for T in grid},
              "ann_macs": operations.count_operations(out.ann, sample).per_sample()["macs"],
              **cost.metrics(),
              **costs.inference_metrics(out.snn, encoding.direct(sample, config.timesteps)),
              "final_loss": out.loss_per_epoch[-1]}
    if out.ann_accuracy_noise_on is not None:
        values["ann_accuracy_noise_on"] = out.ann_accuracy_noise_on
    if hasattr(out.ann, "checkpoint_epoch"):
        values["checkpoint_epoch"] = out.ann.checkpoint_epoch
    curves = {"accuracy_per_timestep": sim.accuracy.tolist(), "timesteps_grid": grid,
              "sops_per_sample": sops,
              "loss_per_epoch": out.loss_per_epoch, "threshold_per_layer": out.thresholds,
              "noise_std_per_layer": out.noise_std,
              "gap_mean_per_layer": [g.mean for g in out.gaps],
              "gap_std_per_layer": [g.std for g in out.gaps]}
    for T, gaps in out.gaps_at.items():
        curves[f"gap_mean_per_layer_T{T}"] = [g.mean for g in gaps]
        curves[f"gap_std_per_layer_T{T}"] = [g.std for g in gaps]
    for i, layer in enumerate(sim.layers):
        curves[f"residual_outside_fraction_layer{i + 1}"] = layer.outside.tolist()
        curves[f"misrepresented_fraction_layer{i + 1}"] = layer.misrepresented.tolist()
        curves[f"spikes_per_sample_layer{i + 1}"] = layer.spikes_per_sample.tolist()
    return {"metrics": values, "curves": curves, "timings": out.timings,
            "models": {"ann": out.ann, "snn": out.snn},
            "architecture": {"input_shape": split.image_shape, "num_classes": split.num_classes}}
