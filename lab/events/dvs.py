"""A DVS emulator: intensity frames in, ON/OFF events out (tonic's structured `x, y, t, p`).

A DVS pixel reports changes of its log intensity `L = ln(I + ε)`. It remembers the level
`L_ref` of its last event and fires

    ON  (p = 1) when L(t) ≥ L_ref + θ_ij,   then L_ref ← L_ref + θ_ij
    OFF (p = 0) when L(t) ≤ L_ref − θ_ij,   then L_ref ← L_ref − θ_ij

so a change `ΔL` gives `⌊|ΔL| / θ_ij⌋` events. Between two frames `L(t)` is linear in time and
every event carries the time of its own crossing (microseconds, rounded down).

Three non-idealities, each off when its parameter is 0:
- threshold mismatch: `θ_ij = max(θ + σ·ε_ij, θ/10)`, `ε_ij ~ N(0, 1)` fixed per pixel (one sensor);
- refractory period `R`: after an event at `t_e` the pixel is held in reset until `t_e + R`;
  changes in that time are not reported and `L_ref` is set to `L(t_e + R)` on release (the lab's
  choice: the pixel's reset switch holds its difference amplifier at the input);
- background activity: spontaneous events, a Poisson process of `noise_rate_hz` per pixel, ON or
  OFF with equal chance; they leave `L_ref` alone and a noise event closer than `R` to another
  event of its pixel is dropped, so the refractory period holds for every event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lab.core.config import require

EVENT_DTYPE = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])  # tonic's N-MNIST dtype


@dataclass(frozen=True)
class DVSParams:
    """Pixel parameters: contrast threshold θ (ln units), its mismatch σ, refractory, noise, ε."""

    contrast_threshold: float = 0.4
    threshold_mismatch: float = 0.03
    refractory_us: int = 1000
    noise_rate_hz: float = 0.2
    log_eps: float = 0.2

    def __post_init__(self) -> None:
        finite = {k: math.isfinite(float(v)) for k, v in vars(self).items()}
        require(finite["contrast_threshold"] and self.contrast_threshold > 0,
                "contrast_threshold", "> 0 (ln units, e.g. 0.1–0.5)", self.contrast_threshold)
        require(finite["threshold_mismatch"] and self.threshold_mismatch >= 0,
                "threshold_mismatch", "≥ 0", self.threshold_mismatch)
        require(isinstance(self.refractory_us, int | np.integer) and self.refractory_us >= 0,
                "refractory_us", "an integer ≥ 0 (microseconds)", self.refractory_us)
        require(finite["noise_rate_hz"] and self.noise_rate_hz >= 0,
                "noise_rate_hz", "≥ 0 (events per pixel per second)", self.noise_rate_hz)
        require(finite["log_eps"] and self.log_eps > 0, "log_eps", "> 0", self.log_eps)
        for name, value in list(vars(self).items()):  # plain numbers: equal params, equal hash
            object.__setattr__(self, name, int(value) if name == "refractory_us" else float(value))


def emulate(frames: np.ndarray, times_us: np.ndarray, params: DVSParams = DVSParams(),
            seed: int = 0) -> np.ndarray:
    """Events of one recording: `frames` `[T, H, W]` intensities ≥ 0 at `times_us` `[T]`."""
    frames = np.asarray(frames)
    require(frames.ndim == 3, "frames", "a 3-D array [T, H, W]", f"shape {frames.shape}")
    return emulate_batch(frames[None], times_us, params, seed)[0]


def emulate_batch(frames: np.ndarray, times_us: np.ndarray, params: DVSParams = DVSParams(),
                  seed: int = 0, sensor_seed: int | None = None) -> list[np.ndarray]:
    """Events of `B` recordings `[B, T, H, W]` by one sensor, vectorised over all their pixels.

    `sensor_seed` (default `seed`) draws the threshold mismatch, shared by the B recordings;
    `seed` draws the background noise, independent per recording.
    """
    frames, times = _check(frames, times_us)
    n_rec, _, height, width = frames.shape
    sensor = threshold_map((height, width), params, seed if sensor_seed is None else sensor_seed)
    thresholds = np.tile(sensor.ravel(), n_rec)
    # pixels of all recordings side by side: [T, B·H·W]
    log_frames = np.log(frames.transpose(1, 0, 2, 3).reshape(len(times), -1) + params.log_eps)
    pix, t, p = _threshold_crossings(log_frames, times, thresholds, params.refractory_us)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    pix, t, p = _add_noise(pix, t, p, rng, log_frames.shape[1], times, params)
    return _split(pix, t, p, n_rec, height, width)


def threshold_map(shape: tuple[int, int], params: DVSParams, seed: int) -> np.ndarray:
    """Per-pixel thresholds `θ_ij = max(θ + σ·ε_ij, θ/10)`, fixed for a sensor by `seed`."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    theta = params.contrast_threshold + params.threshold_mismatch * rng.standard_normal(shape)
    return np.maximum(theta, params.contrast_threshold / 10)


