"""Surrogate-gradient BPTT: the reference baseline.

A LIF network (v[t] = β·v[t-1] + I[t], reset by subtraction, snnTorch's arctan surrogate for
∂s/∂v) is unrolled over T steps; the readout is the mean output current (1/T)·Σ_t y[t], trained
with cross-entropy and backpropagated through all T steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from .core import config as cfg
from .core import costs, data, encoding, measure, models, training
from .core.neurons import SpikingNeuron


@dataclass(frozen=True)
class Config:
    """Laptop defaults: digits, MLP 64-256-128-10, T=8, 3 epochs (≈ 5 s on 2 cores)."""

    dataset: str = cfg.setting("digits", choices=data.names("frames"))
    arch: str = cfg.setting("mlp", choices=models.ARCHS)
    timesteps: int = cfg.timesteps_setting(8)
    epochs: int = cfg.epochs_setting(3)
    batch_size: int = cfg.batch_size_setting()
    lr: float = cfg.lr_setting(2e-3)
    beta: float = cfg.setting(0.9, low=0.0, high=1.0, help="leak: v ← β·v + I")
    threshold: float = cfg.threshold_setting()
    encoding: str = cfg.setting("direct", choices=encoding.ENCODINGS)
    seed: int = cfg.seed_setting()
    data_seed: int = cfg.data_seed_setting()
    device: str = cfg.device_setting()

    def __post_init__(self) -> None:
        cfg.validate(self)


def spiking_model(config: Config, split: data.Split) -> nn.Sequential:
    """The ANN builder's architecture with every activation a LIF layer."""
    return networks(config, split.image_shape, split.num_classes)["snn"]


def networks(config: Config, input_shape: tuple[int, ...], num_classes: int
             ) -> dict[str, nn.Module]:
    """The untrained networks `run` returns under "models" (`lab.weights` loads into them)."""
    ann = models.build(config.arch, input_shape, num_classes)
    return {"snn": models.to_spiking(
        ann, lambda _: SpikingNeuron(threshold=config.threshold, beta=config.beta))}


def forward_over_time(config: Config):
    """x `[B, ...]` → encoded `[T, B, ...]` → output currents `[T, B, C]`.

    One `Encoder` per call: a run's rate code draws fresh spikes every batch and epoch.
    """
    encoder = encoding.Encoder(config.encoding, config.timesteps, config.seed)

    def forward(model: nn.Module, x: Tensor) -> Tensor:
        return model(encoder(x))

    return forward


def run(config: Config, progress: training.Progress | None = None) -> dict:
    """Train with BPTT; return metrics, the accuracy-per-timestep curve, costs, timings and
    the trained network (`models`, with the `architecture` that rebuilds it)."""
    device = cfg.resolve_device(config.device)
    split = data.load(config.dataset, seed=config.data_seed)
    training.seed_everything(config.seed)
    model = spiking_model(config, split)
    forward = forward_over_time(config)
    readout = lambda m, x: forward(m, x).mean(0)  # noqa: E731  (rate readout)
    with measure.timer() as train_time:
        history = training.train(model, split, readout, epochs=config.epochs, lr=config.lr,
                                 batch_size=config.batch_size, seed=config.seed, device=device,
                                 progress=progress)
    with measure.timer() as test_time:
        outputs = training.predict(model, split.x_test, forward, device=device)
    curve = measure.accuracy_per_timestep(outputs, split.y_test)
    x, y = (t[: config.batch_size].to(device) for t in (split.x_train, split.y_train))
    cost = costs.step_cost(model, costs.single_unit(readout, F.cross_entropy, x, y), len(y))
    sample = encoding.Encoder(config.encoding, config.timesteps, config.seed)(split.x_test[:256])
    return {
        "metrics": {"accuracy": float(curve[-1]), "timesteps": config.timesteps,
                    "final_loss": history[-1], **cost.metrics(),
                    **costs.inference_metrics(model.cpu().eval(), sample)},
        "curves": {"accuracy_per_timestep": curve.tolist(), "loss_per_epoch": history},
        "timings": costs.timings(train_time, test_time),
        "models": {"snn": model},
        "architecture": {"input_shape": split.image_shape, "num_classes": split.num_classes},
    }
