"""Temporally-truncated local BPTT (TTL-BPTT): BPTT cut in time and in depth.

Guo et al. 2023 (Front. Neurosci. 17:1047008). Two knobs:

- truncation length K: the T steps are cut into segments of K; after each segment the loss
  L_k = CE((1/K)·Σ_{t∈segment} y[t], label) is back-propagated within the segment, the
  weights are updated, and the membrane potentials v carry on into the next segment detached;
- block size: the network's weight layers are cut into blocks of `block_size` layers; every
  block but the last gets a small local classifier (average pooling + linear) with its own loss,
  and every block's input is detached, so no gradient crosses a block boundary.

The autograd graph then holds K steps of one block instead of T steps of the whole network.
K = T with one block (block_size = depth) is exactly the BPTT baseline of `lab.bptt`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from .core import config as cfg
from .core import data, encoding, measure, models, training
from .core.neurons import SpikingNeuron, simulate

FRAME_DATASETS = data.DATASETS
EVENT_DATASETS = ("nmnist_like", "moving_digits")
DATASETS = FRAME_DATASETS + EVENT_DATASETS


def depth(arch: str) -> int:
    """Number of weight layers (Linear/Conv2d) of the lab's architecture `arch`."""
    ann = models.build(arch, (1, 8, 8), 10)
    return sum(isinstance(m, (nn.Linear, nn.Conv2d)) for m in ann.modules())


@dataclass(frozen=True)
class Config:
    """Laptop defaults: digits rate-coded over T=8, MLP 64-256-128-10, K=2, blocks of 1 layer.

    `dataset` is a frame set (digits, mnist: rate- or direct-coded images) or an emulated event
    set (nmnist_like, moving_digits: event counts in `timesteps` time bins, `encoding` unused);
    `event_samples` is the number of recordings emulated for an event set (0: the set's default
    size, 1500 and 800).
    """

    dataset: str = "digits"
    arch: str = "mlp"
    timesteps: int = 8
    truncation_length: int = 2
    block_size: int = 1
    epochs: int = 3
    batch_size: int = 32
    lr: float = 2e-3
    beta: float = 0.9
    threshold: float = 1.0
    encoding: str = "rate"
    event_samples: int = 0
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        cfg.one_of("dataset", self.dataset, DATASETS)
        # check_common validates `dataset` against the frame sets only: check the rest of it
        cfg.check_common(SimpleNamespace(**{f.name: getattr(self, f.name)
                                            for f in fields(self) if f.name != "dataset"}))
        cfg.one_of("arch", self.arch, ("mlp", "cnn"))
        cfg.one_of("encoding", self.encoding, encoding.ENCODINGS)
        cfg.require(0.0 <= self.beta <= 1.0, "beta", "in [0, 1]", self.beta)
        cfg.require(1 <= self.truncation_length <= self.timesteps, "truncation_length",
                    f"in 1..timesteps = 1..{self.timesteps}", self.truncation_length)
        d = depth(self.arch)
        cfg.require(1 <= self.block_size <= d, "block_size",
                    f"in 1..depth = 1..{d} (weight layers of the {self.arch})", self.block_size)
        cfg.require(self.event_samples == 0 or self.event_samples >= 40, "event_samples",
                    "0 (the set's default) or ≥ 40", self.event_samples)


# ---- the network cut into blocks ---------------------------------------------------------------

def spiking_model(arch: str, sample_shape: tuple[int, ...], num_classes: int, beta: float,
                  threshold: float) -> nn.Sequential:
    """The same LIF network as `lab.bptt.spiking_model`, for any sample shape `[C, H, W]`."""
    ann = models.build(arch, sample_shape, num_classes)
    return models.to_spiking(ann, lambda _: SpikingNeuron(threshold=threshold, beta=beta))


