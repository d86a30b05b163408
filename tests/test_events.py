"""Event streams: emulator physics, cached datasets, tonic edges, offline loaders, plots."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from lab.core import data
from lab.core.config import ConfigError
from lab.events import datasets as ev_datasets
from lab.events import loaders
from lab.events.datasets import (
    MovingDigits,
    NMNISTLike,
    crossing_frames,
    events_to_frames,
    to_frames,
)
from lab.events.dvs import EVENT_DTYPE, DVSParams, emulate, emulate_batch, threshold_map
from lab.events.order_gap import OrderGap
from lab.events.plot import event_animation, event_raster

IDEAL = DVSParams(contrast_threshold=0.2, threshold_mismatch=0.0, refractory_us=0,
                  noise_rate_hz=0.0, log_eps=0.1)


def step_frames(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Two frames `[2, H, W]`: intensity `before` at t = 0, `after` at t = 1000 µs."""
    return np.stack([before, after]).astype(np.float64)


def per_pixel_counts(events: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """ON and OFF counts `[2, H, W]`."""
    counts = np.zeros((2, *shape), int)
    np.add.at(counts, (events["p"], events["y"], events["x"]), 1)
    return counts


# --- emulator physics ------------------------------------------------------------------------

def test_brightening_pixel_emits_on_and_darkening_pixel_off():
    before = np.full((1, 2), 0.5)
    after = np.array([[0.9, 0.1]])
    events = emulate(step_frames(before, after), np.array([0, 1000]), IDEAL)
    assert set(events[events["x"] == 0]["p"]) == {1}
    assert set(events[events["x"] == 1]["p"]) == {0}


def test_event_count_is_log_change_over_threshold_with_interpolated_times():
    rng = np.random.default_rng(0)
    before, after = rng.uniform(0, 1, (2, 8, 8))
    events = emulate(step_frames(before, after), np.array([0, 1000]), IDEAL)
    delta = np.log(after + IDEAL.log_eps) - np.log(before + IDEAL.log_eps)
    expected = np.floor(np.abs(delta) / IDEAL.contrast_threshold).astype(int)
    counts = per_pixel_counts(events, (8, 8))
    np.testing.assert_array_equal(counts.sum(0), expected)
    np.testing.assert_array_equal(counts[1] > 0, (delta > 0) & (expected > 0))
    # the k-th event of a pixel lies where L crosses L_0 ± k·θ, linearly between the frames
    for y, x in [(0, 0), (3, 5), (7, 7)]:
        times = np.sort(events[(events["y"] == y) & (events["x"] == x)]["t"])
        k = np.arange(1, expected[y, x] + 1)
        np.testing.assert_array_equal(
            times, np.floor(k * IDEAL.contrast_threshold / abs(delta[y, x]) * 1000))


def test_change_over_many_frames_counts_net_crossings():
    # up by 2.5 θ in five small steps, then back down: 2 ON then 2 OFF, in that order
    levels = np.exp(np.r_[np.linspace(0, 0.5, 6), 0.0]) - IDEAL.log_eps
    frames = levels[:, None, None] * np.ones((1, 1, 1))
    events = emulate(frames, np.arange(7) * 1000.0, IDEAL)
    assert list(events["p"]) == [1, 1, 0, 0]
    assert np.all(np.diff(events["t"]) >= 0)


def test_static_scene_gives_no_events_without_noise():
    frames = np.repeat(np.random.default_rng(1).uniform(0, 1, (1, 16, 16)), 20, axis=0)
    quiet = DVSParams(noise_rate_hz=0.0)  # default mismatch and refractory
    assert len(emulate(frames, np.arange(20) * 1000.0, quiet)) == 0


def test_refractory_period_holds_for_every_pixel():
    rng = np.random.default_rng(2)
    frames = rng.uniform(0, 1, (60, 12, 12))  # flicker: many events per pixel
    params = DVSParams(refractory_us=800, noise_rate_hz=30.0)
    events = emulate(frames, np.arange(60) * 500.0, params)
    order = np.lexsort((events["t"], events["x"], events["y"]))
    e = events[order]
    same_pixel = (np.diff(e["x"]) == 0) & (np.diff(e["y"]) == 0)
    assert same_pixel.any()
    assert np.diff(e["t"])[same_pixel].min() >= params.refractory_us
    free = emulate(frames, np.arange(60) * 500.0, DVSParams(refractory_us=0, noise_rate_hz=0))
    assert len(free) > len(events)


def test_refractory_drops_crossings_and_resets_reference_on_release():
    # one jump of 5θ in 1 ms with R = 1 ms: the first crossing fires, then the pixel is blind
    frames = step_frames(np.full((1, 1), 1.0), np.full((1, 1), np.exp(1.0 + np.log(1.1)) - 0.1))
    params = DVSParams(contrast_threshold=0.2, threshold_mismatch=0.0, refractory_us=1000,
                       noise_rate_hz=0.0, log_eps=0.1)
    times = np.array([0, 1000])
    assert len(emulate(frames, times, params)) == 1
    # held static afterwards: the reference took the level at release, so no late events
    held = np.concatenate([frames, frames[-1:].repeat(3, 0)])
    assert len(emulate(held, np.arange(5) * 1000, params)) == 1


def test_noise_rate_matches_poisson_background():
    frames = np.full((2, 32, 32), 0.5)
    params = DVSParams(noise_rate_hz=20.0, refractory_us=100)
    events = emulate(frames, np.array([0, 1_000_000]), params, seed=3)
    expected = 20.0 * 32 * 32 * 1.0
    assert abs(len(events) - expected) < 4 * np.sqrt(expected) + 0.01 * expected
    assert 0.45 < events["p"].mean() < 0.55
    assert events["t"].min() >= 0 and events["t"].max() <= 1_000_000


def test_threshold_mismatch_is_seeded_per_pixel():
    params = DVSParams(threshold_mismatch=0.05)
    a, b = threshold_map((8, 8), params, 0), threshold_map((8, 8), params, 1)
    np.testing.assert_array_equal(a, threshold_map((8, 8), params, 0))
    assert not np.array_equal(a, b)
    assert abs(a.std() - 0.05) < 0.02 and a.min() > 0
    assert np.all(threshold_map((4, 4), IDEAL, 0) == IDEAL.contrast_threshold)


def test_same_seed_same_events_and_tonic_dtype_sorted_by_time():
    frames = np.random.default_rng(4).uniform(0, 1, (10, 10, 10))
    times = np.arange(10) * 2000
    a, b = emulate(frames, times, seed=7), emulate(frames, times, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, emulate(frames, times, seed=8))
    assert a.dtype == EVENT_DTYPE and a.dtype.names == ("x", "y", "t", "p")
    assert np.all(np.diff(a["t"]) >= 0)


def test_batch_shares_one_sensor_and_matches_single_emulation():
    frames = np.random.default_rng(5).uniform(0, 1, (6, 5, 7))
    times = np.arange(6) * 1000
    quiet = DVSParams(noise_rate_hz=0.0, threshold_mismatch=0.05)
    first, second = emulate_batch(np.stack([frames, frames]), times, quiet, seed=1)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, emulate(frames, times, quiet, seed=1))


