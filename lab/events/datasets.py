"""Event datasets made from real digits by the DVS emulator, cached on disk, tonic's interface.

- `NMNISTLike`: MNIST-5k digits seen by a 34×34 sensor that makes three saccades along a
  triangle, as in the N-MNIST recordings (Orchard et al. 2015): (0,0) → (3.5,7) → (7,0) → (0,0)
  pixels, `saccade_us` each.
- `MovingDigits`: a 14×14 digit crosses a 16×16 sensor twice, once horizontally and once
  vertically. The class is the order and direction of the two crossings. Crossing right and
  crossing left give the same events per pixel (each pixel sees the digit arrive and leave), so
  the summed event counts of all four classes match: only the temporal order tells them apart.

A dataset is generated once per set of generation parameters and read back from
`{cache_dir}/{name}-{hash}.npz`, the hash covering every parameter that changes the events.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lab.core.config import require
from lab.core.data import load_images
from lab.events.dvs import EVENT_DTYPE, DVSParams, emulate_batch

FORMAT_VERSION = 2  # bump whenever the generator changes, so old caches are never read
_CHUNK = 200  # recordings emulated together (memory ≈ 40 MB for 34×34)


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """`cache_dir`, else `$LAB_CACHE`, else `~/.cache/spike-lab/events`."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("LAB_CACHE", "~/.cache/spike-lab/events")).expanduser()