def layers(net: nn.Sequential) -> list[nn.Sequential]:
    """`net` cut before every weight layer: [Linear/Conv2d, its neuron, pooling, ...] each."""
    groups: list[list[nn.Module]] = [[]]
    for module in net:
        is_weight = isinstance(getattr(module, "layer", module), (nn.Linear, nn.Conv2d))
        if is_weight and any(isinstance(getattr(m, "layer", m), (nn.Linear, nn.Conv2d))
                             for m in groups[-1]):
            groups.append([])
        groups[-1].append(module)
    return [nn.Sequential(*g) for g in groups]


def local_classifier(features: tuple[int, ...], num_classes: int) -> nn.Module:
    """Auxiliary head on a block's output `[T, B, *features]`: avg-pool to 2×2 (conv), linear."""
    if len(features) == 3:
        head = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                             nn.Linear(features[0] * 4, num_classes))
    else:
        head = nn.Linear(features[0], num_classes)
    return models.TimeDistributed(head)


class LocalNet(nn.Module):
    """A spiking `nn.Sequential` cut into blocks of `block_size` weight layers, with heads.

    `blocks[i]` is a run of layers; `heads[i]` its local classifier (the last block ends in the
    network's own readout, so its head is the identity). `forward` is plain inference.
    """

    def __init__(self, net: nn.Sequential, block_size: int, sample_shape: tuple[int, ...],
                 num_classes: int) -> None:
        super().__init__()
        parts = layers(net)
        if not 1 <= block_size <= len(parts):
            raise cfg.ConfigError(f"block_size must be in 1..depth = 1..{len(parts)}, "
                                  f"got {block_size!r}")
        self.blocks = nn.ModuleList(nn.Sequential(*[m for p in parts[i:i + block_size] for m in p])
                                    for i in range(0, len(parts), block_size))
        heads: list[nn.Module] = []
        x = torch.zeros(1, 1, *sample_shape)
        with torch.no_grad():
            for block in self.blocks[:-1]:
                x = block(x)
                heads.append(local_classifier(tuple(x.shape[2:]), num_classes))
        self.heads = nn.ModuleList([*heads, nn.Identity()])

    def forward(self, x: Tensor) -> Tensor:
        """Input `[T, B, ...]` → output currents `[T, B, C]` (heads unused)."""
        for block in self.blocks:
            x = block(x)
        return x


def build(config: Config, sample_shape: tuple[int, ...], num_classes: int) -> LocalNet:
    """The configured spiking network, cut into blocks of `config.block_size` layers."""
    net = spiking_model(config.arch, sample_shape, num_classes, config.beta, config.threshold)
    return LocalNet(net, config.block_size, sample_shape, num_classes)


# ---- the truncated, local training step --------------------------------------------------------

State = dict[SpikingNeuron, Tensor]
# (forward over one segment of one block, its head, labels) -> (block output, its loss)
Backprop = Callable[[Callable[[], Tensor], nn.Module, Tensor], tuple[Tensor, Tensor]]


def forward_segment(block: nn.Module, x: Tensor, state: State) -> Tensor:
    """Run `block` over one segment `x` `[K, B, ...]`, each neuron starting from its carried v.

    v[t0] is the neuron's v at the end of the previous segment, detached (truncation), or
    v_init·θ at the first segment; the segment's last v is stored in `state` for the next one.
    """
    for layer in block:
        if isinstance(layer, SpikingNeuron):
            v0 = state.get(layer, layer.v_init * layer.threshold)
            out = simulate(x, layer.threshold, layer.beta, v0, layer.reset, layer.spike_fn)
            state[layer] = out.v_final.detach()
            x = out.spikes * layer.threshold if layer.scale_output else out.spikes
        else:
            x = layer(x)
    return x


def _backprop(forward: Callable[[], Tensor], head: nn.Module, y: Tensor
              ) -> tuple[Tensor, Tensor]:
    """The plain unit of TTL work: forward one block over one segment, local loss, backward."""
    out = forward()
    loss = local_loss(head, out, y)
    loss.backward()
    return out, loss.detach()


def local_loss(head: nn.Module, out: Tensor, y: Tensor) -> Tensor:
    """L = CE((1/K)·Σ_t head(out[t]), y): the rate readout of the segment, as in `lab.bptt`."""
    return F.cross_entropy(head(out).mean(0), y)