@pytest.mark.parametrize("field, value", [
    ("contrast_threshold", 0.0), ("contrast_threshold", -0.1), ("contrast_threshold", np.nan),
    ("threshold_mismatch", -0.01), ("refractory_us", -1), ("refractory_us", 1.5),
    ("noise_rate_hz", -1.0), ("log_eps", 0.0),
])
def test_bad_parameters_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        DVSParams(**{field: value})


@pytest.mark.parametrize("frames, times, name", [
    (np.zeros((4, 4)), np.arange(4), "frames"),  # not [T, H, W]
    (np.zeros((4, 2, 2), int), np.arange(4), "frames"),  # not float
    (np.full((4, 2, 2), np.nan), np.arange(4), "frames"),
    (np.full((4, 2, 2), -1.0), np.arange(4), "frames"),
    (np.zeros((1, 2, 2)), np.arange(1), "frames"),  # one frame has no changes
    (np.zeros((4, 2, 2)), np.array([0, 1, 1, 2]), "times_us"),  # not increasing
    (np.zeros((4, 2, 2)), np.arange(3), "times_us"),  # wrong length
])
def test_bad_input_names_the_parameter(frames, times, name):
    with pytest.raises(ValueError, match=name):
        emulate(frames, times)


# --- frames and tonic's ToFrame edges ----------------------------------------------------------

def events_from(x, y, t, p) -> np.ndarray:
    events = np.zeros(len(t), EVENT_DTYPE)
    events["x"], events["y"], events["t"], events["p"] = x, y, t, p
    return events


