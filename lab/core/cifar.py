"""CIFAR-10 and CIFAR-100 read from their python-pickle files on disk, as a `Split`.

The files are those of the official archives (Krizhevsky 2009), unpacked under `data_dir`:

    cifar-10-batches-py/  data_batch_1 .. data_batch_5, test_batch   keys b'data', b'labels'
    cifar-100-python/     train, test                                keys b'data', b'fine_labels'

Each file is a pickled dict whose `data` is uint8 `[N, 3072]` (the 1024 red, then green, then
blue pixels of a 32×32 image, row by row). That is exactly what torchvision's reader parses; the
lab reads it directly because the lab pins a CPU torch beside which torchvision's wheels may fail
to import ('operator torchvision::nms does not exist'), so torchvision cannot be a dependency.
torchvision is used only for `download=True` (`--download`), when it imports; otherwise the error
says which archive to fetch by hand and where to unpack it. The unpickler accepts only the numpy
arrays these files hold, so a foreign pickle cannot run code.

Images come back `[N, 3, 32, 32]` float32 in [0, 1], labels int64 `[N]`; validation is carved
from the training set with the data seed, as for every frame set (`splits.with_validation`).

Example:
    >>> split = load("cifar10", "~/data")            # doctest: +SKIP
    >>> split.image_shape, split.num_classes, len(split.y_test)   # doctest: +SKIP
    ((3, 32, 32), 10, 10000)
"""

from __future__ import annotations

import functools
import importlib
import pickle
from pathlib import Path

import numpy as np
import torch

from . import splits
from .config import ConfigError

FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
TRAIN_FILES = {"cifar10": tuple(f"data_batch_{i}" for i in range(1, 6)), "cifar100": ("train",)}
TEST_FILES = {"cifar10": ("test_batch",), "cifar100": ("test",)}
FILES = {n: TRAIN_FILES[n] + TEST_FILES[n] for n in FOLDERS}
LABEL_KEYS = {"cifar10": "labels", "cifar100": "fine_labels"}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}
ARCHIVES = {"cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"}
_TORCHVISION_CLASSES = {"cifar10": "CIFAR10", "cifar100": "CIFAR100"}
_SIDE, _CHANNELS = 32, 3


class DataUnavailable(ConfigError, FileNotFoundError):
    """A dataset whose files are missing or unreadable; the message names the folder or file
    and the way out. A ConfigError, because the bad value is `data_dir` (the CLI exits 2)."""


def missing_files(name: str, data_dir: str | Path) -> list[Path]:
    """The files of `name` that are not under `data_dir`/FOLDERS[name]."""
    folder = _folder(name, data_dir)
    return [folder / f for f in FILES[name] if not (folder / f).is_file()]


def load(name: str, data_dir: str | Path, download: bool = False, seed: int = 0,
         val_fraction: float = splits.VAL_FRACTION) -> splits.Split:
    """The train / validation / test split of `name` ('cifar10' or 'cifar100') under `data_dir`.

    Raises DataUnavailable before reading anything when files are missing (unless `download`,
    which fetches them through torchvision), naming the folder, the missing files and the way out.
    """
    root = Path(data_dir).expanduser()
    if download and missing_files(name, root):
        _download(name, root)
    check(name, root, val_fraction or splits.VAL_FRACTION)
    x_train, y_train = _read(name, root, TRAIN_FILES[name])
    x_test, y_test = _read(name, root, TEST_FILES[name])
    split = splits.Split(x_train, y_train, x_test, y_test, name)
    return splits.with_validation(split, val_fraction, seed) if val_fraction else split


def check(name: str, data_dir: str | Path, val_fraction: float = splits.VAL_FRACTION) -> None:
    """DataUnavailable naming the folder or file and what is wrong, unless every batch file of
    `name` is under `data_dir`, is a CIFAR batch (`_batch`: uint8 `[N, 3072]`, one label in
    range per image), and the training batches hold enough images to carve a stratified
    validation set (`splits.too_small`): a run is refused before anything is stored. A file's
    verdict is kept while its size and time stamp stay the same (each is read once)."""
    root = Path(data_dir).expanduser()
    missing = missing_files(name, root)
    if missing:
        raise DataUnavailable(
            f"{name}: {_folder(name, root)} lacks {', '.join(p.name for p in missing)}: point "
            f"--data-dir at the folder that holds {FOLDERS[name]}/, or pass --download to fetch "
            f"them there (through torchvision; without it, unpack {ARCHIVES[name]} into that "
            "folder by hand)")
    labels = [_checked_labels(name, _folder(name, root) / f) for f in FILES[name]]
    small = splits.too_small(np.concatenate(labels[:len(TRAIN_FILES[name])]), val_fraction)
    if small:
        raise DataUnavailable(f"{name}: the training batches in {_folder(name, root)} hold "
                              f"{small}: unpack the whole archive there")
    if not sum(map(len, labels[len(TRAIN_FILES[name]):])):
        raise DataUnavailable(f"{name}: {_folder(name, root) / TEST_FILES[name][0]} holds no "
                              "image: at least 1 test image is needed")


