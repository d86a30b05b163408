"""How much memory a config asks for, estimated before anything is allocated, and the limit.

Each field of a config is bounded, but not their product: width 4096 × depth 32 × batch 65536
would allocate hundreds of GB before failing in the allocator. `check(method, config)` refuses
such a config with one line naming the fields, before a row is stored or a tensor made. The
estimate, in float32 bytes (4 each), is the larger of training and simulating:

    train    = 4 · (4·P + 2·A_sum · B · S)        P parameters (weights, gradients, Adam's m, v)
    simulate = 4 · (P + 2·A_max · min(B, 512) · T)   no gradients: one layer's input and output

A_sum is the sum of every layer's output size for one sample at one step (kept for the backward
pass), A_max the largest; B is `batch_size`, S the steps kept for the backward pass (BPTT: T;
TTL-BPTT: its truncation K; ANN training: 1), T the steps simulated at once (the SNN folds time
into the batch; `training.predict` reads 512 samples at a time). P and A come from the network
built on PyTorch's meta device (shapes only, no memory). It is an estimate of the largest
tensors, not of the allocator's overhead.

The limit is `DEFAULT_LIMIT_GB` GiB, or `$LAB_MEMORY_LIMIT_GB` when set (e.g. on a GPU server).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from typing import Any

from .core.config import ConfigError

DEFAULT_LIMIT_GB = 16.0  # a laptop's memory; `$LAB_MEMORY_LIMIT_GB` overrides it
PREDICT_BATCH = 512  # `training.predict`'s batch
BYTES = 4  # float32
# One sample at one step, and the classes, of each dataset (events: ON/OFF channels).
SHAPES: dict[str, tuple[tuple[int, ...], int]] = {
    "digits": ((1, 8, 8), 10), "mnist": ((1, 28, 28), 10),
    "cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100),
    "nmnist_like": ((2, 34, 34), 10), "nmnist": ((2, 34, 34), 10),
    "dvsgesture": ((2, 32, 32), 11), "moving_digits": ((2, 16, 16), 4),
    "order_gap": ((2, 8, 8), 2),
}


@dataclass(frozen=True)
class Estimate:
    """Parameters P, activations A_sum and A_max per sample and step, and the bytes."""

    parameters: int
    activations: int
    largest_activation: int
    train_bytes: int
    simulate_bytes: int

    @property
    def bytes(self) -> int:
        return max(self.train_bytes, self.simulate_bytes)


def limit_bytes() -> int:
    """The limit: `$LAB_MEMORY_LIMIT_GB` GiB if set (a positive number), else the default."""
    text = os.environ.get("LAB_MEMORY_LIMIT_GB", "").strip()
    if not text:
        return int(DEFAULT_LIMIT_GB * 2**30)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"LAB_MEMORY_LIMIT_GB must be a positive number of GiB, got {text!r}")
    return int(value * 2**30)


def estimate(method: str, config: Any) -> Estimate:
    """The memory `config` of `method` asks for (see the module's text)."""
    shape, classes = SHAPES.get(getattr(config, "dataset", ""), ((1, 8, 8), 10))
    batch = int(getattr(config, "batch_size", 1))
    timesteps = int(getattr(config, "timesteps", 1))
    kept = 1
    if method == "streaming":
        side = shape[1] // int(getattr(config, "downsample", 1))
        shape = (shape[0], side, side)
        kept = int(config.n_time_bins)
        timesteps = kept * int(config.steps_per_frame)
        p, a_sum, a_max = _streaming_sizes(shape, classes, bool(config.skips))
    else:
        if method == "bptt":
            kept = timesteps
        elif method == "ttl-bptt":
            kept = int(config.truncation_length)
        elif method == "conversion":
            timesteps = max(timesteps, int(getattr(config, "calibration_timesteps", 0)))
        p, a_sum, a_max = _ann_sizes(
            getattr(config, "arch", "mlp"), shape, classes,
            int(getattr(config, "depth", 0)) or None, int(getattr(config, "width", 0)) or None,
            bool(getattr(config, "batch_norm", False)))
    train = BYTES * (4 * p + 2 * a_sum * batch * kept)
    simulate = BYTES * (p + 2 * a_max * min(batch, PREDICT_BATCH) * timesteps)
    return Estimate(p, a_sum, a_max, train, simulate)


def check(method: str, config: Any) -> None:
    """ConfigError, one line naming the fields, if `config` is estimated above the limit."""
    found, limit = estimate(method, config), limit_bytes()
    if found.bytes <= limit:
        return
    names = [n for n in ("arch", "width", "depth", "batch_size", "timesteps",
                         "truncation_length", "n_time_bins", "steps_per_frame")
             if hasattr(config, n)]
    fields = ", ".join(f"{n}={getattr(config, n)}" for n in names)
    raise ConfigError(
        f"{fields} needs about {found.bytes / 2**30:.1f} GiB ({found.parameters:,} parameters, "
        f"{found.activations:,} activations per sample and step), over the limit of "
        f"{limit / 2**30:.1f} GiB: lower batch_size, width, depth or timesteps, or raise "
        "$LAB_MEMORY_LIMIT_GB")


@functools.lru_cache(maxsize=256)
def _ann_sizes(arch: str, shape: tuple[int, ...], classes: int, depth: int | None,
               width: int | None, batch_norm: bool) -> tuple[int, int, int]:
    """(P, A_sum, A_max) of the lab's `arch` (`models.build`), built on the meta device."""
    from .core import models

    extra = {k: v for k, v in (("depth", depth), ("width", width)) if v is not None}
    try:
        return _sizes(lambda: models.build(arch, shape, classes, batch_norm=batch_norm, **extra),
                      shape)
    except ValueError as err:  # an image too small for the arch: the run refuses it itself
        if "must be" in str(err):
            return 0, 0, 0
        raise


@functools.lru_cache(maxsize=64)
def _streaming_sizes(shape: tuple[int, ...], classes: int, skips: bool) -> tuple[int, int, int]:
    """(P, A_sum, A_max) of the streaming graph: its nodes' state shapes (`Graph.shapes`)."""
    import torch

    from .streaming import make_graph

    with torch.device("meta"):
        graph = make_graph(shape, classes, skips)
    sizes = [math.prod(s) for s in graph.shapes.values()]
    return sum(p.numel() for p in graph.parameters()), sum(sizes), max(sizes, default=0)


def _sizes(build, shape: tuple[int, ...]) -> tuple[int, int, int]:
    import torch

    outputs: list[int] = []
    with torch.device("meta"):
        net = build()
        for leaf in (m for m in net.modules() if not any(m.children())):
            leaf.register_forward_hook(lambda m, i, out: outputs.append(out.numel()))
        net.eval()  # BatchNorm in training mode refuses a batch of one sample
        net(torch.zeros(1, *shape))
    return sum(p.numel() for p in net.parameters()), sum(outputs), max(outputs, default=0)