def test_tonic_1_7_toframe_edges_are_still_there():
    """The edges `events_to_frames` works around; drop this test when tonic fixes them."""
    from tonic.transforms import ToFrame

    empty = ToFrame((5, 3, 2), n_time_bins=4)(np.zeros(0, EVENT_DTYPE))
    assert empty.shape == (4, 2, 5, 3)  # x and y swapped
    events = events_from([0, 1, 2], [0, 0, 0], [0, 50, 100], [1, 1, 1])
    assert ToFrame((5, 3, 2), n_time_bins=4)(events).sum() == 2  # the event at t_max is lost


def test_events_to_frames_handles_empty_streams_and_keeps_the_last_event():
    empty = events_to_frames(np.zeros(0, EVENT_DTYPE), (5, 3, 2), n_time_bins=4)
    assert empty.shape == (4, 2, 3, 5) and empty.dtype == torch.float32 and empty.sum() == 0
    events = events_from([0, 1, 2, 4], [0, 2, 1, 2], [0, 50, 99, 100], [1, 0, 1, 1])
    frames = events_to_frames(events, (5, 3, 2), n_time_bins=4)
    assert frames.shape == (4, 2, 3, 5) and frames.sum() == 4
    assert frames[3, 1, 2, 4] == 1 and frames[2, 0, 2, 1] == 1  # t_max in the last bin
    short = events_to_frames(events_from([0, 1], [0, 0], [0, 2], [1, 0]), (5, 3, 2), 8)
    assert short.sum() == 2  # shorter than one µs per bin: tonic's integer bins are empty


def test_events_to_frames_matches_a_direct_histogram():
    rng = np.random.default_rng(6)
    n = 500
    events = events_from(rng.integers(0, 7, n), rng.integers(0, 5, n),
                         np.sort(rng.integers(0, 10_001, n)), rng.integers(0, 2, n))
    frames = events_to_frames(events, (7, 5, 2), n_time_bins=6, duration_us=10_000)
    expected = np.zeros((6, 2, 5, 7))
    bins = np.minimum(events["t"] * 6 // 10_000, 5)
    np.add.at(expected, (bins, events["p"], events["y"], events["x"]), 1)
    np.testing.assert_array_equal(frames.numpy(), expected)


# --- datasets -----------------------------------------------------------------------------------

@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_CACHE", str(tmp_path / "env-cache"))
    return tmp_path / "cache"


def test_datasets_follow_tonics_interface_and_split_deterministically(cache):
    train = MovingDigits("train", n_samples=24, cache_dir=cache)
    test = MovingDigits("test", n_samples=24, cache_dir=cache)
    assert len(train) + len(test) == 24 and len(test) == 4 * round(0.2 * 6)
    assert not set(train._indices) & set(test._indices)
    events, label = train[0]
    assert events.dtype == EVENT_DTYPE and isinstance(label, int) and 0 <= label < 4
    assert train.sensor_size == (16, 16, 2) and train.ordering == ("x", "y", "t", "p")
    assert len(train.classes) == 4 and events["x"].max() < 16
    again = MovingDigits("train", n_samples=24, cache_dir=cache)
    np.testing.assert_array_equal(again[0][0], events)
    framed = MovingDigits("train", n_samples=24, cache_dir=cache,
                          transform=lambda e: events_to_frames(e, (16, 16, 2), 5))
    assert framed[0][0].shape == (5, 2, 16, 16)


def test_nmnist_like_makes_three_saccades_on_a_34_pixel_sensor(cache):
    data = NMNISTLike("test", n_samples=20, cache_dir=cache)
    assert data.sensor_size == (34, 34, 2) and len(data.classes) == 10
    events, _ = data[0]
    assert 500 < len(events) and events["x"].max() < 34 and events["y"].max() < 34
    assert events["t"].max() <= data.duration_us == 300_000
    per_saccade = np.histogram(events["t"], bins=[0, 100_000, 200_000, 300_001])[0]
    assert np.all(per_saccade > 0.15 * len(events))


def test_cache_is_keyed_by_every_generation_parameter(cache, monkeypatch):
    base = MovingDigits("train", n_samples=8, cache_dir=cache)
    assert base.path.exists() and base.path.parent == cache
    variants = [
        MovingDigits("train", n_samples=8, cache_dir=cache, seed=1),
        MovingDigits("train", n_samples=12, cache_dir=cache),
        MovingDigits("train", n_samples=8, cache_dir=cache, jitter_px=0.5),
        MovingDigits("train", n_samples=8, cache_dir=cache, params=DVSParams(refractory_us=10)),
    ]
    names = {base.path.name} | {v.path.name for v in variants}
    assert len(names) == 5
    # a second construction, either split, reads the file instead of generating again
    monkeypatch.setattr(MovingDigits, "_generate", lambda self: pytest.fail("regenerated"))
    again = MovingDigits("test", n_samples=8, cache_dir=cache)
    assert again.path == base.path and len(again) + len(base) == 8


def test_cache_dir_comes_from_argument_then_environment(cache, tmp_path):
    from_env = MovingDigits("train", n_samples=8)
    assert from_env.path.parent == tmp_path / "env-cache"
    assert MovingDigits("train", n_samples=8, cache_dir=cache).path.parent == cache


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "other-key"])
def test_corrupt_cache_is_detected_and_rebuilt(cache, damage):
    good = MovingDigits("train", n_samples=8, cache_dir=cache)
    reference = [good[i][0] for i in range(len(good))]
    raw = good.path.read_bytes()
    if damage == "truncate":
        good.path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        good.path.write_bytes(b"not a zip file" * 100)
    elif damage == "empty":
        good.path.write_bytes(b"")
    else:  # a valid file written for other parameters
        other = MovingDigits("train", n_samples=8, seed=5, cache_dir=cache)
        good.path.write_bytes(other.path.read_bytes())
    rebuilt = MovingDigits("train", n_samples=8, cache_dir=cache)
    for i, events in enumerate(reference):
        np.testing.assert_array_equal(rebuilt[i][0], events)
    assert ev_datasets._read_cache(good.path, good.cache_key()) is not None
    assert not list(cache.glob("*.tmp"))


