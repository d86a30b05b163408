"""Noise-based single-step training, then the same weights as an IF network for N steps.

Jiang & Zhang (Neural Comput. 2023). Every hidden neuron fires once, at T = 1, from a noisy
start, and passes θ·s on:

    v = v0 + n + I;   s = H(v − θ);   out = θ·s        (n: zero-mean noise, training only)

with v0 = v_init·θ and a surrogate gradient for H. The noise n stands in for the residual
membrane potential a multi-step IF neuron carries between steps. The identity behind it: if the
starting potential v0 + n is uniform on [0, θ) (the ideal residual; v_init = 1/2 with `uniform`
noise), then E[s] = P(I + v0 + n ≥ θ) = clip(I/θ, 0, 1), which is the rate Σs/N that the IF
neuron reaches over N steps (with error at most 1/N). So after training, the same weights run
as IF neurons (β = 1, reset by subtraction, `scale_output=True`, the same v_init) for N steps
with the noise off; the carried membrane potential takes the noise's place.

The identity holds per neuron. Between layers E[f(s)] ≠ f(E[s]), and every layer after the
first receives spike trains whose timing is uneven: the residual error of conversion.
`layer_gaps` measures it the way `lab.conversion` does, against `expected_network` (every neuron
replaced by its expected output θ·E[s], layer after layer).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .conversion.activations import ClippedReLU
from .conversion.calibration import Gap, residual_gap
from .core import config as cfg
from .core import costs, data, encoding, measure, metrics, models, training
from .core.neurons import (
    NeuronParams,
    NeuronState,
    SpikeFn,
    SpikingNeuron,
    default_surrogate,
    simulate,
    step,
)
from .core.noise import NOISE_KINDS, NoiseModel

NOISES = NOISE_KINDS


@dataclass(frozen=True)
class Config:
    """Laptop defaults: digits, MLP 64-256-128-10, Gaussian noise σ = 0.3·θ, 5 epochs, N ≤ 32.

    `noise`: gaussian, uniform or none (`lab.core.noise`); `noise_std` σ is in units of θ for
    both kinds. 0.3 ≈ 1/√12, the standard deviation of the ideal residual U[0, θ), so the
    Gaussian matches that distribution's mean (v_init = 1/2) and spread; it is also the σ whose
    E[s] stays closest to clip(I/θ) (largest gap 0.048). Uniform noise with σ = 1/√12
    (`IDEAL_RESIDUAL_STD`) makes v0 + n uniform on [0, θ) at v_init = 1/2: the exact identity.
    `timesteps` is N_max: the IF network is run once for N_max steps and the accuracy is read at
    every N ≤ N_max. `v_init` (units of θ) is the starting potential both at T = 1 and at T = N.
    """

    dataset: str = cfg.setting("digits", choices=data.names("frames"))
    arch: str = cfg.setting("mlp", choices=models.ARCHS)
    noise: str = cfg.setting("gaussian", choices=NOISE_KINDS)
    noise_std: float = cfg.setting(0.3, low=0.0, high=10.0, unit="θ", help="σ of the noise")
    threshold: float = cfg.threshold_setting()
    v_init: float = cfg.setting(0.5, low=0.0, high=0.999, unit="θ", help="v[0] = v_init·θ")
    timesteps: int = cfg.timesteps_setting(32, help="N_max: the IF network runs once")
    epochs: int = cfg.epochs_setting(5)
    batch_size: int = cfg.batch_size_setting()
    lr: float = cfg.lr_setting(2e-3)
    seed: int = cfg.seed_setting()
    data_seed: int = cfg.data_seed_setting()
    device: str = cfg.device_setting()

    def __post_init__(self) -> None:
        cfg.validate(self)


def noise_model(noise: str, noise_std: float) -> NoiseModel:
    """The core's noise model; ConfigError naming `noise` or `noise_std` when out of range."""
    cfg.one_of("noise", noise, NOISES)
    cfg.require(math.isfinite(noise_std) and noise_std >= 0, "noise_std", "≥ 0 (units of θ)",
                noise_std)
    return NoiseModel(noise, noise_std)


