"""CIFAR-10 and CIFAR-100 as a `data.Split`, read through torchvision from files on disk.

The lab downloads nothing unless asked: torchvision is imported only when a CIFAR set is
loaded, and a missing torchvision or a folder without the files stops at once with one line
naming the folder and the way out (`--data-dir`, or `--download` to fetch them). Images are
`[N, 3, 32, 32]` in [0, 1]; validation is carved from the training set as for every frame set
(`data.with_validation`, the data seed).

Not yet a registered dataset: `Config.dataset` reads `lab.core.data.REGISTRY`, so for now a
CIFAR split is passed in, e.g. `conversion.experiment(config, split=cifar.load("cifar10", d))`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import torch

from ..core import data

FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
FILES = {"cifar10": ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                     "data_batch_5", "test_batch"),
         "cifar100": ("train", "test")}
CLASSES = {"cifar10": "CIFAR10", "cifar100": "CIFAR100"}


class DataUnavailable(FileNotFoundError):
    """A dataset whose files or reader are missing; the message says where and what to do."""


def missing_files(name: str, data_dir: str | Path) -> list[Path]:
    """The files torchvision needs for `name` under `data_dir` that are not there."""
    _check_name(name)
    folder = Path(data_dir) / FOLDERS[name]
    return [folder / f for f in FILES[name] if not (folder / f).is_file()]


def load(name: str, data_dir: str | Path, download: bool = False, seed: int = 0,
         val_fraction: float = data.VAL_FRACTION) -> data.Split:
    """The train / validation / test split of CIFAR `name` ('cifar10' or 'cifar100').

    Raises DataUnavailable, before reading anything, when torchvision is not installed or (unless
    `download`) when `data_dir` lacks the files.
    """
    _check_name(name)
    root = Path(data_dir).expanduser()
    missing = [] if download else missing_files(name, root)
    try:
        torchvision = importlib.import_module("torchvision")
    except ImportError:
        raise DataUnavailable(
            f"{name} is read through torchvision, which is not installed: install it "
            f"(pip install torchvision), then put the files in {root / FOLDERS[name]} "
            "(--data-dir FOLDER) or fetch them with --download") from None
    if missing:
        raise DataUnavailable(
            f"{name}: {root / FOLDERS[name]} lacks {', '.join(p.name for p in missing)}: "
            f"point --data-dir at the folder that holds {FOLDERS[name]}/, or pass --download "
            "to fetch them there")
    reader = getattr(torchvision.datasets, CLASSES[name])
    train, test = (reader(str(root), train=flag, download=download) for flag in (True, False))
    x_train, y_train = _tensors(train)
    x_test, y_test = _tensors(test)
    split = data.Split(x_train, y_train, x_test, y_test, name)
    return data.with_validation(split, val_fraction, seed) if val_fraction else split


def _tensors(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """torchvision's uint8 `[N, 32, 32, 3]` array and label list → `[N, 3, 32, 32]` in [0, 1]."""
    x = torch.as_tensor(dataset.data).permute(0, 3, 1, 2).float().div(255.0)
    return x.contiguous(), torch.as_tensor(dataset.targets, dtype=torch.int64)


def _check_name(name: str) -> None:
    if name not in FOLDERS:
        raise ValueError(f"CIFAR set must be one of {', '.join(FOLDERS)}, got {name!r}")
