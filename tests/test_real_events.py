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
    with pytest.raises(ValueError, match="partial: 40 recordings found, none of class"):
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


def _write_dvsgesture(root, users=(range(1, 9), (9,)), classes=range(11), seed=0):
    """tonic 1.7's processed DVS Gesture layout: one `[n, 4]` array (x, y, p, t in ms) per
    gesture, `DVSGesture/ibmGesture{Train,Test}/user<NN>_<lighting>/<label>.npy`."""
    rng = np.random.default_rng(seed)
    for folder, who in zip(("ibmGestureTrain", "ibmGestureTest"), users, strict=True):
        for user in who:
            for c in classes:
                k, start = 200, int(rng.integers(1000, 5000))  # ms; a gesture starts late
                events = np.stack([rng.integers(0, 128, k), rng.integers(0, 128, k),
                                   rng.integers(0, 2, k),
                                   np.sort(rng.integers(start, start + 6000, k))], axis=1)
                path = root / "DVSGesture" / folder / f"user{user:02d}_fluorescent" / f"{c}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, events.astype(np.int64))


def test_dvsgesture_files_become_cached_32x32_frames_and_train_both_methods(
        tmp_path, monkeypatch, no_download):
    from lab import ttl_bptt

    monkeypatch.setenv("LAB_CACHE", str(tmp_path / "cache"))
    _write_dvsgesture(tmp_path / "data")
    split = real.frames("dvsgesture", tmp_path / "data", 4)
    assert tuple(split.x_train.shape[1:]) == (4, 2, 32, 32) and split.num_classes == 11
    assert len(split.y_train) + len(split.y_val) == 88 and len(split.y_test) == 11
    # every event is counted once (summed 4×4 blocks), and time starts at the first event
    assert split.x_test.sum().item() == 11 * 200 and (split.x_test[:, 0].sum((1, 2, 3)) > 0).all()
    assert len(list((tmp_path / "cache").glob("dvsgesture-frames-*.npz"))) == 2
    config = ttl_bptt.Config(dataset="dvsgesture", data_dir=str(tmp_path / "data"), epochs=1,
                             timesteps=4, truncation_length=2, device="cpu")
    assert len(ttl_bptt.run(config)["curves"]["accuracy_per_timestep"]) == 4
    S.load_frames.cache_clear()
    config = S.Config(dataset="dvsgesture", data_dir=str(tmp_path / "data"), epochs=1,
                      n_time_bins=5, downsample=1, steps_per_frame=2, batch_size=8,
                      device="cpu")
    assert len(S.run(config)["curves"]["accuracy_per_step_snn"]) == 5
    S.load_frames.cache_clear()


def test_missing_or_partial_dvsgesture_is_one_clear_line(tmp_path, no_download):
    with pytest.raises(FileNotFoundError, match=r"DVS Gesture not found: .*found no folder"):
        real.frames("dvsgesture", tmp_path / "nowhere", 4, cache_dir=tmp_path / "cache")
    (tmp_path / "empty" / "DVSGesture" / "ibmGestureTrain").mkdir(parents=True)
    (tmp_path / "empty" / "DVSGesture" / "ibmGestureTrain" / "README").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"found 1 file\(s\) in .*ibmGestureTrain, "
                                                r"none matching\. Either run"):
        real.frames("dvsgesture", tmp_path / "empty", 4, cache_dir=tmp_path / "cache")
    _write_dvsgesture(tmp_path / "part", classes=range(7))
    with pytest.raises(ValueError, match="DVSGesture train files under .* are partial: 56 "
                                         "recordings found, none of class"):
        real.frames("dvsgesture", tmp_path / "part", 4, cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="data_dir must be the folder holding DVSGesture/"):
        S.Config(dataset="dvsgesture")


@pytest.mark.parametrize("method", ["ttl-bptt", "streaming"])
def test_cli_says_in_one_line_what_is_missing_and_exits_2(method, tmp_path, capsys,
                                                          no_download):
    from lab import cli

    code = cli.main(["run", method, "--dataset", "dvsgesture", "--data-dir",
                     str(tmp_path / "nowhere"), "--results", str(tmp_path / "runs.db")])
    stderr = capsys.readouterr().err
    err = stderr.strip().splitlines()[-1]  # the lines above it are the run's progress bar
    assert code == 2 and "Traceback" not in stderr
    assert err.startswith("error: data_dir: DVS Gesture not found") and "found no folder" in err
    assert "download ibmGestureTrain.tar.gz yourself" in err