def ttl_step(model: LocalNet, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer | None,
             truncation_length: int, backprop: Backprop = _backprop) -> float:
    """One TTL-BPTT training step on time-first `x` `[T, B, ...]`; returns the readout's loss,
    averaged over the segments.

    Per segment of K steps: per block, forward from the detached block input and the detached
    carried membrane state, local loss, backward; then one optimizer update. With
    `optimizer=None` the gradients are only accumulated (tests and measurement).
    """
    timesteps = x.shape[0]
    if not 1 <= truncation_length <= timesteps:
        raise cfg.ConfigError(f"truncation_length must be in 1..timesteps = 1..{timesteps}, "
                              f"got {truncation_length!r}")
    state: State = {}
    losses = []
    for start in range(0, timesteps, truncation_length):
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
        # a copy, so the graph holds this segment's input only (as when streaming in)
        h = x[start:start + truncation_length].clone()
        for block, head in zip(model.blocks, model.heads, strict=True):
            h_in = h.detach()
            h, loss = backprop(lambda b=block, h_in=h_in: forward_segment(b, h_in, state),
                               head, y)
        losses.append(loss)
        if optimizer is not None:
            optimizer.step()
    return torch.stack(losses).mean().item()


# ---- measuring one step: memory held by autograd, MACs by part --------------------------------

@dataclass(frozen=True)
class StepCost:
    """Costs of one training step on one batch, per sample (MACs) and in bytes (memory).

    `peak_autograd_bytes` is the most held at once: the max over the (segment, block) units,
    each measured by `measure.peak_autograd_bytes`; `held_bytes[s][b]` lists them all.
    MACs count Linear/Conv2d multiply-accumulates as dispatched by PyTorch (FlopCounterMode/2):
    `macs_forward` of the network, `macs_backward` of the network's backward pass,
    `macs_local` of the local classifiers (forward and backward).
    """

    peak_autograd_bytes: int
    held_bytes: list[list[int]]
    macs_forward: float
    macs_backward: float
    macs_local: float

    @property
    def macs_total(self) -> float:
        return self.macs_forward + self.macs_backward + self.macs_local


def _macs(run: Callable[[], object]) -> tuple[object, int]:
    with FlopCounterMode(display=False) as counter:
        result = run()
    return result, counter.get_total_flops() // 2


def step_cost(model: LocalNet, x: Tensor, y: Tensor, truncation_length: int) -> StepCost:
    """Measure one TTL step (no update) on time-first `x` on a copy of `model`."""
    model = copy.deepcopy(model).train()
    held: list[int] = []

    def hold(forward: Callable[[], Tensor], head: nn.Module, y: Tensor
             ) -> tuple[Tensor, Tensor]:
        out: list[Tensor] = []

        def loss() -> Tensor:
            out.append(forward())
            out.append(local_loss(head, out[0], y))
            return out[1]

        held.append(measure.peak_autograd_bytes(loss))
        return out[0], out[1].detach()

    ttl_step(model, x, y, None, truncation_length, hold)
    macs = {"forward": 0, "backward": 0, "local": 0}

    def count(forward: Callable[[], Tensor], head: nn.Module, y: Tensor
              ) -> tuple[Tensor, Tensor]:
        out, n = _macs(forward)
        macs["forward"] += n
        params = [p for p in head.parameters() if p.requires_grad]

        def head_backward() -> tuple[Tensor, Tensor]:
            loss = local_loss(head, out, y)
            grads = torch.autograd.grad(loss, [out, *params])
            for p, g in zip(params, grads[1:], strict=True):
                p.grad = g if p.grad is None else p.grad + g
            return grads[0], loss.detach()

        (grad_out, loss), n = _macs(head_backward)
        macs["local"] += n
        macs["backward"] += _macs(lambda: out.backward(grad_out))[1]
        return out, loss

    ttl_step(model, x, y, None, truncation_length, count)
    n_blocks, batch = len(model.blocks), x.shape[1]
    return StepCost(max(held), [held[i:i + n_blocks] for i in range(0, len(held), n_blocks)],
                    macs["forward"] / batch, macs["backward"] / batch, macs["local"] / batch)


