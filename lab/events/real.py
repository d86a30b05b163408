"""Real event recordings (N-MNIST, DVS Gesture through tonic) as event-count frames, cached.

`frames(name, data_dir, n_time_bins)` reads tonic's files of `name` under `data_dir` (offline:
missing files fail at once, naming the folder, the files found and the way out;
`lab.events.loaders`), bins every recording into `n_time_bins` frames `[N, T, 2, H, W]`, and
keeps the result in the event cache (`$LAB_CACHE`, else `~/.cache/spike-lab/events`), keyed by
the folder, the file list and sizes and the binning, so a second run does not re-bin. A partial
folder (a class with no recording) is refused, saying how many recordings were found.

- 'nmnist': `{data_dir}/NMNIST/{Train,Test}/<digit>/*.bin`, 34×34, every recording's bins span
  its own events.
- 'dvsgesture': `{data_dir}/DVSGesture/ibmGesture{Train,Test}/user*_<lighting>/<label>.npy`
  (tonic 1.7's processed layout: one array `[n, 4]` of x, y, p, t in ms per gesture), 128×128
  summed over 4×4 pixel blocks to 32×32 (a 1,077-recording cache stays near 40 MB at T = 8),
  each recording's time axis starting at its first event.

Example:
    >>> split = frames("nmnist", "/data", n_time_bins=8)      # doctest: +SKIP
    >>> split.x_train.shape                                      # doctest: +SKIP
    torch.Size([60000, 8, 2, 34, 34])
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lab.core import data
from lab.core.config import ConfigError
from lab.events import REAL_FOLDERS, loaders
from lab.events.datasets import cache_root, to_frames

FORMAT_VERSION = 2  # bump when the binning changes, so old caches are never read
MIN_PER_CLASS = 1  # a split missing a whole class is partial, not small


@dataclass(frozen=True)
class RealSet:
    """How one real set is read: its loader, number of classes, the pixels summed per side,
    the folder `data_dir` must hold (for messages), and whether time starts at the first event."""

    loader: Any
    num_classes: int
    pool: int
    folder: str
    from_first_event: bool


SETS = {"nmnist": RealSet(loaders.nmnist, 10, 1, REAL_FOLDERS["nmnist"], False),
        "dvsgesture": RealSet(loaders.dvs_gesture, 11, 4, REAL_FOLDERS["dvsgesture"], True)}


def frames(name: str, data_dir: str | os.PathLike, n_time_bins: int,
           cache_dir: str | os.PathLike | None = None, seed: int = 0) -> data.Split:
    """Train / validation / test event-count frames of the real set `name` (see `SETS`)."""
    if name not in SETS:
        raise ValueError(f"dataset must be one of {', '.join(SETS)} for real event files, "
                         f"got {name!r}")
    real = SETS[name]
    if not str(data_dir).strip():
        raise ValueError(f"data_dir must name the folder holding {real.folder}/ (tonic's "
                         "layout): pass --data-dir PATH")
    parts = []
    for train in (True, False):
        dataset = real.loader(data_dir, train=train,
                              transform=lambda ev, r=real: _prepare(ev, r))
        _check_complete(dataset, name, Path(data_dir), train)
        parts.append(_cached(_Pooled(dataset, real.pool), name, n_time_bins, cache_dir))
    (x_train, y_train), (x_test, y_test) = parts
    split = data.Split(x_train, y_train, x_test, y_test, name)
    return data.with_validation(split, seed=seed)


def configured(name: str, data_dir: str | os.PathLike, n_time_bins: int, seed: int = 0
               ) -> data.Split:
    """`frames` for a method's config: missing or partial files become a `ConfigError` on
    `data_dir` with the same one-line message, so the CLI prints it and exits 2 instead of
    showing a traceback."""
    try:
        return frames(name, data_dir, n_time_bins, seed=seed)
    except (FileNotFoundError, ValueError) as err:
        raise ConfigError(f"data_dir: {err}") from err


def check(name: str, data_dir: str | os.PathLike) -> None:
    """ConfigError on `data_dir`, with `configured`'s one-line message, unless the train and
    test files of real set `name` are all there (every class found); reads no recording, so a
    run can be refused before anything is stored."""
    real = SETS[name]
    try:
        if not str(data_dir).strip():
            raise ValueError(f"data_dir must name the folder holding {real.folder}/ (tonic's "
                             "layout): pass --data-dir PATH")
        for train in (True, False):
            dataset = real.loader(data_dir, train=train)
            _check_complete(dataset, name, Path(data_dir), train)
            _check_size(dataset, name, Path(data_dir), train)
            _check_files(dataset, name)
    except (FileNotFoundError, ValueError) as err:
        raise ConfigError(f"data_dir: {err}") from err


def _prepare(events: np.ndarray, real: RealSet) -> np.ndarray:
    """Events with x, y divided by `real.pool` (summing pool×pool pixel blocks into one), and
    the time axis from the first event where the set asks for it."""
    if real.pool == 1 and not (real.from_first_event and len(events)):
        return events
    events = events.copy()
    if real.pool > 1:
        events["x"] //= real.pool
        events["y"] //= real.pool
    if real.from_first_event and len(events):
        events["t"] -= events["t"].min()
    return events


class _Pooled:
    """A tonic dataset seen through `_prepare`: its sensor size divided by `pool`."""

    def __init__(self, dataset: Any, pool: int) -> None:
        width, height, polarities = dataset.sensor_size
        self.sensor_size = (width // pool, height // pool, polarities)
        self.dataset, self.data = dataset, getattr(dataset, "data", [])

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        """Recording `index`, checked (`_bad_events`); ValueError naming its file otherwise."""
        path = self.data[index] if index < len(self.data) else f"recording {index}"
        try:
            events, label = self.dataset[index]
        except Exception as err:  # noqa: BLE001  tonic's reader on a malformed file: IndexError...
            raise ValueError(f"{path} cannot be read as events: {type(err).__name__}: "
                             f"{err}") from None
        problem = _bad_events(events, self.sensor_size)
        if problem:
            raise ValueError(f"{path}: {problem}")
        return events, label


def _bad_events(events: np.ndarray, sensor_size: tuple[int, int, int]) -> str:
    """What is wrong with a recording's events for a sensor of `sensor_size` (W, H, P), in
    words; '' if nothing: fields x, y, p, t, every coordinate on the sensor, p a polarity,
    t ≥ 0."""
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    if not {"x", "y", "p", "t"} <= set(names):
        return f"events must have fields x, y, p and t, got {', '.join(names) or 'none'}"
    if not len(events):
        return ""
    width, height, polarities = sensor_size
    for field, high in (("x", width), ("y", height), ("p", polarities)):
        values = events[field]
        if values.min() < 0 or values.max() >= high:
            return (f"{field} must be in [0, {high - 1}] on this {width}×{height} sensor, got "
                    f"{values.min()} to {values.max()}")
    t = events["t"].astype(np.float64)
    if not np.isfinite(t).all() or t.min() < 0:
        return f"t must be finite and ≥ 0, got {t.min()} to {t.max()}"
    return ""


def _check_size(dataset, name: str, root: Path, train: bool) -> None:
    """ValueError naming the folder and the minimum size when a train split is too small to
    carve a stratified validation set (`data.too_small`); every test split passes."""
    labels = np.array([int(t) for t in getattr(dataset, "targets", [])])
    small = data.too_small(labels) if train and len(labels) else ""
    if small:
        raise ValueError(f"{SETS[name].folder} train files under {root} hold {small}: extract "
                         "the whole archive there")


def _check_files(dataset, name: str) -> None:
    """ValueError naming the first file that cannot hold `name`'s recordings, from its size and
    header alone (no event is read): an N-MNIST `.bin` is a whole number of 5-byte events; a
    DVS Gesture `.npy` is a numeric array `[n, 4]` as long as its header says."""
    for path in map(Path, getattr(dataset, "data", [])):
        size = path.stat().st_size
        if name == "nmnist":
            if size % 5:
                raise ValueError(f"{path} is truncated: {size} bytes is not a whole number of "
                                 "N-MNIST's 5-byte events")
            continue
        try:
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read(f)
                header = f.tell()
        except (OSError, ValueError) as err:
            raise ValueError(f"{path} is not a .npy array of events: {err}") from None
        if len(shape) != 2 or shape[1] != 4 or dtype.kind not in "iuf":
            raise ValueError(f"{path}: DVS Gesture's events are a numeric array [n, 4] (x, y, "
                             f"p, t in ms), got {dtype} {list(shape)}")
        if header + shape[0] * 4 * dtype.itemsize > size:
            raise ValueError(f"{path} is truncated: its header declares {shape[0]:,} events, "
                             f"{size - header:,} bytes hold fewer")


def _check_complete(dataset, name: str, root: Path, train: bool) -> None:
    """ValueError saying how many recordings were found when a split misses classes."""
    labels = np.array([int(t) for t in dataset.targets]) if hasattr(dataset, "targets") else None
    if labels is None:
        return
    found = np.bincount(labels, minlength=SETS[name].num_classes)
    if (found < MIN_PER_CLASS).any():
        missing = [str(c) for c in np.flatnonzero(found < MIN_PER_CLASS)]
        raise ValueError(f"{SETS[name].folder} {'train' if train else 'test'} files under "
                         f"{root} are partial: {len(labels)} recordings found, none of class(es) "
                         f"{', '.join(missing)}; extract the whole archive there")


def _cached(dataset: _Pooled, name: str, n_time_bins: int, cache_dir
            ) -> tuple[torch.Tensor, torch.Tensor]:
    files = sorted(Path(p) for p in dataset.data)
    key = hashlib.sha256(json.dumps({
        "version": FORMAT_VERSION, "bins": n_time_bins, "sensor": dataset.sensor_size,
        "files": [(str(f.resolve()), f.stat().st_size) for f in files]}).encode()).hexdigest()
    path = cache_root(cache_dir) / f"{name}-frames-{key[:16]}.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            return torch.from_numpy(f["x"]).float(), torch.from_numpy(f["y"])
    except Exception:  # noqa: BLE001  missing or damaged: bin again below
        pass
    x, y = to_frames(dataset, n_time_bins)
    counts = x.to(torch.int16) if x.max() < 2**15 else x  # half the bytes of float32
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, x=counts.numpy(), y=y.numpy())
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache still works, only slower
    finally:
        tmp.unlink(missing_ok=True)
    return x, y
