"""Real N-MNIST files (written here in the real binary format) reach the streaming method."""

import numpy as np
import pytest
import torch
from test_events import write_nmnist_bin  # tests/ is on the path (no package)

import lab.streaming as S
from lab.core.config import ConfigError
from lab.events import datasets as event_sets
from lab.events import real
from lab.events.dvs import EVENT_DTYPE


def _write_nmnist(root, per_digit=(8, 2), digits=range(10), seed=0):
    rng = np.random.default_rng(seed)
    for folder, n in zip(("Train", "Test"), per_digit, strict=True):
        for d in digits:
            for i in range(n):
                k = 60
                events = np.zeros(k, EVENT_DTYPE)
                events["x"], events["y"] = rng.integers(0, 34, k), rng.integers(0, 34, k)
                events["t"] = np.sort(rng.integers(0, 300_000, k))
                events["p"] = rng.integers(0, 2, k)
                write_nmnist_bin(root / "NMNIST" / folder / str(d) / f"{i:05d}.bin", events)


@pytest.fixture()
def no_download(monkeypatch):
    import tonic.dataset

    monkeypatch.setattr(tonic.dataset, "download_and_extract_archive",
                        lambda *a, **k: pytest.fail("tonic tried to download"))


def test_streaming_trains_on_nmnist_files_and_caches_the_frames(tmp_path, monkeypatch,
                                                                 no_download):
    monkeypatch.setenv("LAB_CACHE", str(tmp_path / "cache"))
    _write_nmnist(tmp_path / "data")
    S.load_frames.cache_clear()
    config = S.Config(dataset="nmnist", data_dir=str(tmp_path / "data"), epochs=1,
                      n_time_bins=5, steps_per_frame=2, batch_size=8, device="cpu")
    result = S.run(config)
    assert 0 <= result["metrics"]["accuracy"] <= 100
    assert len(result["curves"]["accuracy_per_step_snn"]) == 5
    cached = list((tmp_path / "cache").glob("nmnist-frames-*.npz"))
    assert len(cached) == 2  # train and test, binned once
    monkeypatch.setattr(event_sets, "to_frames", lambda *a, **k: pytest.fail("binned again"))
    monkeypatch.setattr(real, "to_frames", lambda *a, **k: pytest.fail("binned again"))
    split = real.frames("nmnist", tmp_path / "data", 5, cache_dir=tmp_path / "cache")
    assert split.x_train.dtype == torch.float32
    assert len(split.y_train) + len(split.y_val) == 80 and len(split.y_test) == 20
    S.load_frames.cache_clear()


def test_partial_or_missing_nmnist_is_refused_before_training(tmp_path, no_download):
    _write_nmnist(tmp_path, digits=range(5))
    with pytest.raises(ValueError, match="partial: 40 recordings found, none of digit"):
        real.frames("nmnist", tmp_path, 5, cache_dir=tmp_path / "cache")
    with pytest.raises(FileNotFoundError, match="N-MNIST not found"):
        real.frames("nmnist", tmp_path / "elsewhere", 5, cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="data_dir must be the folder holding NMNIST"):
        S.Config(dataset="nmnist")


def test_ttl_bptt_trains_on_nmnist_files(tmp_path, monkeypatch, no_download):
    from lab import ttl_bptt

    monkeypatch.setenv("LAB_CACHE", str(tmp_path / "cache"))
    _write_nmnist(tmp_path / "data")
    config = ttl_bptt.Config(dataset="nmnist", data_dir=str(tmp_path / "data"), epochs=1,
                             timesteps=4, truncation_length=2, device="cpu")
    result = ttl_bptt.run(config)
    assert len(result["curves"]["accuracy_per_timestep"]) == 4
    with pytest.raises(ConfigError, match="data_dir must be the folder"):
        ttl_bptt.Config(dataset="nmnist")
