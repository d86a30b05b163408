"""Every registered dataset by name (`lab.core.data.REGISTRY`) as one train / validation / test
split, seeded by the data seed: the one path by which methods load their data.

    frames, images   `lab.core.data.load` (digits, MNIST-5k; CIFAR from `data_dir`)
    events           event counts `[N, T, 2, H, W]`: the emulated sets generated from the data
                     seed (`lab.events.datasets`), the real ones read from `data_dir` and binned
                     once (`lab.events.real`), the order task generated (`lab.events.order_gap`)

Validation is always carved from the training set with the data seed (`data.with_validation`),
so choices are made on it and the test set is read for the reported numbers only.

Example:
    >>> split = load("digits", seed=0)
    >>> len(split.y_train), len(split.y_val), len(split.y_test)
    (1144, 203, 450)
"""

from __future__ import annotations

import torch.nn.functional as F

from ..core import data
from ..core.config import ConfigError
from . import REAL_FOLDERS

EMULATED = {"nmnist_like": "NMNISTLike", "moving_digits": "MovingDigits"}


def load(name: str, seed: int = 0, *, n_time_bins: int = 8, downsample: int = 1,
         data_dir: str = "", event_samples: int = 0, download: bool = False) -> data.Split:
    """Dataset `name` with data seed `seed`: train / validation / test.

    Event sets come as `n_time_bins` frames of event counts, each `downsample`×`downsample`
    pixel block summed (`downsample` = 1: as recorded); `event_samples` recordings of an
    emulated set or of the order task (0: its default). `order_gap` is the default task
    (`lab.events.OrderGap()`), whose number of frames is its own. Missing real files raise
    ConfigError on `data_dir` (one line, the way out named).
    """
    kind = data.kind_of(name)
    if kind != "events":
        return data.load(name, seed=seed, data_dir=data_dir, download=download)
    if name in REAL_FOLDERS:
        from . import real

        split = real.configured(name, data_dir, n_time_bins, seed=seed)
    elif name in EMULATED:
        from . import datasets

        generated = getattr(datasets, EMULATED[name])
        size = {"n_samples": event_samples} if event_samples else {}
        (x_train, y_train), (x_test, y_test) = (
            datasets.to_frames(generated(part, seed=seed, **size), n_time_bins)
            for part in ("train", "test"))
        split = data.with_validation(data.Split(x_train, y_train, x_test, y_test, name),
                                     seed=seed)
    elif name == "order_gap":
        from .order_gap import OrderGap

        split = OrderGap().split(event_samples or 2000, seed=seed)
    else:
        raise ConfigError(f"dataset {name} is registered but has no loader here")
    return pooled(split, downsample) if downsample > 1 else split


def pooled(split: data.Split, downsample: int) -> data.Split:
    """Every part's frames with each `downsample`×`downsample` pixel block summed."""

    def pool(x):
        return F.avg_pool2d(x.flatten(0, 1), downsample).unflatten(0, x.shape[:2]) * downsample**2

    return data.Split(pool(split.x_train), split.y_train, pool(split.x_test), split.y_test,
                      split.name, None if split.x_val is None else pool(split.x_val),
                      split.y_val)
