"""Controls for claims about time (docs/methods.md §3, §6): what a task gives a model without order.

A task tests memory across time only if a model that cannot use order fails it. Three controls,
each trained on a `Split` of recordings `[N, T, ...]` and returning its `Accuracy` (%):

- `memoryless`: one classifier f applied to every frame alone, readout averaged over frames,
  ŷ = (1/T)·Σ_t f(x[t]). It sees the multiset of frames, never their order.
- `shuffled`: any model (the caller's, e.g. the BPTT network) trained and tested on the same
  recordings with their frames permuted in time, one fixed permutation per recording.
- `frame_index`: the per-frame classifier told the frame index, ŷ = (1/T)·Σ_t f(x[t], onehot(t)).
  It can read a clock (cues that tend to fall at some frames) but not order.

`order_needed(reference, shuffled)` says whether the task needs order: not when the shuffled
control's accuracy comes within the interval of the reference (paired over seeds).

Example:
    >>> x = torch.arange(6.0).reshape(1, 6)
    >>> sorted(shuffle_time(x, seed=0)[0].tolist())
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from .core import config as cfg
from .core import data, measure, stats, training


@dataclass(frozen=True)
class Accuracy:
    """Validation accuracy (for choices; NaN without a validation set) and test accuracy, %."""

    validation: float
    test: float


@dataclass(frozen=True)
class Config:
    """The per-frame classifier: one hidden layer of `hidden` ReLU units, Adam, laptop-sized."""

    hidden: int = cfg.setting(128, low=1, high=65536, unit="units")
    epochs: int = cfg.epochs_setting(5)
    batch_size: int = cfg.batch_size_setting()
    lr: float = cfg.lr_setting(2e-3)
    seed: int = cfg.seed_setting()

    def __post_init__(self) -> None:
        cfg.validate(self)


class FrameModel(nn.Module):
    """ŷ = (1/T)·Σ_t f(x[t]) on recordings `[B, T, ...]`; with `timesteps`, f also reads
    onehot(t), so it knows the frame index. Logits `[B, C]`."""

    def __init__(self, frame_shape: tuple[int, ...], num_classes: int, hidden: int,
                 timesteps: int | None = None) -> None:
        super().__init__()
        self.timesteps = timesteps
        features = math.prod(frame_shape) + (timesteps or 0)
        self.f = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(),
                               nn.Linear(hidden, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        b, t = x.shape[:2]
        frames = x.reshape(b, t, -1)
        if self.timesteps is not None:
            cfg.require(t == self.timesteps, "timesteps", f"{self.timesteps} (the model's)", t)
            clock = torch.eye(t, dtype=x.dtype, device=x.device).expand(b, t, t)
            frames = torch.cat([frames, clock], dim=-1)
        return self.f(frames).mean(1)


def shuffle_time(x: Tensor, seed: int) -> Tensor:
    """`x` `[N, T, ...]` with the frames of each recording permuted in time, one permutation per
    recording drawn from `seed` (so a recording is shuffled the same way every epoch)."""
    cfg.require(x.dim() >= 2, "x", "recordings [N, T, ...]", tuple(x.shape))
    g = torch.Generator().manual_seed(seed)
    order = torch.rand(x.shape[:2], generator=g).argsort(dim=1)
    index = order.reshape(*order.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index.to(x.device))


def shuffled_split(split: data.Split, seed: int) -> data.Split:
    """`split` with every recording's frames shuffled in time (`shuffle_time`); each part draws
    from its own seed derived from `seed`."""
    x_val = None if split.x_val is None else shuffle_time(split.x_val, seed + 2)
    return replace(split, x_train=shuffle_time(split.x_train, seed),
                   x_test=shuffle_time(split.x_test, seed + 1), x_val=x_val)


def fit_frames(split: data.Split, config: Config, frame_index: bool = False) -> Accuracy:
    """Train a `FrameModel` on `split` (recordings `[N, T, ...]`); its validation and test
    accuracy."""
    frame_shape = tuple(split.x_train.shape[2:])
    timesteps = split.x_train.shape[1] if frame_index else None
    training.seed_everything(config.seed)
    model = FrameModel(frame_shape, split.num_classes, config.hidden, timesteps)
    forward = lambda m, x: m(x)  # noqa: E731
    training.train(model, split, forward, epochs=config.epochs, lr=config.lr,
                   batch_size=config.batch_size, seed=config.seed)
    val = math.nan
    if split.x_val is not None:
        x_val, y_val = split.validation()
        val = measure.accuracy(training.predict(model, x_val, forward), y_val)
    return Accuracy(val, measure.accuracy(training.predict(model, split.x_test, forward),
                                          split.y_test))


def memoryless(split: data.Split, config: Config | None = None) -> Accuracy:
    """The per-frame classifier, readout averaged over frames: it cannot use order."""
    return fit_frames(split, config or Config())


def frame_index(split: data.Split, config: Config | None = None) -> Accuracy:
    """The per-frame classifier told the frame index (one-hot t): a clock, but no order."""
    return fit_frames(split, config or Config(), frame_index=True)


def shuffled(split: data.Split, fit: Callable[[data.Split], Accuracy], seed: int) -> Accuracy:
    """`fit` (any model's training, returning its accuracy) on `split` shuffled in time."""
    return fit(shuffled_split(split, seed))


def order_needed(reference: Sequence[float], shuffled: Sequence[float]) -> bool:
    """Whether a task needs order: the reference model (e.g. BPTT) beats its shuffled control
    measurably, i.e. the 95% interval of reference − shuffled over matched seeds lies above 0.

    With one seed there is no interval: a ValueError (docs/methods.md §6).
    """
    diff = stats.paired(reference, shuffled)
    if math.isnan(diff.ci_low):
        raise ValueError(f"order_needed needs at least 2 matched seeds, got {diff.n}")
    return diff.ci_low > 0


def order_label(reference: Sequence[float], shuffled: Sequence[float]) -> str:
    """'order needed' or 'order not needed' (the shuffled control is within its interval of
    the reference), with the paired difference."""
    diff = stats.paired(reference, shuffled)
    verdict = "order needed" if order_needed(reference, shuffled) else "order not needed"
    return (f"{verdict}: reference − shuffled {diff.mean_diff:+.1f} points "
            f"(95% CI [{diff.ci_low:.1f}, {diff.ci_high:.1f}], n = {diff.n})")