class EventDataset:
    """Cached emulated recordings with tonic's interface: `ds[i] -> (events, label)`."""

    sensor_size: tuple[int, int, int]
    classes: list[str]
    ordering = EVENT_DTYPE.names
    dtype = EVENT_DTYPE
    duration_us: int

    def __init__(self, split: str, n_samples: int, test_fraction: float, seed: int,
                 params: DVSParams | None, cache_dir: str | os.PathLike | None,
                 transform: Callable | None, target_transform: Callable | None) -> None:
        require(split in ("train", "test"), "split", "'train' or 'test'", split)
        require(len(self.classes) <= n_samples <= 5000, "n_samples",
                f"in [{len(self.classes)}, 5000] (MNIST-5k images)", n_samples)
        require(0.0 < test_fraction < 1.0, "test_fraction", "in (0, 1)", test_fraction)
        self.split, self.n_samples, self.seed = split, int(n_samples), int(seed)
        self.params = DVSParams() if params is None else params
        self.transform, self.target_transform = transform, target_transform
        self.path = cache_root(cache_dir) / f"{type(self).__name__}-{self.cache_key()}.npz"
        data = _read_cache(self.path, self.cache_key())
        if data is None:
            data = self._generate()
            _write_cache(self.path, self.cache_key(), data)
        indices = _stratified_split(data["labels"], test_fraction, seed)[split == "test"]
        self._data, self._indices = data, indices
        self.targets = data["labels"][indices]

    def generation_parameters(self) -> dict:
        """Everything that changes the events: hashed into the cache file's name."""
        return {"dataset": type(self).__name__, "version": FORMAT_VERSION,
                "n_samples": self.n_samples, "seed": self.seed,
                "dvs": dataclasses.asdict(self.params)}

    def cache_key(self) -> str:
        text = json.dumps(self.generation_parameters(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        i = self._indices[index]
        start, stop = self._data["offsets"][i : i + 2]
        events = np.empty(stop - start, EVENT_DTYPE)
        for name in EVENT_DTYPE.names:
            events[name] = self._data[name][start:stop]
        target = int(self._data["labels"][i])
        if self.transform is not None:
            events = self.transform(events)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return events, target

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split={self.split!r}, n={len(self)}, file={self.path.name})"

    def _generate(self) -> dict[str, np.ndarray]:
        """Render frames for every recording and emulate them, `_CHUNK` recordings at a time."""
        labels, times = self._stimuli()
        events: list[np.ndarray] = []
        for start in range(0, len(labels), _CHUNK):
            frames = self._render(np.arange(start, min(start + _CHUNK, len(labels))))
            events += emulate_batch(frames, times, self.params, seed=hash_seed(self.seed, start),
                                    sensor_seed=self.seed)
        return _pack(events, labels)

    def _stimuli(self) -> tuple[np.ndarray, np.ndarray]:
        """Draw the recordings' contents (kept on self); return labels and frame times."""
        raise NotImplementedError

    def _render(self, indices: np.ndarray) -> np.ndarray:
        """Intensity frames `[B, T, H, W]` of the recordings `indices`."""
        raise NotImplementedError


class NMNISTLike(EventDataset):
    """MNIST-5k digits recorded by three saccades on a 34×34 sensor (N-MNIST's protocol)."""

    sensor_size = (34, 34, 2)
    classes = [f"{d} - {w}" for d, w in enumerate(
        "zero one two three four five six seven eight nine".split())]
    corners = np.array([[0.0, 0.0], [3.5, 7.0], [7.0, 0.0], [0.0, 0.0]])  # (dx, dy) pixels

    def __init__(self, split: str = "train", n_samples: int = 1500, test_fraction: float = 0.2,
                 seed: int = 0, params: DVSParams | None = None, saccade_us: int = 100_000,
                 frames_per_saccade: int = 10, cache_dir: str | os.PathLike | None = None,
                 transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        require(saccade_us >= 1000, "saccade_us", "≥ 1000", saccade_us)
        require(frames_per_saccade >= 2, "frames_per_saccade", "≥ 2", frames_per_saccade)
        self.saccade_us, self.frames_per_saccade = int(saccade_us), int(frames_per_saccade)
        self.duration_us = 3 * self.saccade_us
        super().__init__(split, n_samples, test_fraction, seed, params, cache_dir,
                         transform, target_transform)

    def generation_parameters(self) -> dict:
        return super().generation_parameters() | {
            "saccade_us": self.saccade_us, "frames_per_saccade": self.frames_per_saccade}

    def _stimuli(self) -> tuple[np.ndarray, np.ndarray]:
        images, labels = load_images("mnist")
        pick = np.sort(np.random.default_rng(self.seed).choice(len(labels), self.n_samples,
                                                                 replace=False))
        self._images = images[pick]
        n_frames = 3 * self.frames_per_saccade + 1
        return labels[pick], np.linspace(0, self.duration_us, n_frames)

    def _render(self, indices: np.ndarray) -> np.ndarray:
        images = self._images[indices]
        steps = np.linspace(0, 1, self.frames_per_saccade + 1)[:-1, None]
        path = np.concatenate([a + steps * (b - a) for a, b in zip(self.corners[:-1],
                                                                   self.corners[1:], strict=True)])
        path = np.concatenate([path, self.corners[-1:]]) - 0.5  # centre the 28×28 digit
        return np.stack([shift_bilinear(images, dx, dy, (34, 34)) for dx, dy in path], axis=1)


class MovingDigits(EventDataset):
    """A 14×14 digit crossing a 16×16 sensor twice; the class is the order of the crossings."""

    sensor_size = (16, 16, 2)
    classes = ["right, then down", "down, then right", "left, then up", "up, then left"]
    legs = {0: ("right", "down"), 1: ("down", "right"), 2: ("left", "up"), 3: ("up", "left")}

    def __init__(self, split: str = "train", n_samples: int = 800, test_fraction: float = 0.2,
                 seed: int = 0, params: DVSParams | None = None, crossing_us: int = 100_000,
                 frames_per_crossing: int = 30, jitter_px: float = 1.5,
                 cache_dir: str | os.PathLike | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        require(crossing_us >= 1000, "crossing_us", "≥ 1000", crossing_us)
        require(frames_per_crossing >= 2, "frames_per_crossing", "≥ 2", frames_per_crossing)
        require(0 <= jitter_px <= 4, "jitter_px", "in [0, 4]", jitter_px)
        self.crossing_us, self.frames_per_crossing = int(crossing_us), int(frames_per_crossing)
        self.jitter_px = float(jitter_px)
        self.duration_us = 2 * self.crossing_us
        super().__init__(split, n_samples, test_fraction, seed, params, cache_dir,
                         transform, target_transform)

    def generation_parameters(self) -> dict:
        return super().generation_parameters() | {
            "crossing_us": self.crossing_us, "frames_per_crossing": self.frames_per_crossing,
            "jitter_px": self.jitter_px}

    def _stimuli(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        images, _ = load_images("mnist")
        pick = rng.choice(len(images), self.n_samples, replace=False)
        self._images = images[pick].reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4))  # 2×2 pooling
        self._labels = rng.permutation(np.arange(self.n_samples) % len(self.classes))
        self._offsets = rng.uniform(-self.jitter_px, self.jitter_px, (self.n_samples, 2))
        n_frames = 2 * self.frames_per_crossing + 1
        return self._labels, np.linspace(0, self.duration_us, n_frames)

    def _render(self, indices: np.ndarray) -> np.ndarray:
        return np.stack([crossing_frames(self._images[i], self.legs[int(self._labels[i])],
                                         self._offsets[i], self.frames_per_crossing)
                         for i in indices])


def crossing_frames(image: np.ndarray, legs: tuple[str, str], jitter: tuple[float, float],
                    frames_per_crossing: int, sensor: int = 16) -> np.ndarray:
    """Frames `[2·F + 1, sensor, sensor]` of `image` crossing the sensor along two `legs`.

    Each leg ('right', 'left', 'down' or 'up') starts and ends with the image fully outside the
    sensor and moves `(sensor + size) / F` pixels per frame; `jitter` shifts the horizontal
    crossing down and the vertical one right (pixels), whatever their order.
    """
    size, n = image.shape[0], frames_per_crossing
    travel = np.linspace(-size, sensor, n + 1)  # top-left corner, from outside to outside
    frames = []
    for leg in legs:
        require(leg in ("right", "left", "down", "up"), "legs", "right, left, down or up", leg)
        along = travel if leg in ("right", "down") else travel[::-1]
        across = np.full(n + 1, (sensor - size) / 2 + jitter[int(leg in ("down", "up"))])
        dx, dy = (along, across) if leg in ("right", "left") else (across, along)
        frames += [shift_bilinear(image[None], x, y, (sensor, sensor))[0]
                   for x, y in zip(dx, dy, strict=True)]
    # leg 1 ends with a blank sensor, which is also where leg 2 starts
    return np.stack(frames[: n + 1] + frames[n + 2 :])


def shift_bilinear(images: np.ndarray, dx: float, dy: float,
                   canvas: tuple[int, int]) -> np.ndarray:
    """`images` `[B, h, w]` drawn on a black `canvas` `(H, W)` with the top-left at `(dx, dy)`.

    Sub-pixel shifts blend the four integer placements: `(1−fx)(1−fy)·I[⌊dx⌋, ⌊dy⌋] + ...`.
    """
    ix, iy = int(np.floor(dx)), int(np.floor(dy))
    fx, fy = dx - ix, dy - iy
    out = np.zeros((len(images), *canvas), np.float32)
    for ox, oy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                           (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        if weight > 0:
            _paste(out, images, ix + ox, iy + oy, weight)
    return out


def _paste(out: np.ndarray, images: np.ndarray, x: int, y: int, weight: float) -> None:
    """out[:, y:y+h, x:x+w] += weight · images, clipped to the canvas."""
    h, w = images.shape[1:]
    height, width = out.shape[1:]
    y0, y1, x0, x1 = max(y, 0), min(y + h, height), max(x, 0), min(x + w, width)
    if y0 < y1 and x0 < x1:
        out[:, y0:y1, x0:x1] += weight * images[:, y0 - y : y1 - y, x0 - x : x1 - x]


def hash_seed(*values: int) -> int:
    """A seed derived from integers, stable across runs (unlike `hash`)."""
    return int(np.random.SeedSequence(list(values)).generate_state(1)[0])


def _stratified_split(labels: np.ndarray, test_fraction: float, seed: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) indices: each class gives `round(fraction·count)` to test, clipped so
    that a class with two or more recordings lands in both."""
    rng = np.random.default_rng(hash_seed(seed, 1))
    test = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_test = min(max(round(test_fraction * len(members)), 1), len(members) - 1)
        test.append(members[:n_test])
    test = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(labels)), test), test


def _pack(events: list[np.ndarray], labels: np.ndarray) -> dict[str, np.ndarray]:
    """Concatenated compact columns plus offsets: recording i is `[offsets[i], offsets[i+1])`."""
    flat = np.concatenate(events) if events else np.zeros(0, EVENT_DTYPE)
    return {"x": flat["x"].astype(np.uint8), "y": flat["y"].astype(np.uint8),
            "t": flat["t"].astype(np.int32), "p": flat["p"].astype(np.uint8),
            "offsets": np.r_[0, np.cumsum([len(e) for e in events])].astype(np.int64),
            "labels": np.asarray(labels, np.int64)}


def _read_cache(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when the file is missing, corrupt or from other parameters."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {name: z[name] for name in ("x", "y", "t", "p", "offsets", "labels", "key")}
    except (OSError, ValueError, EOFError, KeyError, TypeError, AttributeError,
            zipfile.BadZipFile, zlib.error):
        return None
    offsets = data["offsets"]
    consistent = (
        str(data.pop("key")) == key
        and offsets.ndim == 1 and len(offsets) == len(data["labels"]) + 1
        and offsets[0] == 0 and bool(np.all(np.diff(offsets) >= 0))
        and all(len(data[name]) == offsets[-1] for name in ("x", "y", "t", "p"))
    )
    return data if consistent else None


def _write_cache(path: Path, key: str, data: dict[str, np.ndarray]) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, key=np.array(key), **data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def events_to_frames(events: np.ndarray, sensor_size: tuple[int, int, int], n_time_bins: int,
                     duration_us: int | None = None) -> torch.Tensor:
    """Event counts `[T, 2, H, W]` in `n_time_bins` equal bins of `[0, duration_us]`.

    Event `t` falls in bin `⌊t·T / duration⌋` (the last bin is closed, events after
    `duration_us` are dropped; default duration: the last event's time). Uses tonic's `ToFrame`
    on bin indices, which avoids its edges: an empty stream gives `[T, P, W, H]` floats, and
    `n_time_bins` can drop the event at `t_max` (integer bin width `(t_max − t_0) // T`).
    """
    from tonic.transforms import ToFrame

    require(n_time_bins >= 1, "n_time_bins", "≥ 1", n_time_bins)
    width, height, n_pol = sensor_size
    if duration_us is None:
        duration_us = int(events["t"].max()) if len(events) else 1
    require(duration_us > 0, "duration_us", "> 0", duration_us)
    t = events["t"].astype(np.int64)
    events = events[(t >= 0) & (t <= duration_us)]
    if len(events) == 0:
        return torch.zeros(n_time_bins, n_pol, height, width)
    binned = events.copy()
    binned["t"] = np.minimum(events["t"].astype(np.int64) * n_time_bins // duration_us,
                             n_time_bins - 1)
    binned = binned[np.argsort(binned["t"], kind="stable")]
    frame = ToFrame(sensor_size, time_window=1, start_time=0, end_time=n_time_bins)(binned)
    return torch.from_numpy(frame.astype(np.float32))


def to_frames(dataset: Any, n_time_bins: int, duration_us: int | None = None,
              denoise_us: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole dataset as event counts `[N, T, 2, H, W]` and labels `[N]`.

    `dataset`: ours or tonic's, anything with `sensor_size`, `len` and `[i] -> (events, label)`.

    Bins span `[0, duration_us]`, by default the dataset's `duration_us` if it has one (all
    samples share the same time axis), else each recording's last event. `denoise_us` first
    applies tonic's `Denoise(filter_time)`: an event is kept only if a neighbour pixel fired within
    that time (slow: a Python loop over events).
    """
    from tonic.transforms import Denoise

    duration_us = duration_us or getattr(dataset, "duration_us", None)
    frames, labels = [], []
    for i in range(len(dataset)):
        events, label = dataset[i]
        require(getattr(events, "dtype", None) is not None and events.dtype.names is not None,
                "dataset", "items of structured events (set transform=None)", type(events))
        if denoise_us is not None and len(events):
            events = Denoise(filter_time=denoise_us)(events)
        frames.append(events_to_frames(events, dataset.sensor_size, n_time_bins, duration_us))
        labels.append(int(label))
    return torch.stack(frames), torch.tensor(labels, dtype=torch.long)
