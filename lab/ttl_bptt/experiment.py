"""The TTL-BPTT experiment: Config, data (frames or events, time first), fit, costs, run."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import config as cfg
from ..core import costs, data, encoding, measure, models, training
from ..core.costs import StepCost
from ..events import REAL_FOLDERS
from ..events.order_gap import OrderGap
from .blocks import LocalNet, depth, spiking_model
from .step import forget_between_segments, step_cost, ttl_step

REAL_SETS = tuple(REAL_FOLDERS)  # files under `data_dir`, read by `lab.events.real`
EVENT_SETS = ("nmnist_like", "moving_digits", "order_gap", *REAL_SETS)  # what `load` reads
LOADABLE = tuple(n for n in data.names() if data.kind_of(n) == "frames" or n in EVENT_SETS)


@dataclass(frozen=True)
class Config:
    """Laptop defaults: digits rate-coded over T=8, MLP 64-256-128-10, K=2, blocks of 1 layer.

    `dataset` is a frame set (digits, mnist: rate- or direct-coded images) or an event set
    (nmnist_like, moving_digits: emulated, in `timesteps` time bins; order_gap: generated with
    `timesteps` frames, `lab.events.order_gap`; nmnist, dvsgesture: real files under
    `data_dir`, `lab.events.real`; `encoding` unused); `event_samples` is the
    number of recordings of an event set (0: the set's default size, 1500, 800 and 2000).
    `gap_min`, `gap_max`: order_gap's blank frames between its two cues (other sets ignore them).
    """

    dataset: str = cfg.setting("digits", choices=LOADABLE)
    data_dir: str = cfg.data_dir_setting()
    arch: str = cfg.setting("mlp", choices=models.ARCHS)
    timesteps: int = cfg.timesteps_setting(8)
    truncation_length: int = cfg.setting(2, low=1, high=1024, unit="steps, K ≤ timesteps")
    block_size: int = cfg.setting(1, low=1, high=64, unit="weight layers")
    carry_state: bool = cfg.setting(True, help="membranes carried (detached) across segments; "
                                    "False: reset to v[0] at every segment, in training and "
                                    "test (the control for memory older than a segment)")
    epochs: int = cfg.epochs_setting(3)
    batch_size: int = cfg.batch_size_setting()
    lr: float = cfg.lr_setting(2e-3)
    beta: float = cfg.setting(0.9, low=0.0, high=1.0, help="leak: v ← β·v + I")
    threshold: float = cfg.threshold_setting()
    encoding: str = cfg.setting("rate", choices=encoding.ENCODINGS)
    event_samples: int = cfg.setting(0, low=0, high=100_000, unit="recordings, 0: default")
    gap_min: int = cfg.setting(1, low=0, high=1024, unit="frames between cues (order_gap)")
    gap_max: int = cfg.setting(2, low=0, high=1024, unit="frames between cues (order_gap)")
    seed: int = cfg.seed_setting()
    data_seed: int = cfg.data_seed_setting()
    device: str = cfg.device_setting()

    def __post_init__(self) -> None:
        cfg.validate(self)
        cfg.one_of("dataset", self.dataset, LOADABLE)  # registered sets this module can load
        cfg.require(self.dataset not in REAL_SETS or bool(self.data_dir.strip()), "data_dir",
                    f"the folder holding {REAL_FOLDERS.get(self.dataset)}/ (tonic's layout) for "
                    f"dataset {self.dataset}", self.data_dir)
        cfg.require(1 <= self.truncation_length <= self.timesteps, "truncation_length",
                    f"in 1..timesteps = 1..{self.timesteps}", self.truncation_length)
        d = depth(self.arch)
        cfg.require(1 <= self.block_size <= d, "block_size",
                    f"in 1..depth = 1..{d} (weight layers of the {self.arch})", self.block_size)
        cfg.require(self.event_samples == 0 or self.event_samples >= 40, "event_samples",
                    "0 (the set's default) or ≥ 40", self.event_samples)
        if self.dataset == "order_gap":
            order_task(self)  # gap against timesteps: a ConfigError naming the gap


def order_task(config: Config) -> OrderGap:
    """The order_gap task of `config`: its `timesteps` frames, gaps `gap_min..gap_max`."""
    return OrderGap(timesteps=config.timesteps, gap_min=config.gap_min, gap_max=config.gap_max)


def build(config: Config, sample_shape: tuple[int, ...], num_classes: int) -> LocalNet:
    """The configured spiking network, cut into blocks of `config.block_size` layers."""
    net = spiking_model(config.arch, sample_shape, num_classes, config.beta, config.threshold)
    return LocalNet(net, config.block_size, sample_shape, num_classes)


def networks(config: Config, input_shape: tuple[int, ...], num_classes: int
             ) -> dict[str, nn.Module]:
    """The untrained network `run` returns under "models" (`lab.weights` loads into it)."""
    return {"snn": build(config, input_shape, num_classes)}


# ---- data: frames or events, always time-first into the network -------------------------------

def load(config: Config) -> tuple[data.Split, tuple[int, ...]]:
    """The dataset as a `Split` (images `[N, 1, H, W]`, or event counts `[N, T, 2, H, W]`)
    and the shape of one time step of the network's input."""
    if config.dataset == "order_gap":  # the task this config sets (gap, length, ...)
        split = order_task(config).split(config.event_samples or 2000, seed=config.data_seed)
        return split, tuple(split.x_train.shape[2:])
    from ..events import sets  # every other set, as every method loads it

    split = sets.load(config.dataset, config.data_seed, n_time_bins=config.timesteps,
                      data_dir=config.data_dir, event_samples=config.event_samples)
    if data.kind_of(config.dataset) == "frames":
        return split, split.image_shape
    return split, tuple(split.x_train.shape[2:])


def time_first(config: Config) -> Callable[[Tensor], Tensor]:
    """A batch as stored → the network's input `[T, B, ...]`: encode images, transpose events."""
    if data.kind_of(config.dataset) == "events":
        return lambda x: x.transpose(0, 1)
    return encoding.Encoder(config.encoding, config.timesteps, config.seed)


def inference(config: Config, to_input: Callable[[Tensor], Tensor]
              ) -> Callable[[nn.Module, Tensor], Tensor]:
    """`forward(model, x)` for testing: all T steps, the state carried through, or reset every
    K steps when `config.carry_state` is False (tested as trained)."""
    if config.carry_state:
        return lambda m, x: m(to_input(x))
    return lambda m, x: forget_between_segments(m, to_input(x), config.truncation_length)


@dataclass(frozen=True)
class Fit:
    """A trained network, its loss per epoch, test accuracy (%) at every T, and timings (s).

    `val_accuracy`: validation accuracy (%) over all T (NaN without a validation set), for
    choices; `full_sequence_loss`: CE of the rate readout over all T on the training set.
    """

    model: LocalNet
    loss_per_epoch: list[float]
    accuracy_per_timestep: list[float]
    timings: dict[str, float]
    val_accuracy: float = math.nan
    full_sequence_loss: float = math.nan

    @property
    def accuracy(self) -> float:
        return self.accuracy_per_timestep[-1]


def fit(config: Config, split: data.Split, sample_shape: tuple[int, ...],
        progress: training.Progress | None = None) -> Fit:
    """Train a fresh network with TTL-BPTT on `split`; test with the rate readout over all T."""
    device = cfg.resolve_device(config.device)
    training.seed_everything(config.seed)
    model = build(config, sample_shape, split.num_classes)
    to_input = time_first(config)

    def step(m: LocalNet, x: Tensor, y: Tensor, opt: torch.optim.Optimizer) -> float:
        return ttl_step(m, to_input(x), y, opt, config.truncation_length,
                        carry_state=config.carry_state)

    forward = inference(config, to_input)
    with measure.timer() as train_time:
        history = training.train(model, split, forward, epochs=config.epochs, lr=config.lr,
                                 batch_size=config.batch_size, seed=config.seed, device=device,
                                 step=step, progress=progress)
    val = math.nan
    if split.x_val is not None:  # first: choices are made on validation, the test comes last
        x_val, y_val = split.validation()
        own = inference(config, time_first(config))  # its own rate code: the test's unchanged
        val = measure.accuracy(training.predict(model, x_val, own, device=device).mean(0),
                               y_val)
    with measure.timer() as test_time:
        outputs = training.predict(model, split.x_test, forward, device=device)
    curve = measure.accuracy_per_timestep(outputs, split.y_test).tolist()
    rate = training.predict(model, split.x_train, forward, device=device).mean(0)
    return Fit(model.cpu(), history, curve, costs.timings(train_time, test_time), val,
               F.cross_entropy(rate, split.y_train).item())


def step_costs(config: Config, split: data.Split, sample_shape: tuple[int, ...]
               ) -> tuple[StepCost, StepCost]:
    """(TTL, full BPTT) costs of one step on the first training batch, on the CPU.

    Memory and MACs depend on shapes only, so fresh networks stand in for trained ones.
    """
    x = time_first(config)(split.x_train[: config.batch_size])
    y = split.y_train[: config.batch_size]
    training.seed_everything(config.seed)
    ttl = step_cost(build(config, sample_shape, split.num_classes), x, y,
                    config.truncation_length)
    full = replace(config, truncation_length=config.timesteps, block_size=depth(config.arch))
    bptt = step_cost(build(full, sample_shape, split.num_classes), x, y, config.timesteps)
    return ttl, bptt


def grid(base: Config, split: data.Split, sample_shape: tuple[int, ...],
         truncation_lengths: list[int], block_sizes: list[int],
         progress: training.Progress | None = None) -> dict[tuple[int, int], Fit]:
    """`fit` for every (K, block size), all else as in `base` (same seed, same epochs)."""
    pairs = [(k, b) for k in truncation_lengths for b in block_sizes]
    fits = {}
    for i, (k, b) in enumerate(pairs):
        if progress:
            progress(i / len(pairs), f"K={k}, block size {b}")
        fits[k, b] = fit(replace(base, truncation_length=k, block_size=b), split, sample_shape)
    return fits


def run(config: Config, progress: training.Progress | None = None) -> dict:
    """Train with TTL-BPTT; measure accuracy, memory, MACs and time against full BPTT.

    `models` holds the trained network, `architecture` what rebuilds it.
    """
    split, sample_shape = load(config)
    result = fit(config, split, sample_shape, progress)
    ttl, bptt = step_costs(config, split, sample_shape)
    n_blocks = len(result.model.blocks)
    held = ttl.held_bytes
    return {
        "metrics": {"accuracy": result.accuracy, "timesteps": config.timesteps,
                    "truncation_length": config.truncation_length,
                    "block_size": config.block_size, "final_loss": result.loss_per_epoch[-1],
                    "full_sequence_loss": result.full_sequence_loss,
                    **ttl.metrics(), **bptt.metrics("bptt_"),
                    "saved_bytes_ratio": ttl.saved_bytes / bptt.saved_bytes,
                    "step_peak_ratio": ttl.step_peak_bytes / bptt.step_peak_bytes,
                    "train_macs_ratio": ttl.macs_total / bptt.macs_total,
                    **costs.inference_metrics(result.model.eval(),
                                              time_first(config)(split.x_test[:256]))},
        "curves": {"accuracy_per_timestep": result.accuracy_per_timestep,
                   "loss_per_epoch": result.loss_per_epoch,
                   "held_bytes_per_segment": [max(held[i:i + n_blocks])
                                              for i in range(0, len(held), n_blocks)]},
        "timings": result.timings,
        "models": {"snn": result.model},
        "architecture": {"input_shape": sample_shape, "num_classes": split.num_classes},
    }