# --- the identity, for one neuron ------------------------------------------------------------

def expected_spike(current: Tensor, noise: str, noise_std: float, threshold: float = 1.0,
                   v_init: float = 0.5) -> Tensor:
    """E[s] = P(I + v0 + n ≥ θ) in closed form, n = θ·e (`NoiseModel.cdf_above`).

    gaussian: Φ((I + v0 − θ)/(σθ)); uniform with σ = 1/√12 and v_init = 1/2: clip(I/θ, 0, 1);
    none: H(I + v0 − θ).
    """
    margin = (current + v_init * threshold - threshold) / threshold
    return noise_model(noise, noise_std).cdf_above(margin)


def monte_carlo_spike(current: Tensor, noise: str, noise_std: float, threshold: float = 1.0,
                      v_init: float = 0.5, samples: int = 10_000, seed: int = 0) -> Tensor:
    """The mean single-step spike over `samples` noise draws: an estimate of `expected_spike`."""
    n = threshold * noise_model(noise, noise_std).sample(
        (samples, *current.shape), torch.Generator().manual_seed(seed))
    return (current + v_init * threshold + n >= threshold).to(current.dtype).mean(0)


def if_rate(current: Tensor, timesteps: int, threshold: float = 1.0,
            v_init: float = 0.5) -> Tensor:
    """Rate Σ_{t≤N} s[t] / N of an IF neuron under constant current, for every N ≤ `timesteps`.

    Returns `[timesteps, ...]`. With v0 = 0 it is floor(N·I/θ)/N (never above I/θ); with
    v0 = θ/2 it rounds; both are within 1/N of clip(I/θ, 0, 1).
    """
    drive = encoding.direct(current, timesteps)
    spikes = simulate(drive, NeuronParams(threshold, v_init=v_init)).spikes
    counts = torch.arange(1, timesteps + 1, dtype=current.dtype).reshape(-1, *[1] * current.dim())
    return spikes.cumsum(0) / counts


# --- the single-step network and its T = N counterpart ---------------------------------------

class SingleStepNeuron(nn.Module):
    """One IF step from a noisy start: v = v0 + n + I;  s = H(v − θ);  output θ·s.

    The noise n = θ·e (`lab.core.noise`) is drawn only in training mode, from torch's global
    generator (seeded by the training loop). `is_activation` lets `models.to_spiking`
    replace it by an IF `SpikingNeuron`.
    """

    is_activation = True

    def __init__(self, threshold: float = 1.0, v_init: float = 0.5, noise: str = "gaussian",
                 noise_std: float = 0.3, spike_fn: SpikeFn | None = None) -> None:
        super().__init__()
        self.noise_model = noise_model(noise, noise_std)
        self.register_buffer("threshold", torch.as_tensor(threshold, dtype=torch.float32))
        self.v_init, self.noise, self.noise_std = v_init, noise, noise_std
        self.spike_fn = spike_fn or default_surrogate()

    def forward(self, current: Tensor) -> Tensor:
        params = NeuronParams(self.threshold, beta=1.0, v_init=self.v_init)
        v0 = torch.zeros_like(current) + self.v_init * self.threshold
        if self.training:
            v0 = v0 + self.threshold * self.noise_model.sample(current.shape,
                                                               device=current.device)
        s, _ = step(current, NeuronState(v0), params, spike_fn=self.spike_fn)
        return s * self.threshold

    def extra_repr(self) -> str:
        return f"noise={self.noise}, noise_std={self.noise_std}·θ, v_init={self.v_init}·θ"