def test_moving_digit_classes_differ_only_in_temporal_order():
    image = np.zeros((14, 14))
    image[3:11, 5:8] = 1.0
    image[3:6, 5:11] = 0.7  # an asymmetric shape
    times = np.linspace(0, 200_000, 41)
    counts, early = [], []
    for legs in MovingDigits.legs.values():
        events = emulate(crossing_frames(image, legs, (0.3, -0.6), 20), times, IDEAL)
        counts.append(per_pixel_counts(events, (16, 16)))
        early.append(per_pixel_counts(events[events["t"] < 50_000], (16, 16)))
    for c in counts[1:]:
        np.testing.assert_array_equal(c, counts[0])  # same events per pixel and polarity
    assert all(not np.array_equal(early[0], e) for e in early[1:])


def test_to_frames_stacks_a_dataset_without_losing_events(cache):
    data = MovingDigits("test", n_samples=8, cache_dir=cache)
    frames, labels = to_frames(data, n_time_bins=4)
    assert frames.shape == (len(data), 4, 2, 16, 16) and frames.dtype == torch.float32
    assert labels.dtype == torch.long and labels.tolist() == [data[i][1] for i in range(len(data))]
    assert frames.sum().item() == sum(len(data[i][0]) for i in range(len(data)))
    denoised, _ = to_frames(data, n_time_bins=4, denoise_us=5_000)
    assert 0 < denoised.sum() <= frames.sum()


# --- loaders: offline, real on-disk formats ---------------------------------------------------

@pytest.fixture()
def no_download(monkeypatch):
    import tonic.dataset

    monkeypatch.setattr(tonic.dataset, "download_and_extract_archive",
                        lambda *a, **k: pytest.fail("tonic tried to download"))


def write_nmnist_bin(path, events: np.ndarray) -> None:
    """N-MNIST's 40-bit events: x, y, then p (bit 7) and a 23-bit timestamp, big-endian."""
    raw = np.zeros((len(events), 5), np.uint8)
    t = events["t"].astype(np.int64)
    raw[:, 0], raw[:, 1] = events["x"], events["y"]
    raw[:, 2] = (events["p"].astype(np.int64) << 7) | ((t >> 16) & 0x7F)
    raw[:, 3], raw[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw.tobytes())


def test_loaders_fail_at_once_with_instructions_when_files_are_missing(tmp_path, no_download):
    for load, words in [(loaders.nmnist, ["N-MNIST", "Train", "mendeley"]),
                        (loaders.dvs_gesture, ["DVS Gesture", "ibmGestureTrain", "figshare"]),
                        (loaders.cifar10_dvs, ["CIFAR10-DVS", "CIFAR10DVS", "figshare"])]:
        with pytest.raises(FileNotFoundError) as err:
            load(tmp_path)
        assert all(w in str(err.value) for w in words), str(err.value)
        assert str(tmp_path) in str(err.value)


