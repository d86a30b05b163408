"""One dataset path (`lab.events.sets.load`): every registered dataset comes back train /
validation / test, split by the data seed; and no method reads the test set before its final
evaluation."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import torch
from test_cifar import write_cifar10  # tests/ is on the path (no package)
from test_real_events import _write_dvsgesture, _write_nmnist
from torch.optim.optimizer import register_optimizer_step_pre_hook

import lab.streaming as S
from lab import bptt, conversion, registry, ttl_bptt
from lab import noise_training as nt
from lab.core import data, splits
from lab.events import sets

EVENT_SAMPLES = 100  # emulated recordings: enough for a stratified validation of 10 classes


def write_cifar100(root) -> None:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name, n in (("train", 40), ("test", 8)):
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "fine_labels": [i % 4 for i in range(n)], "coarse_labels": [0] * n}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A data folder holding tiny real files of every real set (their formats), and a cache
    folder of this test's own; tonic may not download."""
    import tonic.dataset

    monkeypatch.setattr(tonic.dataset, "download_and_extract_archive",
                        lambda *a, **k: pytest.fail("tonic tried to download"))
    monkeypatch.setenv("LAB_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    write_cifar10(root)
    write_cifar100(root)
    _write_nmnist(root)
    _write_dvsgesture(root)
    return str(root)


@pytest.mark.parametrize("name", list(data.REGISTRY))
def test_the_data_seed_changes_the_split_of_every_registered_dataset(name, files):
    options = {"n_time_bins": 5, "data_dir": files, "event_samples": EVENT_SAMPLES}
    first, again, other = (sets.load(name, seed, **options) for seed in (0, 0, 1))
    for split in (first, other):
        assert split.x_val is not None and len(split.y_val) > 0  # always a validation set
        assert split.num_classes == first.num_classes
        total = len(split.y_train) + len(split.y_val) + len(split.y_test)
        assert total == len(first.y_train) + len(first.y_val) + len(first.y_test)
    assert torch.equal(first.x_val, again.x_val) and torch.equal(first.x_test, again.x_test)
    assert not (first.x_val.shape == other.x_val.shape and torch.equal(first.x_val, other.x_val))


def test_streaming_loads_through_the_one_path_with_its_data_seed(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_CACHE", str(tmp_path / "cache"))
    S.load_frames.cache_clear()
    config = S.Config(event_samples=EVENT_SAMPLES, n_time_bins=5, data_seed=3)
    split, classes = S.load_frames(config.dataset, config.n_time_bins, config.downsample,
                                   config.data_dir, config.event_samples, config.data_seed)
    expected = sets.load("nmnist_like", 3, n_time_bins=5, downsample=2,
                         event_samples=EVENT_SAMPLES)
    for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(split, part), getattr(expected, part)), part
    assert split.x_train.shape[-2:] == (17, 17) and len(classes) == 10
    seen = []
    monkeypatch.setattr(S, "load_frames", lambda *args: (seen.append(args), (split, classes))[1])
    S.run(S.Config(event_samples=EVENT_SAMPLES, n_time_bins=5, epochs=1, steps_per_frame=2,
                   data_seed=3, device="cpu"))
    assert seen and all(args[-1] == 3 for args in seen)  # the config's data seed, every load


LOADERS = {"lab.core.splits", "lab.core.data", "lab.core.cifar", "lab.events.sets",
           "lab.events.real", "lab.events.order_gap"}


@pytest.fixture
def reads(monkeypatch):
    """Every read of a loaded split's validation or test part by code other than the loaders,
    and every optimizer step, in order: ('val' | 'test' | 'step', the lab module reading or
    stepping)."""
    log: list[tuple[str, str]] = []

    def spy(self, name):
        if name in ("x_val", "y_val", "x_test", "y_test"):
            reader = sys._getframe(1).f_globals.get("__name__", "")
            loaded = object.__getattribute__(self, "x_val") is not None
            if loaded and reader not in LOADERS:
                log.append(("val" if name.endswith("val") else "test", reader))
        return object.__getattribute__(self, name)

    monkeypatch.setattr(splits.Split, "__getattribute__", spy)
    def step(*args):
        frame = sys._getframe(1)
        while frame and not frame.f_globals.get("__name__", "").startswith("lab."):
            frame = frame.f_back
        log.append(("step", frame.f_globals["__name__"] if frame else ""))

    handle = register_optimizer_step_pre_hook(step)
    yield log
    handle.remove()


CONFIGS = {
    "bptt": bptt.Config(epochs=1, timesteps=2, device="cpu"),
    "conversion": conversion.Config(epochs=1, timesteps=2, device="cpu",
                                    checkpoint="best-validation"),
    "noise-single-step": nt.Config(epochs=1, timesteps=2, device="cpu"),
    "ttl-bptt": ttl_bptt.Config(epochs=1, timesteps=2, truncation_length=1, device="cpu"),
    "streaming": S.Config(event_samples=EVENT_SAMPLES, n_time_bins=5, epochs=1,
                          steps_per_frame=2, device="cpu"),
}


@pytest.mark.parametrize("method", list(registry.METHODS))
def test_no_method_reads_the_test_set_before_its_final_evaluation(method, reads, monkeypatch,
                                                                  tmp_path):
    monkeypatch.setenv("LAB_CACHE", str(tmp_path / "cache"))
    S.load_frames.cache_clear()
    registry.method(method).run(CONFIGS[method])
    S.load_frames.cache_clear()
    kinds = [kind for kind, _ in reads]
    assert "step" in kinds and "test" in kinds
    first_test = kinds.index("test")
    # a step on a copy of the network, to measure what a step costs, trains nothing
    late = [(kind, reader) for kind, reader in reads[first_test:]
            if kind != "test" and (kind, reader) != ("step", "lab.core.costs")]
    assert late == [], f"{method} trained or read validation after reading the test set"
