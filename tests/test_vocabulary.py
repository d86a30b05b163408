"""One vocabulary: every stored metric and curve is defined once, every dataset registered once,
every config field declares its valid values as data."""

import math

import pytest

from lab import registry
from lab.core import config as cfg
from lab.core import data, metrics

TINY = {
    "bptt": {"epochs": 1, "timesteps": 2},
    "conversion": {"epochs": 1, "timesteps": 4},
    "noise-single-step": {"epochs": 1, "timesteps": 4},
    "ttl-bptt": {"epochs": 1, "timesteps": 4},
    "streaming": {"epochs": 1, "steps_per_frame": 2, "n_time_bins": 5},
}


@pytest.mark.parametrize("method", list(registry.METHODS))
def test_every_stored_name_is_in_the_vocabulary(method):
    module = registry.method(method)
    result = module.run(module.Config(device="cpu", **TINY[method]))
    for name in result["metrics"]:
        metrics.metric(name)  # KeyError names the metric missing from lab.core.metrics
    for name in result["curves"]:
        metrics.curve(name)
    for key in ("saved_bytes", "step_peak_bytes", "inference_bytes", "train_macs"):
        assert result["metrics"][key] > 0, key  # the same cost figures for every method
    assert {"train_s", "train_cpu_s", "test_s", "test_cpu_s"} <= set(result["timings"])
    assert all(math.isfinite(v) for v in result["timings"].values())


def test_curves_with_x_values_name_a_stored_curve():
    for name, curve in metrics.CURVES.items():
        assert curve.x is None or curve.x in metrics.CURVES, name
    assert metrics.curve("sops_per_sample").x == "timesteps_grid"
    assert "layer 2" in metrics.curve("misrepresented_fraction_layer2").y.label
    with pytest.raises(KeyError, match="not a known curve"):
        metrics.curve("sample")


def test_timesteps_within_is_the_one_definition():
    assert metrics.timesteps_within([10.0, 99.5, 98.0, 99.9], 100.0) == 4
    assert metrics.timesteps_within([99.5, 99.9], 100.0) == 1
    assert metrics.timesteps_within([50.0], 100.0) is None


def test_dataset_choices_come_from_the_registry():
    frames, events = data.names("frames"), data.names("events")
    images = data.names("images")
    assert frames == ("digits", "mnist") and {"nmnist_like", "moving_digits"} <= set(events)
    assert images == ("cifar10", "cifar100")
    for method in ("bptt", "noise-single-step"):
        assert cfg.spec(registry.method(method).Config, "dataset").choices == frames
    # conversion also reads CIFAR from --data-dir (the paper's setting)
    assert cfg.spec(registry.method("conversion").Config, "dataset").choices == frames + images
    ttl = cfg.spec(registry.method("ttl-bptt").Config, "dataset").choices
    assert set(ttl) == set(frames + events)  # TTL-BPTT reads every frame and event set
    streaming = cfg.spec(registry.method("streaming").Config, "dataset").choices
    assert set(streaming) <= set(events)  # the event sets streaming has a loader for
    with pytest.raises(ValueError, match="dataset must be one of digits, mnist, nmnist_like"):
        data.kind_of("cifar")


@pytest.mark.parametrize("method", list(registry.METHODS))
def test_every_field_declares_its_valid_values(method):
    config_cls = registry.method(method).Config
    specs = cfg.specs(config_cls)
    assert [s.name for s in specs] == list(config_cls.__dataclass_fields__)
    for s in specs:
        if s.kind in (int, float) and s.choices is None:
            assert s.low is not None and s.high is not None and s.low <= s.default <= s.high
        if s.kind is str and not s.path:
            assert s.default in s.choices


@pytest.mark.parametrize(("method", "field", "value"), [
    ("bptt", "lr", math.inf), ("bptt", "lr", math.nan), ("bptt", "seed", 2**32),
    ("bptt", "timesteps", 10**9), ("bptt", "epochs", 10**9), ("bptt", "timesteps", 2.5),
    ("conversion", "threshold_init", math.inf), ("noise-single-step", "noise_std", math.inf),
    ("ttl-bptt", "threshold", math.inf), ("streaming", "v_init", -0.1),
])
def test_infinite_and_huge_values_are_refused_by_name(method, field, value):
    with pytest.raises(cfg.ConfigError, match=f"^{field} must be"):
        registry.method(method).Config(**{field: value})


def test_no_floor_is_accepted():
    assert registry.method("streaming").Config(v_min=-math.inf).v_min == -math.inf