def test_nmnist_loader_reads_real_format_files(tmp_path, no_download):
    three = events_from([1, 33, 5], [2, 0, 33], [0, 70_000, 8_388_607], [1, 0, 1])
    seven = events_from([10], [11], [123_456], [0])
    write_nmnist_bin(tmp_path / "NMNIST" / "Test" / "3" / "00001.bin", three)
    write_nmnist_bin(tmp_path / "NMNIST" / "Test" / "7" / "00002.bin", seven)
    data = loaders.nmnist(tmp_path, train=False)
    assert len(data) == 2 and data.sensor_size == (34, 34, 2)
    (a, label_a), (b, label_b) = data[0], data[1]
    assert (label_a, label_b) == (3, 7)
    for got, want in ((a, three), (b, seven)):
        for name in "xytp":
            np.testing.assert_array_equal(got[name], want[name])
    frames = to_frames(data, n_time_bins=2)[0]
    assert frames.shape == (2, 2, 2, 34, 34) and frames.sum() == 4
    with pytest.raises(FileNotFoundError, match="Train"):
        loaders.nmnist(tmp_path, train=True)


def test_dvs_gesture_loader_reads_real_format_files(tmp_path, no_download):
    folder = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user01_fluorescent"
    folder.mkdir(parents=True)
    rows = np.array([[5, 6, 1, 10], [127, 0, 0, 25]])  # x, y, p, t in ms
    np.save(folder / "4.npy", rows)
    data = loaders.dvs_gesture(tmp_path, train=True)
    events, label = data[0]
    assert len(data) == 1 and label == 4
    np.testing.assert_array_equal(events["t"], [10_000, 25_000])
    np.testing.assert_array_equal(events["x"], [5, 127])


def test_cifar10_dvs_loader_needs_the_aedat_reader(tmp_path, no_download):
    try:
        import aedat  # noqa: F401
        pytest.skip("aedat installed: nothing to check offline")
    except ImportError:
        pass
    (tmp_path / "CIFAR10DVS" / "cat").mkdir(parents=True)
    (tmp_path / "CIFAR10DVS" / "cat" / "cifar10_cat_0.aedat4").write_bytes(b"")
    with pytest.raises(ImportError, match="aedat"):
        loaders.cifar10_dvs(tmp_path)


# --- plots --------------------------------------------------------------------------------------

def test_event_animation_has_one_frame_per_step_and_is_deterministic():
    rng = np.random.default_rng(9)
    events = events_from(rng.integers(0, 8, 200), rng.integers(0, 6, 200),
                         np.sort(rng.integers(0, 50_000, 200)), rng.integers(0, 2, 200))
    fig = event_animation(events, (8, 6, 2), n_frames=5)
    assert len(fig.frames) == 5 and len(fig.layout.sliders[0].steps) == 5
    assert np.asarray(fig.frames[0].data[0].z).shape == (6, 8)
    assert json.loads(fig.to_json()) == json.loads(
        event_animation(events, (8, 6, 2), n_frames=5).to_json())
    assert fig.to_json() == event_animation(events, (8, 6, 2), n_frames=5).to_json()
    assert len(event_animation(np.zeros(0, EVENT_DTYPE), (8, 6, 2), 3).frames) == 3


def test_event_raster_has_on_and_off_traces():
    events = events_from([0, 1, 2], [0, 1, 1], [0, 10, 20], [1, 0, 1])
    fig = event_raster(events, (4, 2, 2))
    assert [trace.name for trace in fig.data] == ["ON", "OFF"]
    assert list(fig.data[0].y) == [0, 6] and list(fig.data[1].y) == [5]


# --- order across a gap: a generated task whose class is only the order of two cues ----------

def _frame_multiset(rates: np.ndarray) -> list[list[bytes]]:
    """Per recording, its frames as a sorted list: what a model blind to order can see."""
    return [sorted(frame.tobytes() for frame in recording) for recording in rates]


def _cue_frames(recording: np.ndarray) -> np.ndarray:
    """Indices of the frames of `recording` `[T, 2, H, W]` (rates, no noise) with a cue."""
    return np.flatnonzero(recording.reshape(len(recording), -1).sum(1) > 0)


