"""Train / validation / test splits: the container every dataset comes back in, and the one
rule that carves validation out of a training set (stratified, seeded by the data seed).

A leaf of `lab.core`: `lab.core.data` (the registry and the frame sets) and `lab.core.cifar`
(CIFAR's files) both build on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Split:
    """Samples and integer labels `[N]` for train, test and (when carved) validation.

    Validation comes out of the training set (`with_validation`): every choice a method makes
    (σ, N, a configuration, "the first T within 1 point") is made on it, and the test set is
    read once, for the reported numbers (docs/methods.md §6).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    name: str
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None

    def validation(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_val, y_val); a ValueError if this split has none."""
        if self.x_val is None or self.y_val is None:
            raise ValueError(f"the {self.name} split has no validation set: "
                             "use data.with_validation(split)")
        return self.x_val, self.y_val

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(self.y_train.max()) + 1


VAL_FRACTION = 0.15  # of the training set: 202 of digits' 1347 training images


def min_train_size(num_classes: int, fraction: float = VAL_FRACTION) -> int:
    """The fewest training samples from which `with_validation` carves a stratified validation
    set: each part needs one sample of each class, and the validation part is
    ceil(fraction · n) (scikit-learn's rule, same float arithmetic). Digits: 61 for 10 classes.
    """
    n = 2 * num_classes
    while math.ceil(fraction * n) < num_classes or n - math.ceil(fraction * n) < num_classes:
        n += 1
    return n


def too_small(labels: np.ndarray, fraction: float = VAL_FRACTION) -> str:
    """Why training labels `labels` are too few for `with_validation` ('' if they are not):
    fewer than `min_train_size` for the classes they hold, or a class with fewer than 2."""
    classes, counts = np.unique(np.asarray(labels, np.int64), return_counts=True)
    need = min_train_size(max(len(classes), 1), fraction)
    if len(labels) >= need and counts.min() >= 2:
        return ""
    return (f"{len(labels)} training samples ({int(counts.min()) if len(counts) else 0} of the "
            f"rarest class); at least {need} are needed, 2 of each of the {len(classes)} "
            f"classes, to carve a stratified {fraction:.0%} validation set")


def with_validation(split: Split, fraction: float = VAL_FRACTION, seed: int = 0) -> Split:
    """`split` with a stratified, seeded `fraction` of its training set moved to validation."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {fraction}")
    from sklearn.model_selection import train_test_split

    idx_train, idx_val = train_test_split(
        np.arange(len(split.y_train)), test_size=fraction, stratify=split.y_train.numpy(),
        random_state=seed)
    idx_train, idx_val = torch.from_numpy(idx_train), torch.from_numpy(idx_val)
    return Split(split.x_train[idx_train], split.y_train[idx_train], split.x_test, split.y_test,
                 split.name, split.x_train[idx_val], split.y_train[idx_val])