class ExpectedSpike(ClippedReLU):
    """The single-step neuron averaged over its noise: h(I) = θ·E[s] = θ·P(I + v0 + n ≥ θ),
    `[B, ...]` → `[B, ...]`. With v0 + n uniform on [0, θ) it is the clipped ReLU exactly (the
    identity); Gaussian noise rounds its corners. A `ClippedReLU` (λ = θ), so that
    `lab.conversion.residual_gap` reads it as the ANN activation the SNN is compared with."""

    def __init__(self, threshold: float = 1.0, v_init: float = 0.5, noise: str = "gaussian",
                 noise_std: float = 0.3) -> None:
        super().__init__(threshold)
        self.v_init, self.noise_model = v_init, noise_model(noise, noise_std)

    def forward(self, current: Tensor) -> Tensor:
        theta = self.threshold
        return theta * self.noise_model.cdf_above((current + (self.v_init - 1) * theta) / theta)


def expected_network(model: nn.Sequential) -> nn.Sequential:
    """f(E[s]) layer after layer: `model` (a copy) with each `SingleStepNeuron` an `ExpectedSpike`
    of its θ, v_init and noise — the function the identity says the T = N network computes."""
    return nn.Sequential(*[
        ExpectedSpike(float(m.threshold), m.v_init, m.noise, m.noise_std)
        if isinstance(m, SingleStepNeuron) else copy.deepcopy(m) for m in model.children()])


def layer_gaps(model: nn.Sequential, x: Tensor, timesteps: int) -> list[Gap]:
    """Per hidden layer, the gap (IF rate over N steps − θ·E[s] of `expected_network`)/θ.

    Both networks see the images `x` `[B, ...]`, as in `lab.conversion.residual_gap`: a layer's
    gap holds its own error and the error it inherits. The first layer's input is constant, so
    its gap is the identity's own error (quantization to θ/N, and the Gaussian's rounded
    corners); later layers add the residual error of spikes arriving unevenly.

        >>> split = data.load("digits")
        >>> model = single_step_model(Config(), split)     # untrained here; trained in `run`
        >>> gaps = layer_gaps(model, split.x_test[:16], 4)  # [Gap(mean, std)] per hidden layer
        >>> len(gaps), type(gaps[0]).__name__
        (2, 'Gap')
    """
    return residual_gap(expected_network(model), to_multi_step(model), x, timesteps)


def single_step_model(config: Config, split: data.Split) -> nn.Sequential:
    """The lab's architecture with every activation a `SingleStepNeuron` (input `[B, ...]`)."""
    return networks(config, split.image_shape, split.num_classes)["single_step"]


def networks(config: Config, input_shape: tuple[int, ...], num_classes: int
             ) -> dict[str, nn.Module]:
    """The untrained networks `run` returns under "models" (`lab.weights` loads into them):
    the T = 1 network and its multi-step IF network."""
    single = models.build(config.arch, input_shape, num_classes, lambda: SingleStepNeuron(
        config.threshold, config.v_init, config.noise, config.noise_std))
    return {"single_step": single, "snn": to_multi_step(single)}


def to_multi_step(model: nn.Sequential, v_init: float | None = None) -> nn.Sequential:
    """The same weights as an IF network over `[T, B, ...]`, noise off.

    Each neuron keeps θ and (unless `v_init` is given, in units of θ) its v_init, and emits θ·s
    (`scale_output=True`) as the single-step neuron did, so the next layer sees the rate
    θ·Σs/N in place of E[θ·s] at T = 1.
    """
    return models.to_spiking(model, lambda m: SpikingNeuron(
        float(m.threshold), beta=1.0, v_init=m.v_init if v_init is None else v_init,
        scale_output=True))


def multi_step_forward(timesteps: int):
    """x `[B, ...]` → constant input for N steps `[N, B, ...]` → output currents `[N, B, C]`."""
    cfg.positive("timesteps", timesteps)

    def forward(model: nn.Module, x: Tensor) -> Tensor:
        return model(encoding.direct(x, timesteps))

    return forward


