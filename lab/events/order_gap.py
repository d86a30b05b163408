"""Order across a gap: two bars sweep the sensor one after the other; the class is their order.

A vertical bar sweeps right (cue A) and a horizontal bar sweeps down (cue B), each in `d`
frames, `G` blank frames apart, starting at frame `o`:

    class 0:  frames [o, o+d) sweep A,  frames [o+d+G, o+2d+G) sweep B
    class 1:  frames [o, o+d) sweep B,  frames [o+d+G, o+2d+G) sweep A

Onset `o`, duration `d` (the bars' speed: one sweep in `d` frames) and gap `G` are drawn per
recording, so no frame index marks a cue. A pixel emits ON events while the bar's leading edge
crosses it and OFF events while its trailing edge does (`events_per_pixel` of each, spread over
the frames the edge takes), plus Poisson background noise in every frame. Counts are
`Poisson(rate)`: frames are independent given their rates.

Why order is needed: given (o, d, G), the rate frames of class 1 are a time permutation of those
of class 0 (each is one A sweep, one B sweep at the same speed, and blanks). So once the frames of
a recording are shuffled in time, both classes have the same distribution, and a model that
averages a per-frame readout (memoryless) sees the same thing in both: both are at chance in
expectation. A model that is told the frame index can still exploit where cues tend to fall:
that is what the frame-index control in `lab.controls` measures.

Generation is vectorised and seeded by the data seed: 2,000 recordings of 16 frames of 8×8 take
a few tens of milliseconds, so nothing is cached.

Example:
    >>> task = OrderGap(timesteps=16, gap_min=5, gap_max=10)
    >>> x, y = task.generate(100, seed=0)
    >>> tuple(x.shape), tuple(y.shape)
    ((100, 16, 2, 8, 8), (100,))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lab.core import data
from lab.core.config import require

CLASSES = ("vertical bar sweeping right, then horizontal bar sweeping down",
           "horizontal bar sweeping down, then vertical bar sweeping right")


@dataclass(frozen=True)
class Draw:
    """The nuisances of each recording: label, onset o, duration d, gap G (frames), `[N]` each."""

    labels: np.ndarray
    onsets: np.ndarray
    durations: np.ndarray
    gaps: np.ndarray


@dataclass(frozen=True)
class OrderGap:
    """The order-across-a-gap task: sensor `size`×`size`, `timesteps` frames (see module doc).

    `gap_min..gap_max`: blank frames between the two sweeps; `duration_min..duration_max`:
    frames per sweep; `bar_width` in pixels; `events_per_pixel`: ON (and OFF) events a pixel emits
    per edge crossing; `noise_rate`: background events per pixel, polarity and frame.
    """

    timesteps: int = 16
    size: int = 8
    gap_min: int = 1
    gap_max: int = 2
    duration_min: int = 2
    duration_max: int = 3
    bar_width: float = 2.0
    events_per_pixel: float = 2.0
    noise_rate: float = 0.05

    def __post_init__(self) -> None:
        require(self.timesteps >= 2, "timesteps", "≥ 2 (two cues)", self.timesteps)
        require(2 <= self.size <= 64, "size", "in [2, 64] pixels", self.size)
        # a sweep in one frame lights every pixel once each way: no orientation, no cue
        require(2 <= self.duration_min <= self.duration_max, "duration_min",
                f"in 2..duration_max = 2..{self.duration_max} (frames per sweep)",
                self.duration_min)
        require(0 <= self.gap_min <= self.gap_max, "gap_min",
                f"in 0..gap_max = 0..{self.gap_max} (frames)", self.gap_min)
        longest = self.timesteps - 2 * self.duration_max
        require(self.gap_max <= longest, "gap_max",
                f"≤ timesteps − 2·duration_max = {self.timesteps} − 2·{self.duration_max} = "
                f"{longest} frames (two sweeps and the gap must fit in the recording)",
                self.gap_max)
        require(0 < self.bar_width <= self.size, "bar_width", f"in (0, {self.size}] pixels",
                self.bar_width)
        require(self.events_per_pixel > 0, "events_per_pixel", "> 0", self.events_per_pixel)
        require(self.noise_rate >= 0, "noise_rate", "≥ 0", self.noise_rate)

    def draw(self, n: int, seed: int) -> Draw:
        """Balanced labels and uniform nuisances for `n` recordings, from `seed`."""
        require(n >= 2, "n_samples", "≥ 2 (one per class)", n)
        rng = np.random.default_rng(seed)
        labels = rng.permutation(np.arange(n) % 2)
        durations = rng.integers(self.duration_min, self.duration_max + 1, n)
        gaps = rng.integers(self.gap_min, self.gap_max + 1, n)
        onsets = rng.integers(0, self.timesteps - 2 * durations - gaps + 1)
        return Draw(labels, onsets, durations, gaps)

    def sweep(self, duration: int) -> np.ndarray:
        """Event rates `[d, 2, size, size]` of the vertical bar sweeping right in `d` frames
        (channel 0: OFF, 1: ON); the horizontal bar sweeping down is its spatial transpose.

        The bar's left edge moves from −width to `size`; in frame i it moves from p_i to p_{i+1},
        so column c emits ON for the overlap of [c, c+1] with the leading edge's path
        [p_i + width, p_{i+1} + width], and OFF for the overlap with the trailing edge's path.
        """
        cols = np.arange(self.size)[None, :]
        path = np.linspace(-self.bar_width, self.size, duration + 1)[:, None]

        def crossed(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
            return np.clip(np.minimum(stop, cols + 1) - np.maximum(start, cols), 0, 1)

        on = crossed(path[:-1] + self.bar_width, path[1:] + self.bar_width)
        off = crossed(path[:-1], path[1:])
        profile = self.events_per_pixel * np.stack([off, on], axis=1)  # [d, 2, size]
        return np.repeat(profile[:, :, None, :], self.size, axis=2)

    def rates(self, draw: Draw) -> np.ndarray:
        """Event rates `[N, T, 2, size, size]` of the drawn recordings, before noise."""
        n = len(draw.labels)
        out = np.zeros((n, self.timesteps, 2, self.size, self.size))
        for d in np.unique(draw.durations):
            a = self.sweep(int(d))
            cues = (a, a.swapaxes(-1, -2))  # A: vertical bar right; B: horizontal bar down
            for i in np.flatnonzero(draw.durations == d):
                o, g, label = draw.onsets[i], draw.gaps[i], draw.labels[i]
                out[i, o:o + d] = cues[label]
                out[i, o + d + g:o + 2 * d + g] = cues[1 - label]
        return out

    def generate(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`n` recordings as event counts `[N, T, 2, size, size]` (float) and labels `[N]`."""
        draw = self.draw(n, seed)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        counts = rng.poisson(self.rates(draw) + self.noise_rate).astype(np.float32)
        return torch.from_numpy(counts), torch.from_numpy(draw.labels.astype(np.int64))

    def split(self, n_samples: int = 2000, seed: int = 0, test_fraction: float = 0.2) -> data.Split:
        """`n_samples` recordings from data seed `seed`, split into train / validation / test."""
        require(0.0 < test_fraction < 1.0, "test_fraction", "in (0, 1)", test_fraction)
        require(n_samples >= 20, "n_samples", "≥ 20", n_samples)
        x, y = self.generate(n_samples, seed)
        # stratified, so that chance is 50% on every part and a constant guess scores it
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        test = np.concatenate([rng.permutation(np.flatnonzero(y.numpy() == c))[
            : round(test_fraction * n_samples / 2)] for c in (0, 1)])
        train = torch.from_numpy(np.setdiff1d(np.arange(n_samples), test))
        test = torch.from_numpy(np.sort(test))
        whole = data.Split(x[train], y[train], x[test], y[test], "order_gap")
        return data.with_validation(whole, seed=seed)
