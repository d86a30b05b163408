"""Real event datasets through tonic, offline: missing files fail at once with instructions.

tonic's `NMNIST`, `DVSGesture` and `CIFAR10DVS` download whenever their archive or too few
extracted files are on disk (no flag turns it off), which raises `URLError` deep inside
`urllib` without network. These wrappers look for the extracted files first, raise
`FileNotFoundError` naming the folder and where to get the data, and then build tonic's class
with its download disabled. Files go under `{root}/{ClassName}/`, as tonic lays them out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import tonic.datasets


def nmnist(root: str | os.PathLike, train: bool = True,
           transform: Callable | None = None) -> tonic.datasets.NMNIST:
    """N-MNIST from `{root}/NMNIST/{Train,Test}/<digit>/*.bin` (tonic's layout)."""
    cls = tonic.datasets.NMNIST
    folder = Path(root, cls.__name__, cls.train_folder if train else cls.test_folder)
    archive = cls.train_filename if train else cls.test_filename
    url = cls.train_url if train else cls.test_url
    _require_files(folder, "*/*.bin", "N-MNIST", url, archive,
                   f"NMNIST({str(root)!r}, train={train})", folder.parent)
    return _offline(cls)(str(root), train=train, transform=transform)


def dvs_gesture(root: str | os.PathLike, train: bool = True,
                transform: Callable | None = None) -> tonic.datasets.DVSGesture:
    """DVS Gesture from `{root}/DVSGesture/ibmGesture{Train,Test}/user*_*/<label>.npy`."""
    import numpy.lib.recfunctions  # noqa: F401  tonic uses np.lib.recfunctions without import

    cls = tonic.datasets.DVSGesture
    folder = Path(root, cls.__name__, "ibmGestureTrain" if train else "ibmGestureTest")
    archive = cls.train_filename if train else cls.test_filename
    url = cls.train_url if train else cls.test_url
    _require_files(folder, "user*_*/*.npy", "DVS Gesture", url, archive,
                   f"DVSGesture({str(root)!r}, train={train})", folder.parent)
    return _offline(cls)(str(root), train=train, transform=transform)


def cifar10_dvs(root: str | os.PathLike,
                transform: Callable | None = None) -> tonic.datasets.CIFAR10DVS:
    """CIFAR10-DVS from `{root}/CIFAR10DVS/<class name>/*.aedat4`; reading needs `aedat`."""
    cls = tonic.datasets.CIFAR10DVS
    folder = Path(root, cls.__name__)
    _require_files(folder, "*/*.aedat4", "CIFAR10-DVS", cls.url, cls.filename,
                   f"CIFAR10DVS({str(root)!r})", folder,
                   also=" and the ten class archives inside it")
    try:
        import aedat  # noqa: F401
    except ImportError as err:
        raise ImportError("CIFAR10-DVS files are AEDAT4: tonic reads them with the `aedat` "
                          "package; install it with `pip install aedat`") from err
    return _offline(cls)(str(root), transform=transform)


def _require_files(folder: Path, pattern: str, name: str, url: str, archive: str, call: str,
                   into: Path, also: str = "") -> None:
    """FileNotFoundError naming the folder, the files found and how to get them, unless one
    matches."""
    if folder.is_dir() and next(folder.glob(pattern), None) is not None:
        return
    found = (f"{sum(1 for p in folder.rglob('*') if p.is_file())} file(s) in {folder}, none "
             "matching" if folder.is_dir() else f"no folder {folder}")
    raise FileNotFoundError(
        f"{name} not found: expected files {folder / pattern}, found {found}. Either run "
        f"tonic.datasets.{call} once with network (it downloads {archive} from {url} and "
        f"extracts it), or download {archive} yourself and extract it{also} into {into}."
    )


def _offline(cls: type) -> type:
    """tonic's `cls` whose existence check passes and whose download raises instead.

    The subclass keeps `cls`'s name because tonic puts files under `{save_to}/{class name}`.
    """

    def download(self) -> None:
        raise FileNotFoundError(f"{cls.__name__}: files missing under {self.location_on_system}")

    return type(cls.__name__, (cls,), {"_check_exists": lambda self: True, "download": download})