def _checked_labels(name: str, path: Path) -> np.ndarray:
    """The labels of batch file `path`, once `_batch` accepts it (cached by size and mtime)."""
    stat = path.stat()
    return _labels_of(name, str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _labels_of(name: str, path: str, size: int, mtime_ns: int) -> np.ndarray:
    return _batch(name, Path(path))[1]


def images(raw: np.ndarray) -> torch.Tensor:
    """CIFAR's uint8 rows `[N, 3072]` (R, G, B planes of 32×32) → `[N, 3, 32, 32]` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(raw)).reshape(-1, _CHANNELS, _SIDE,
                                                               _SIDE).float().div_(255.0)


def _read(name: str, root: Path, files: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for f in files:
        raw, labels = _batch(name, _folder(name, root) / f)
        xs.append(images(raw))
        ys.append(torch.from_numpy(labels))
    return torch.cat(xs), torch.cat(ys)


def _batch(name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Batch file `path` as uint8 rows `[N, 3072]` and int64 labels `[N]` in
    [0, NUM_CLASSES[name]); DataUnavailable naming the file and what is wrong otherwise."""
    entry = _unpickle(path)
    raw, labels = _field(entry, "data", path), _field(entry, LABEL_KEYS[name], path)
    if not (isinstance(raw, np.ndarray) and raw.dtype == np.uint8 and raw.ndim == 2
            and raw.shape[1] == _CHANNELS * _SIDE * _SIDE):
        got = (f"{raw.dtype} {list(raw.shape)}" if isinstance(raw, np.ndarray)
               else type(raw).__name__)
        raise DataUnavailable(f"{path} is not a CIFAR batch: its data must be uint8 [N, 3072] "
                              f"(3 × 32 × 32 pixels per row), got {got}")
    try:
        labels = np.asarray(labels)
    except (TypeError, ValueError):  # ragged nesting
        labels = np.asarray([], dtype=object)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(raw):
        raise DataUnavailable(f"{path} is not a CIFAR batch: it must hold one integer label per "
                              f"image ({len(raw)} images), got {labels.dtype} "
                              f"{list(labels.shape)}")
    classes = NUM_CLASSES[name]
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        raise DataUnavailable(f"{path}: labels must be in [0, {classes - 1}] ({name} has "
                              f"{classes} classes), got {labels.min()} to {labels.max()}")
    return raw, labels.astype(np.int64)


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds dicts, lists, strings and numpy arrays, and nothing else."""

    ALLOWED = {("_codecs", "encode"), ("numpy", "ndarray"), ("numpy", "dtype"),
               ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a CIFAR batch")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            entry = _ArraysOnly(f, encoding="latin1").load()
    except Exception as err:  # noqa: BLE001  truncated or foreign: only arrays are built
        raise DataUnavailable(f"{path} is not a readable CIFAR batch ({type(err).__name__}: "
                              f"{err}): unpack the official archive again") from None
    if not isinstance(entry, dict):
        raise DataUnavailable(f"{path} is not a CIFAR batch: it holds no dict")
    return entry


def _field(entry: dict, key: str, path: Path):
    """`entry[key]`, whether the file's keys are str (Python 2's pickles) or bytes."""
    for k in (key, key.encode()):
        if k in entry:
            return entry[k]
    raise DataUnavailable(f"{path} is not a CIFAR batch: it has no {key!r}")


def _download(name: str, root: Path) -> None:
    try:
        torchvision = importlib.import_module("torchvision")
    except Exception:  # noqa: BLE001  not installed, or a build that fails to load beside torch
        raise DataUnavailable(
            f"{name}: --download needs torchvision, which does not import here: fetch "
            f"{ARCHIVES[name]} by hand and unpack it into {root} (it holds {FOLDERS[name]}/), "
            "then pass --data-dir") from None
    reader = getattr(torchvision.datasets, _TORCHVISION_CLASSES[name])
    try:
        for train in (True, False):
            reader(str(root), train=train, download=True)
    except Exception as err:  # noqa: BLE001  offline: URLError, a timeout, a refused connection
        raise DataUnavailable(
            f"{name}: downloading into {root} failed ({type(err).__name__}: {err}): fetch "
            f"{ARCHIVES[name]} by hand and unpack it there, then pass --data-dir") from None


def _folder(name: str, data_dir: str | Path) -> Path:
    if name not in FOLDERS:
        raise ValueError(f"CIFAR set must be one of {', '.join(FOLDERS)}, got {name!r}")
    return Path(data_dir).expanduser() / FOLDERS[name]
