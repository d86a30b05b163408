"""Real event recordings (N-MNIST through tonic) as event-count frames, cached on disk.

`frames("nmnist", data_dir, n_time_bins)` reads tonic's N-MNIST files under `data_dir` (offline:
missing files fail at once, naming the folder and the way out; `lab.events.loaders`), bins every
recording into `n_time_bins` frames `[N, T, 2, 34, 34]`, and keeps the result in the event cache
(`$LAB_CACHE`, else `~/.cache/spike-lab/events`), keyed by the folder, the file list and sizes
and the binning, so a second run does not re-bin. A partial folder is refused, saying how many
recordings were found.

Example:
    >>> split = frames("nmnist", "/data", n_time_bins=8)      # doctest: +SKIP
    >>> split.x_train.shape                                      # doctest: +SKIP
    torch.Size([60000, 8, 2, 34, 34])
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from lab.core import data
from lab.events import loaders
from lab.events.datasets import cache_root, to_frames

FORMAT_VERSION = 1  # bump when the binning changes, so old caches are never read
MIN_PER_CLASS = 1  # a split missing a whole class is partial, not small


def frames(name: str, data_dir: str | os.PathLike, n_time_bins: int,
           cache_dir: str | os.PathLike | None = None, seed: int = 0) -> data.Split:
    """Train / validation / test event-count frames of the real set `name` ('nmnist')."""
    if name != "nmnist":
        raise ValueError(f"dataset must be nmnist for real event files, got {name!r}")
    if not str(data_dir).strip():
        raise ValueError("data_dir must name the folder holding NMNIST/ (tonic's layout): "
                         "pass --data-dir PATH")
    parts = []
    for train in (True, False):
        dataset = loaders.nmnist(data_dir, train=train)
        _check_complete(dataset, Path(data_dir), train)
        parts.append(_cached(dataset, n_time_bins, cache_dir))
    (x_train, y_train), (x_test, y_test) = parts
    split = data.Split(x_train, y_train, x_test, y_test, name)
    return data.with_validation(split, seed=seed)


def _check_complete(dataset, root: Path, train: bool) -> None:
    """ValueError saying how many recordings were found when a split misses classes."""
    labels = np.array([int(t) for t in dataset.targets]) if hasattr(dataset, "targets") else None
    if labels is None:
        return
    found = np.bincount(labels, minlength=10)
    if (found < MIN_PER_CLASS).any():
        missing = [str(c) for c in np.flatnonzero(found < MIN_PER_CLASS)]
        raise ValueError(f"N-MNIST {'train' if train else 'test'} files under {root} are "
                         f"partial: {len(labels)} recordings found, none of digit(s) "
                         f"{', '.join(missing)}; extract the whole archive there")


def _cached(dataset, n_time_bins: int, cache_dir) -> tuple[torch.Tensor, torch.Tensor]:
    files = sorted(Path(p) for p in getattr(dataset, "data", []))
    key = hashlib.sha256(json.dumps({
        "version": FORMAT_VERSION, "bins": n_time_bins,
        "files": [(str(f.resolve()), f.stat().st_size) for f in files]}).encode()).hexdigest()
    path = cache_root(cache_dir) / f"nmnist-frames-{key[:16]}.npz"
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