# ---- data: frames or events, always time-first into the network -------------------------------

def load(config: Config) -> tuple[data.Split, tuple[int, ...]]:
    """The dataset as a `Split` (images `[N, 1, H, W]`, or event counts `[N, T, 2, H, W]`)
    and the shape of one time step of the network's input."""
    if config.dataset in FRAME_DATASETS:
        split = data.load(config.dataset, seed=config.seed)
        return split, split.image_shape
    from . import events

    kind = {"nmnist_like": events.NMNISTLike, "moving_digits": events.MovingDigits}[
        config.dataset]
    size = {"n_samples": config.event_samples} if config.event_samples else {}
    parts = [events.to_frames(kind(s, seed=config.seed, **size), config.timesteps)
             for s in ("train", "test")]
    split = data.Split(parts[0][0], parts[0][1], parts[1][0], parts[1][1], config.dataset)
    return split, tuple(split.x_train.shape[2:])


def time_first(config: Config) -> Callable[[Tensor], Tensor]:
    """A batch as stored → the network's input `[T, B, ...]`: encode images, transpose events."""
    if config.dataset in EVENT_DATASETS:
        return lambda x: x.transpose(0, 1)
    return lambda x: encoding.encode(x, config.timesteps, config.encoding, config.seed)


@dataclass(frozen=True)
class Fit:
    """A trained network, its loss per epoch, test accuracy (%) at every T, and times (s)."""

    model: LocalNet
    loss_per_epoch: list[float]
    accuracy_per_timestep: list[float]
    train_s: float
    test_s: float

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
        return ttl_step(m, to_input(x), y, opt, config.truncation_length)

    forward = lambda m, x: m(to_input(x))  # noqa: E731
    with measure.wall_time() as train_time:
        history = training.train(model, split, forward, epochs=config.epochs, lr=config.lr,
                                 batch_size=config.batch_size, seed=config.seed, device=device,
                                 step=step, progress=progress)
    with measure.wall_time() as test_time:
        outputs = training.predict(model, split.x_test, forward, device=device)
    curve = measure.accuracy_per_timestep(outputs, split.y_test).tolist()
    return Fit(model.cpu(), history, curve, train_time["s"], test_time["s"])


def costs(config: Config, split: data.Split, sample_shape: tuple[int, ...]
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
    """Train with TTL-BPTT; measure accuracy, peak autograd memory, MACs and time vs BPTT."""
    split, sample_shape = load(config)
    result = fit(config, split, sample_shape, progress)
    ttl, bptt = costs(config, split, sample_shape)
    model = result.model.eval()
    ops = measure.count_operations(model, time_first(config)(split.x_test[:256]))
    return {
        "metrics": {"accuracy": result.accuracy, "timesteps": config.timesteps,
                    "truncation_length": config.truncation_length,
                    "block_size": config.block_size, "final_loss": result.loss_per_epoch[-1],
                    **_cost_metrics(ttl, ""), **_cost_metrics(bptt, "bptt_"),
                    "peak_mem_ratio": ttl.peak_autograd_bytes / bptt.peak_autograd_bytes,
                    "macs_ratio": ttl.macs_total / bptt.macs_total,
                    **ops.per_sample()},
        "curves": {"accuracy_per_timestep": result.accuracy_per_timestep,
                   "loss_per_epoch": result.loss_per_epoch,
                   "held_bytes_per_segment": [max(s) for s in ttl.held_bytes]},
        "timings": {"train_s": result.train_s, "test_s": result.test_s},
    }


def _cost_metrics(cost: StepCost, prefix: str) -> dict[str, float]:
    return {f"{prefix}peak_autograd_bytes": cost.peak_autograd_bytes,
            f"{prefix}train_macs_forward": cost.macs_forward,
            f"{prefix}train_macs_backward": cost.macs_backward,
            f"{prefix}train_macs_local": cost.macs_local}
