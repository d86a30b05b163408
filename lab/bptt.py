"""Surrogate-gradient BPTT: the reference baseline.

A LIF network (v[t] = β·v[t-1] + I[t], reset by subtraction, snnTorch's arctan surrogate for
∂s/∂v) is unrolled over T steps; the readout is the mean output current (1/T)·Σ_t y[t], trained
with cross-entropy and backpropagated through all T steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .core import config as cfg
from .core import data, encoding, measure, models, training
from .core.neurons import SpikingNeuron


@dataclass(frozen=True)
class Config:
    """Laptop defaults: digits, MLP 64-256-128-10, T=8, 3 epochs (≈ 5 s on 2 cores)."""

    dataset: str = "digits"
    arch: str = "mlp"
    timesteps: int = 8
    epochs: int = 3
    batch_size: int = 32
    lr: float = 2e-3
    beta: float = 0.9
    threshold: float = 1.0
    encoding: str = "direct"
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        cfg.check_common(self)
        cfg.one_of("arch", self.arch, ("mlp", "cnn"))
        cfg.one_of("encoding", self.encoding, encoding.ENCODINGS)
        cfg.require(0.0 <= self.beta <= 1.0, "beta", "in [0, 1]", self.beta)


def spiking_model(config: Config, split: data.Split) -> nn.Sequential:
    """The ANN builder's architecture with every activation a LIF layer."""
    ann = models.build(config.arch, split.image_shape, split.num_classes)
    return models.to_spiking(
        ann, lambda _: SpikingNeuron(threshold=config.threshold, beta=config.beta)
    )


def forward_over_time(config: Config):
    """x `[B, ...]` → encoded `[T, B, ...]` → output currents `[T, B, C]`."""

    def forward(model: nn.Module, x: Tensor) -> Tensor:
        return model(encoding.encode(x, config.timesteps, config.encoding, config.seed))

    return forward


def run(config: Config, progress: training.Progress | None = None) -> dict:
    """Train with BPTT; return metrics, the accuracy-per-timestep curve and timings."""
    device = cfg.resolve_device(config.device)
    split = data.load(config.dataset, seed=config.seed)
    training.seed_everything(config.seed)
    model = spiking_model(config, split)
    forward = forward_over_time(config)
    readout = lambda m, x: forward(m, x).mean(0)  # noqa: E731  (rate readout)
    with measure.wall_time() as train_time:
        history = training.train(model, split, readout, epochs=config.epochs, lr=config.lr,
                                 batch_size=config.batch_size, seed=config.seed, device=device,
                                 progress=progress)
    with measure.wall_time() as test_time:
        outputs = training.predict(model, split.x_test, forward, device=device)
    curve = measure.accuracy_per_timestep(outputs, split.y_test)
    x_mem, y_mem = split.x_train[: config.batch_size].to(device), split.y_train[
        : config.batch_size].to(device)
    model.train()
    peak = measure.peak_autograd_bytes(
        lambda: nn.functional.cross_entropy(readout(model, x_mem), y_mem), device)
    model.eval()
    sample = encoding.encode(split.x_test[:256], config.timesteps, config.encoding, config.seed)
    ops = measure.count_operations(model.cpu(), sample)
    return {
        "metrics": {"accuracy": float(curve[-1]), "timesteps": config.timesteps,
                    "peak_autograd_bytes": peak, "final_loss": history[-1],
                    **ops.per_sample()},
        "curves": {"accuracy_per_timestep": curve.tolist(), "loss_per_epoch": history},
        "timings": {"train_s": train_time["s"], "test_s": test_time["s"]},
    }