def single_step_forward(model: nn.Module, x: Tensor) -> Tensor:
    """The T = 1 network: x `[B, ...]` → logits `[B, C]` (one step, no time axis)."""
    return model(x)


def accuracy_per_timestep(model: nn.Sequential, split: data.Split, timesteps: int,
                          v_init: float | None = None, device: torch.device | None = None,
                          subset: str = "test") -> Tensor:
    """Accuracy (%) of `to_multi_step(model, v_init)` at every N ≤ `timesteps`, one run, on the
    `subset` 'test' or 'validation' images."""
    cfg.one_of("subset", subset, ("test", "validation"))
    x, y = (split.x_test, split.y_test) if subset == "test" else split.validation()
    snn = to_multi_step(model.cpu(), v_init)
    outputs = training.predict(snn, x, multi_step_forward(timesteps), device=device)
    return measure.accuracy_per_timestep(outputs, y)


@dataclass
class Outcome:
    """One trained single-step network and its accuracy at T = 1 and at every N ≤ N_max."""

    config: Config
    model: nn.Sequential
    accuracy_t1: float
    accuracy_per_timestep: Tensor
    loss_per_epoch: list[float]
    timings: dict[str, float]
    val_accuracy_per_timestep: Tensor | None = None  # choices (e.g. N) are made on these


def experiment(config: Config, progress: training.Progress | None = None,
               split: data.Split | None = None) -> Outcome:
    """Train at T = 1 with noise (seeded), then run the same weights for N ≤ N_max steps."""
    device = cfg.resolve_device(config.device)
    split = split or data.load(config.dataset, seed=config.data_seed)
    training.seed_everything(config.seed)
    model = single_step_model(config, split)
    with measure.timer() as train_time:
        history = training.train(model, split, single_step_forward, epochs=config.epochs,
                                 lr=config.lr, batch_size=config.batch_size, seed=config.seed,
                                 device=device, progress=progress)
    logits = training.predict(model, split.x_test, single_step_forward, device=device)
    with measure.timer() as test_time:
        curve = accuracy_per_timestep(model, split, config.timesteps, device=device)
    val_curve = accuracy_per_timestep(model, split, config.timesteps, device=device,
                                      subset="validation")
    return Outcome(config, model.cpu(), measure.accuracy(logits, split.y_test), curve, history,
                   costs.timings(train_time, test_time), val_curve)


def run(config: Config, progress: training.Progress | None = None) -> dict:
    """Train at T = 1 with noise; run the same weights for N ≤ N_max steps; return the curves.

    Training costs are the T = 1 network's; inference costs the IF network's at N_max.
    `models` holds both networks, `architecture` what rebuilds them.
    """
    split = data.load(config.dataset, seed=config.data_seed)
    out = experiment(config, progress, split)
    curve = out.accuracy_per_timestep
    x, y = split.x_train[: config.batch_size], split.y_train[: config.batch_size]
    cost = costs.step_cost(out.model, costs.single_unit(single_step_forward, F.cross_entropy,
                                                        x, y), len(y))
    snn = to_multi_step(out.model)
    inference = costs.inference_metrics(snn, encoding.direct(split.x_test[:256],
                                                             config.timesteps))
    best = float(curve.max())
    return {
        "metrics": {"accuracy": float(curve[-1]), "timesteps": config.timesteps,
                    "accuracy_t1": out.accuracy_t1, "best_accuracy": best,
                    "timesteps_within_1pt_of_best": metrics.timesteps_within(
                        out.val_accuracy_per_timestep, float(out.val_accuracy_per_timestep.max())),
                    "final_loss": out.loss_per_epoch[-1], **cost.metrics(), **inference},
        "curves": {"accuracy_per_timestep": curve.tolist(), "loss_per_epoch": out.loss_per_epoch},
        "timings": out.timings,
        "models": {"single_step": out.model, "snn": snn},
        "architecture": {"input_shape": split.image_shape, "num_classes": split.num_classes},
    }
