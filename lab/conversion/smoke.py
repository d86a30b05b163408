"""A smoke run of a CIFAR preset: the paper's code path, on generated files, in seconds on a CPU.

`python -m lab run conversion --preset vgg16-cifar10 --smoke` writes a tiny CIFAR folder in the
real python-pickle format (`write_cifar`: pickled dicts with bytes keys, uint8 `[N, 3072]`
rows, one file per batch) to a temporary folder, and runs the preset there with `shrink`'s
changes: a few batches, a tiny `width`, two epochs (the authors train the first epoch without
noise and refit σ on the validation images before every later one, so the second epoch is the
first with a refitted σ). Everything else is the preset's: the architecture, BatchNorm (folded
at conversion), `device` (auto: CUDA when present), σ fitted at T = L, the checkpoint chosen on
validation, the SNN read at every T ≤ T_max. The images are noise, so the accuracies mean
nothing; `checks` says what the run went through.

Example:
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_cifar(folder, "cifar10").name
    'cifar-10-batches-py'
"""

from __future__ import annotations

import dataclasses
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..core import cifar, models
from ..core.config import ConfigError
from .experiment import Config

IMAGES_PER_FILE = 14  # 5 training files: 70 images (≥ 2 per class in validation); test: 14
# What --smoke changes: a tiny network (VGG-16's 64..512 channels × 2/128: 1..8, classifier 64),
# two epochs of three batches each, and the data folder (set by the caller).
SHRINK = {"width": 2, "epochs": 2, "batch_size": 16, "download": False}
_LABEL_KEYS = {"cifar10": b"labels", "cifar100": b"fine_labels"}
_CLASSES = {"cifar10": 10, "cifar100": 100}


def write_cifar(root: str | Path, name: str = "cifar10", per_file: int = IMAGES_PER_FILE,
                seed: int = 0) -> Path:
    """Write random images as `name`'s batch files under `root`; returns the folder written."""
    if name not in cifar.FOLDERS:
        raise ValueError(f"dataset must be one of {', '.join(cifar.FOLDERS)}, got {name!r}")
    folder = Path(root) / cifar.FOLDERS[name]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for file in cifar.FILES[name]:
        entry = {b"batch_label": file.encode(),
                 _LABEL_KEYS[name]: [i % _CLASSES[name] for i in range(per_file)],
                 b"data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8),
                 b"filenames": [f"{file}_{i}.png".encode() for i in range(per_file)]}
        with open(folder / file, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    return folder


def shrink(config: Config, data_dir: str | Path) -> Config:
    """`config` with the smoke run's changes (`SHRINK`) and its data under `data_dir`; a
    ConfigError unless the config reads CIFAR."""
    if config.dataset not in cifar.FOLDERS:
        raise ConfigError(f"--smoke runs a CIFAR preset: dataset must be one of "
                         f"{', '.join(cifar.FOLDERS)} (e.g. --preset vgg16-cifar10), got "
                         f"{config.dataset!r}")
    return dataclasses.replace(config, data_dir=str(data_dir), **SHRINK)


def checks(config: Config, result: dict[str, Any]) -> dict[str, Any]:
    """What a finished run went through: its device, BatchNorm layers before and after
    conversion, σ per layer of the network kept (0 if that is the first epoch's, which trains
    without noise) and the gap std a refit would set now (validation, T = L), the SNN's
    accuracy at every T ≤ T_max, and the ANN's with the noise off and on."""
    ann, snn = result["models"]["ann"], result["models"]["snn"]
    metrics = result["metrics"]
    return {
        "device": str(models.device_of(ann)),
        "batch_norm_in_ann": _count(ann, nn.modules.batchnorm._BatchNorm),
        "batch_norm_in_snn": _count(snn, nn.modules.batchnorm._BatchNorm),
        "noise_std_per_layer": result["curves"]["noise_std_per_layer"],  # the kept epoch's
        "gap_std_per_layer": result["curves"]["gap_std_per_layer"],  # validation, T = L
        "ann_accuracy_noise_off": metrics["ann_accuracy"],
        "ann_accuracy_noise_on": metrics.get("ann_accuracy_noise_on"),
        "snn_accuracy": result["curves"]["accuracy_per_timestep"],  # T = 1..T_max
    }


def run(config: Config, progress: Callable[[float, str], None] | None = None
        ) -> dict[str, Any]:
    """Write the tiny CIFAR folder to a temporary folder (deleted after), run the shrunk
    `config` there through the method's own `run` (what every stored run calls), and return
    `checks` of it. Nothing is stored: the numbers of random images are no result."""
    from .experiment import run as run_method

    with tempfile.TemporaryDirectory(prefix="lab-smoke-") as folder:
        shrunk = shrink(config, folder)  # refuses a dataset that is not CIFAR, first
        write_cifar(folder, config.dataset)
        return checks(shrunk, run_method(shrunk, progress))


def _count(model: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in model.modules())
