"""Event streams: DVS emulator throughput and the time to build the default event datasets.

    python benchmarks/events.py [--quick]

Last line: `RESULT events events_per_s=... build_s=...`. `events_per_s` is the emulator's rate on
a moving texture (`emulate_batch`, best of the repeats); `build_s` the time to generate and cache
the default `NMNISTLike` and `MovingDigits` (train + test) into a fresh temporary folder, after
MNIST-5k is loaded (its one-time parse is timed on its own row).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from lab.core.data import load_images
from lab.events import DVSParams, MovingDigits, NMNISTLike, emulate_batch
from lab.events.datasets import shift_bilinear


def moving_texture(n_recordings: int, n_frames: int, size: int, seed: int) -> np.ndarray:
    """Smooth random textures `[B, T, size, size]` sliding diagonally by 0.5 pixel per frame."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 1, (n_recordings, size // 4 + 8, size // 4 + 8))
    texture = np.kron(coarse, np.ones((4, 4))).astype(np.float32)  # 4×4 blocks, sharp edges
    return np.stack([shift_bilinear(texture, -0.5 * k, -0.5 * k, (size, size))
                     for k in range(n_frames)], axis=1)


def time_emulator(quick: bool, seed: int) -> tuple[int, float]:
    """(events, best seconds) of `emulate_batch` on the moving texture."""
    n_recordings, repeats = (16, 2) if quick else (64, 5)
    frames = moving_texture(n_recordings, 100, 64, seed)
    times = np.arange(100) * 1000.0
    best, n_events = np.inf, 0
    for _ in range(repeats):
        start = time.perf_counter()
        events = emulate_batch(frames, times, DVSParams(), seed=seed)
        best = min(best, time.perf_counter() - start)
        n_events = sum(len(e) for e in events)
    return n_events, best


def time_build(seed: int) -> list[tuple[str, int, int, float]]:
    """(name, recordings, events, seconds) for each default dataset, built in a fresh folder."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for cls in (NMNISTLike, MovingDigits):
            start = time.perf_counter()
            sets = [cls(split, seed=seed, cache_dir=cache) for split in ("train", "test")]
            seconds = time.perf_counter() - start
            n_events = sum(len(s[i][0]) for s in sets for i in range(len(s)))
            rows.append((cls.__name__, sum(len(s) for s in sets), n_events, seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, < 1 min on 2 cores")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    load_images("mnist")
    load_s = time.perf_counter() - start
    n_events, emulate_s = time_emulator(args.quick, args.seed)
    rows = time_build(args.seed)
    build_s = sum(r[3] for r in rows)

    print(f"{'step':<40} {'recordings':>10} {'events':>10} {'seconds':>8} {'events/s':>11}")
    print(f"{'load MNIST-5k (once per process)':<40} {'':>10} {'':>10} {load_s:>8.2f} {'':>11}")
    print(f"{'emulate_batch, 64×64 texture, 100 fr':<40} {16 if args.quick else 64:>10} "
          f"{n_events:>10} {emulate_s:>8.2f} {n_events / emulate_s:>11.0f}")
    for name, n_rec, n_ev, seconds in rows:
        print(f"{'build ' + name + ' (train + test)':<40} {n_rec:>10} {n_ev:>10} "
              f"{seconds:>8.2f} {n_ev / seconds:>11.0f}")
    print(f"RESULT events events_per_s={n_events / emulate_s:.0f} build_s={build_s:.2f}")


if __name__ == "__main__":
    main()