def _check(frames: np.ndarray, times_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frames, times = np.asarray(frames), np.asarray(times_us)
    require(frames.ndim == 4, "frames", "a 4-D array [B, T, H, W]", f"shape {frames.shape}")
    require(frames.dtype.kind == "f", "frames", "a float array of intensities", frames.dtype)
    require(frames.shape[1] >= 2, "frames", "at least 2 frames in time", frames.shape[1])
    require(bool(np.isfinite(frames).all()), "frames", "finite (no NaN or inf)", "non-finite")
    require(bool((frames >= 0).all()), "frames", "intensities ≥ 0", float(frames.min()))
    require(times.ndim == 1 and len(times) == frames.shape[1], "times_us",
            f"a 1-D array of length T = {frames.shape[1]}", f"shape {times.shape}")
    require(times.dtype.kind in "iuf" and bool(np.isfinite(times).all()), "times_us",
            "finite numbers (microseconds)", times.dtype)
    bad = np.flatnonzero(np.diff(times) <= 0)
    require(bad.size == 0, "times_us", "strictly increasing",
            f"{times[bad[:1] + 1]} after {times[bad[:1]]}")
    return frames, times.astype(np.float64)


def _threshold_crossings(log_frames: np.ndarray, times: np.ndarray, theta: np.ndarray,
                         refractory: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal events `(pixel, t, p)`: a loop over frames, each round emitting one crossing.

    `L_ref = base + n·θ` with an integer `n`: a pixel that returns exactly to `base` (a digit
    leaving a black background) then meets its last threshold exactly, not by rounding luck.
    """
    base = log_frames[0].astype(np.float64)
    n = np.zeros(base.shape)  # whole steps of θ since `base` was set
    released = np.full(base.shape, -np.inf)  # time at which each pixel leaves refractory
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for k in range(1, len(times)):
        l0, l1 = log_frames[k - 1].astype(np.float64), log_frames[k].astype(np.float64)
        t0, t1 = times[k - 1], times[k]
        idx = np.flatnonzero((np.abs((l1 - base) / theta - n) >= 1) | (released > t0))
        now = np.full(idx.size, t0)
        while idx.size:
            a0, a1, th = l0[idx], l1[idx], theta[idx]
            # held in reset until release: the reference follows the input, L_ref = L(release)
            held = released[idx] > now
            release = np.minimum(released[idx], t1)
            base[idx] = np.where(held, a0 + (a1 - a0) * (release - t0) / (t1 - t0), base[idx])
            n[idx] = np.where(held, 0, n[idx])
            now = np.where(held, release, now)
            steps = (a1 - base[idx]) / th - n[idx]
            up = steps >= 1
            fire = up | (steps <= -1)
            idx, a0, a1, now, up = idx[fire], a0[fire], a1[fire], now[fire], up[fire]
            n[idx] += np.where(up, 1, -1)
            level = base[idx] + n[idx] * theta[idx]
            slope = np.where(a1 != a0, a1 - a0, 1.0)
            now = np.maximum(t0 + np.clip((level - a0) / slope, 0.0, 1.0) * (t1 - t0), now)
            released[idx] = now + refractory
            out.append((idx, now, up.astype(np.int64)))
    if not out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    pix, t, p = (np.concatenate(a) for a in zip(*out, strict=True))
    return pix, np.floor(t).astype(np.int64), p


def _add_noise(pix: np.ndarray, t: np.ndarray, p: np.ndarray, rng: np.random.Generator,
               n_pixels: int, times: np.ndarray, params: DVSParams
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal plus Poisson background events; noise closer than R to another event is dropped."""
    duration = times[-1] - times[0]
    n = rng.poisson(params.noise_rate_hz * n_pixels * duration * 1e-6)
    n_pix = rng.integers(0, n_pixels, n)
    n_t = np.floor(rng.uniform(times[0], times[-1], n)).astype(np.int64)
    n_p = rng.integers(0, 2, n)
    refractory = params.refractory_us
    if n and refractory > 0:
        # one key per (pixel, time) whose gaps exceed R between pixels: |Δkey| < R ⇒ same pixel
        base = int(np.floor(times[0]))
        span = int(np.ceil(times[-1])) - base + 2 * refractory + 1
        far = np.iinfo(np.int64).max // 4  # sentinels: no signal event before / after
        key = np.r_[-far, np.sort(pix * span + (t - base)), far]
        n_key = n_pix * span + (n_t - base)
        i = np.searchsorted(key, n_key)
        before, after = n_key - key[i - 1], key[i] - n_key
        kept = np.flatnonzero((before >= refractory) & (after >= refractory))
        kept = kept[np.argsort(n_key[kept], kind="stable")]
        while kept.size > 1:  # drop the first too-close noise event of each chain, repeat
            close = np.r_[False, np.diff(n_key[kept]) < refractory]
            drop = close & ~np.r_[False, close[:-1]]
            if not drop.any():
                break
            kept = kept[~drop]
        n_pix, n_t, n_p = n_pix[kept], n_t[kept], n_p[kept]
    return np.r_[pix, n_pix], np.r_[t, n_t], np.r_[p, n_p]


def _split(pix: np.ndarray, t: np.ndarray, p: np.ndarray, n_rec: int, height: int,
           width: int) -> list[np.ndarray]:
    """One structured array per recording, sorted by time (then y, x, p)."""
    n_pix = height * width
    rec, rest = np.divmod(pix, n_pix)
    t0 = int(t.min()) if t.size else 0
    span = int(t.max()) - t0 + 1 if t.size else 1
    # one int64 key ordered like (recording, t, y, x, p): a single sort instead of a lexsort
    key = np.sort((rec * span + (t - t0)) * (2 * n_pix) + rest * 2 + p)
    rest, p = np.divmod(key % (2 * n_pix), 2)
    rec, t = np.divmod(key // (2 * n_pix), span)
    y, x = np.divmod(rest, width)
    events = np.empty(key.size, EVENT_DTYPE)
    for name, values in zip("xytp", (x, y, t + t0, p), strict=True):
        events[name] = values
    bounds = np.searchsorted(rec, np.arange(n_rec + 1))
    return [events[bounds[i]:bounds[i + 1]].copy() for i in range(n_rec)]