def test_order_gap_classes_are_time_permutations_of_each_other():
    """Same nuisances, other label: the rate frames are the same multiset, so once shuffled in
    time both classes have one distribution (counts are Poisson given the rates, frame by
    frame), and a memoryless or shuffled control is at chance in expectation."""
    task = OrderGap(gap_min=0, gap_max=10)
    draw = task.draw(300, seed=3)
    flipped = dataclasses.replace(draw, labels=1 - draw.labels)
    a, b = task.rates(draw), task.rates(flipped)
    assert _frame_multiset(a) == _frame_multiset(b)
    assert not np.array_equal(a, b)  # ... but the order differs in every recording
    assert all(not np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_order_gap_nuisances_do_not_depend_on_the_label():
    task = OrderGap(gap_min=3, gap_max=9)
    draw = task.draw(4000, seed=0)
    assert draw.labels.mean() == 0.5
    for nuisance in (draw.onsets, draw.durations, draw.gaps):
        means = [nuisance[draw.labels == c].mean() for c in (0, 1)]
        assert abs(means[0] - means[1]) < 4 * nuisance.std() / np.sqrt(2000) + 1e-9
    # the time-summed counts (a memoryless summary) match between the classes
    x, y = task.generate(4000, seed=0)
    summed = x.sum(1)
    diff = (summed[y == 0].mean(0) - summed[y == 1].mean(0)).abs().max()
    assert diff < 4 * summed.std(0).max() / np.sqrt(2000)


def test_order_gap_respects_gap_duration_and_order():
    task = OrderGap(gap_min=2, gap_max=7, duration_min=2, duration_max=4)
    draw = task.draw(400, seed=1)
    rates = task.rates(draw)
    for i, recording in enumerate(rates):
        o, d, g = draw.onsets[i], draw.durations[i], draw.gaps[i]
        assert 2 <= g <= 7 and 2 <= d <= 4 and o + 2 * d + g <= task.timesteps
        expected = np.r_[o:o + d, o + d + g:o + 2 * d + g]
        np.testing.assert_array_equal(_cue_frames(recording), expected)
        first = recording[o].sum(0)  # [H, W]: A (vertical bar) is constant down each column
        vertical = bool(np.all(first == first[:1]))
        assert vertical == (draw.labels[i] == 0)
    assert set(draw.gaps) == set(range(2, 8)) and set(draw.durations) == {2, 3, 4}
    assert len(set(draw.onsets)) > 3  # onsets vary: no clock to read


def test_order_gap_sweep_emits_one_on_and_one_off_edge_per_pixel():
    task = OrderGap(size=8, bar_width=2.0, events_per_pixel=2.0)
    for d in (2, 3, 5):
        sweep = task.sweep(d)
        assert sweep.shape == (d, 2, 8, 8)
        np.testing.assert_allclose(sweep.sum(0), 2.0)  # OFF and ON, every pixel, once each
        assert not np.allclose(sweep[0], sweep[-1])  # the bar moves


def test_order_gap_is_deterministic_by_data_seed():
    task = OrderGap()  # its speed is measured by benchmarks/events.py, not asserted here
    x, y = task.generate(2000, seed=5)
    assert x.shape == (2000, 16, 2, 8, 8) and x.dtype == torch.float32
    x2, y2 = task.generate(2000, seed=5)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(task.generate(2000, seed=6)[0], x)
    split = task.split(200, seed=5)
    assert torch.equal(split.x_test, task.split(200, seed=5).x_test)
    for labels in (split.y_train, split.y_val, split.y_test):
        assert abs(labels.float().mean().item() - 0.5) < 0.05  # stratified: chance is 50%
    assert len(split.y_train) + len(split.y_val) + len(split.y_test) == 200


def test_order_gap_is_registered_as_an_event_set():
    assert data.kind_of("order_gap") == "events"
    assert "order_gap" in data.names("events")


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"gap_max": 11}, "gap_max"),  # 16 − 2·3 = 10 frames at most
    ({"timesteps": 8, "gap_max": 4}, "gap_max"),
    ({"gap_min": 3, "gap_max": 2}, "gap_min"),
    ({"gap_min": -1}, "gap_min"),
    ({"duration_min": 1}, "duration_min"),
    ({"duration_min": 4, "duration_max": 3}, "duration_min"),
    ({"size": 1}, "size"),
    ({"noise_rate": -0.1}, "noise_rate"),
])
def test_order_gap_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ConfigError, match=f"^{name} must be"):
        OrderGap(**kwargs)


def test_order_gap_longer_than_the_sequence_says_what_fits():
    with pytest.raises(ConfigError, match=r"gap_max must be ≤ timesteps − 2·duration_max = "
                                          r"16 − 2·3 = 10 frames .*got 20"):
        OrderGap(gap_max=20)
