"""Conversion at depth (issue 15): depth and width as config, BatchNorm folded at conversion,
QCFS with L = T, σ fitted at T = L, the gap per layer at T = 1, 2, 4, the paired comparison."""

from __future__ import annotations

import importlib
import sys
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from lab import cli, conversion
from lab.conversion import cifar
from lab.conversion import comparison as cmp
from lab.conversion.activations import QCFS, ResidualNoise
from lab.conversion.fold import NORMS, fold_batch_norm
from lab.core import data, encoding, metrics, models, stats
from lab.core.config import ConfigError

SHAPES = [(1, 8, 8), (1, 28, 28)]
experiment = importlib.import_module("lab.conversion.experiment")  # the name is also a function


def _random_statistics(ann: nn.Module, seed: int = 0) -> nn.Module:
    """BatchNorm statistics and affine parameters far from their initial 0 / 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in ann.modules():
            if isinstance(m, NORMS):
                for t, (low, high) in ((m.running_mean, (-1, 1)), (m.running_var, (0.3, 3)),
                                       (m.weight, (0.5, 1.5)), (m.bias, (-0.5, 0.5))):
                    t.copy_(torch.rand(t.shape, generator=g) * (high - low) + low)
    return ann.eval()


# --- architectures ------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_default_architectures_are_the_ones_before(shape):
    c, h, w = shape
    before = {"mlp": lambda: models.mlp(c * h * w, (256, 128), 10, nn.ReLU),
              "cnn": lambda: models.cnn(shape, (16, 32), 10, nn.ReLU, hidden=128)}
    for arch, old in before.items():
        torch.manual_seed(0)
        new = models.build(arch, shape, 10, nn.ReLU)
        torch.manual_seed(0)
        reference = old()
        assert str(new) == str(reference)
        for (a, p), (b, q) in zip(new.state_dict().items(), reference.state_dict().items(),
                                  strict=True):
            assert a == b and torch.equal(p, q)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("depth", [1, 3, 8])
def test_depth_counts_hidden_layers_and_pooling_is_average(arch, depth):
    for shape in SHAPES:
        ann = models.build(arch, shape, 10, lambda: QCFS(4), depth=depth, width=16,
                           batch_norm=True)
        convs = [m for m in ann if isinstance(m, nn.Conv2d)]
        acts = conversion.activation_layers(ann)
        assert len(convs) == (depth if arch == "cnn" else 0)
        assert len(acts) == depth + (arch == "cnn")  # the CNN's classifier has one more
        assert sum(isinstance(m, NORMS) for m in ann) == len(acts)
        assert not any(isinstance(m, nn.MaxPool2d) for m in ann)
        assert ann(torch.rand(2, *shape)).shape == (2, 10)


def test_width_sets_the_layer_sizes():
    mlp = models.build("mlp", (1, 8, 8), 10, depth=3, width=16)
    assert [m.out_features for m in mlp if isinstance(m, nn.Linear)] == [32, 16, 16, 10]
    cnn = models.build("cnn", (1, 28, 28), 10, depth=4, width=64)
    assert [m.out_channels for m in cnn if isinstance(m, nn.Conv2d)] == [8, 16, 32, 64]
    assert [m.out_features for m in cnn if isinstance(m, nn.Linear)] == [64, 10]


@pytest.mark.parametrize(("depth", "width", "match"), [(0, 8, "depth"), (33, 8, "depth"),
                                                      (2, 0, "width")])
def test_build_refuses_bad_depth_and_width(depth, width, match):
    with pytest.raises(ValueError, match=match):
        models.build("mlp", (1, 8, 8), 10, depth=depth, width=width)


@pytest.mark.parametrize("flag", ["--depth=0", "--depth=33", "--width=0"])
def test_cli_refuses_bad_depth_and_width(flag, tmp_path, capsys):
    code = cli.main(["run", "conversion", flag, "--results", str(tmp_path / "r.sqlite")])
    assert code == 2 and flag[2:7] in capsys.readouterr().err
    assert not (tmp_path / "r.sqlite").exists()  # refused before anything was stored


# --- BatchNorm folded at conversion -------------------------------------------------------

@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_folded_and_unfolded_ann_agree_in_eval_mode(arch):
    torch.manual_seed(0)
    ann = _random_statistics(models.build(arch, (1, 8, 8), 10, nn.ReLU, depth=4, width=32,
                                          batch_norm=True))
    x = torch.rand(64, 1, 8, 8)
    folded = fold_batch_norm(ann)
    assert not any(isinstance(m, NORMS) for m in folded.modules())
    assert any(isinstance(m, NORMS) for m in ann.modules())  # the ANN is left as it was
    with torch.no_grad():
        torch.testing.assert_close(folded(x), ann(x), rtol=0, atol=1e-5)


def test_folding_into_a_layer_without_bias():
    torch.manual_seed(0)
    ann = _random_statistics(nn.Sequential(nn.Conv2d(1, 3, 3, bias=False), nn.BatchNorm2d(3)))
    x = torch.rand(5, 1, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(fold_batch_norm(ann)(x), ann(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("layers", [
    [nn.Flatten(), nn.BatchNorm1d(64), nn.Linear(64, 5)],
    [nn.Flatten(), nn.Linear(64, 8), nn.BatchNorm2d(8)],
    [nn.Flatten(), nn.Linear(64, 8), nn.ReLU(), nn.BatchNorm1d(8)],
])
def test_batch_norm_with_nothing_to_fold_into_is_refused_by_name(layers):
    ann = nn.Sequential(*layers)
    name = next(type(m).__name__ for m in layers if isinstance(m, NORMS))
    with pytest.raises(TypeError, match=f"{name}.*cannot be folded: it must directly follow"):
        conversion.convert(ann, thresholds=[1.0] * len(conversion.activation_layers(ann)))


def test_unsupported_layer_is_refused_before_training(monkeypatch):
    def trained(*args, **kwargs):
        raise AssertionError("training started")

    def with_max_pool(*args, **kwargs):
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), QCFS(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(64, 10))

    monkeypatch.setattr(experiment.training, "train", trained)
    monkeypatch.setattr(experiment.models, "build", with_max_pool)
    with pytest.raises(TypeError, match="MaxPool2d.*max of spikes is not the max of firing"):
        conversion.train_ann(conversion.Config(arch="cnn"), data.load("digits"))


# --- QCFS with L = T ----------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_qcfs_with_L_equal_T_converts_exactly_at_T_1(arch):
    """L = T = 1: one step, v[0] = θ/2, fire iff z ≥ θ/2 — QCFS with one level, layer after
    layer (a single step has no order, so no residual error)."""
    torch.manual_seed(0)
    ann = _random_statistics(models.build(arch, (1, 8, 8), 10, lambda: QCFS(1, 0.7), depth=4,
                                          width=32, batch_norm=True))
    x = torch.rand(64, 1, 8, 8)
    snn = conversion.convert(ann)
    with torch.no_grad():
        torch.testing.assert_close(snn(encoding.direct(x, 1))[0], ann(x), rtol=0, atol=1e-5)


def test_levels_equal_timesteps_sets_L_and_the_calibration_T():
    config = conversion.Config(variant="qcfs", levels_equal_timesteps=True, timesteps=2)
    assert config.quantization_levels == 2 and config.fit_timesteps == 2
    assert conversion.activation(config)().levels == 2
    assert conversion.Config().fit_timesteps == conversion.Config().levels == 4  # T = L
    assert conversion.Config(calibration_timesteps=1).fit_timesteps == 1
    with pytest.raises(ConfigError, match="calibration_timesteps"):
        conversion.Config(calibration_timesteps=-1)


def test_run_of_qcfs_with_L_equal_T_1_loses_nothing():
    result = conversion.run(conversion.Config(variant="qcfs", levels_equal_timesteps=True,
                                              timesteps=1, epochs=1, depth=3, batch_norm=True,
                                              device="cpu"))
    m, c = result["metrics"], result["curves"]
    assert m["accuracy_T1"] == pytest.approx(m["ann_accuracy"], abs=1e-4)  # same predictions
    assert m["conversion_loss_T1"] == 0.0
    assert c["gap_std_per_layer_T1"] == [0.0] * 3 == c["gap_mean_per_layer_T1"]
    assert len(c["gap_std_per_layer_T4"]) == 3 and max(c["gap_std_per_layer_T4"]) > 0


# --- σ fitted at T = L on validation, the gap per layer at T = 1, 2, 4 ---------------------

def test_noise_is_fitted_at_T_equal_L_and_the_gaps_are_stored(monkeypatch):
    fitted_at = []
    fit = experiment.fit_noise
    monkeypatch.setattr(experiment, "fit_noise",
                        lambda *a, **k: fitted_at.append(a[2]) or fit(*a, **k))
    config = conversion.Config(epochs=2, depth=3, batch_norm=True, timesteps=4, device="cpu")
    split = data.load(config.dataset, seed=config.data_seed)
    out = conversion.experiment(config, split=split)
    assert fitted_at == [4]  # before epoch 2, at T = L
    x_val, _ = split.validation()
    assert out.gaps == conversion.residual_gap(out.ann, out.snn, x_val, 4)
    assert len(out.noise_std) == 3 and min(out.noise_std[1:]) > 0  # σ per layer, stored
    for T in conversion.MECHANISM_TIMESTEPS:
        assert out.gaps_at[T] == conversion.residual_gap(out.ann, out.snn, split.x_test, T)
        for name in (f"gap_mean_per_layer_T{T}", f"gap_std_per_layer_T{T}"):
            metrics.curve(name)  # in the vocabulary
        metrics.metric(f"conversion_loss_T{T}")


def test_gap_grows_with_depth_for_qcfs():
    """The residual error compounds: deeper layers of an untrained-but-calibrated QCFS net
    carry a larger gap at T = 2 than the first, which sees constant input."""
    torch.manual_seed(0)
    ann = _random_statistics(models.build("mlp", (1, 8, 8), 10, lambda: ResidualNoise(4, 1.0),
                                          depth=6, width=32, batch_norm=True))
    gaps = conversion.residual_gap(ann, conversion.convert(ann), torch.rand(128, 1, 8, 8), 2)
    assert gaps[-1].std > gaps[0].std


# --- the paired comparison ----------------------------------------------------------------

def _fake_runs() -> list[SimpleNamespace]:
    base = {"depth": 4, "levels": 4, "levels_equal_timesteps": False, "v_init": 0.5}
    runs = []
    for seed in range(3):
        for variant, shift in (("qcfs", 0.0), ("residual-noise", 1.0 + seed)):
            runs.append(SimpleNamespace(
                config={**base, "variant": variant, "seed": seed, "timesteps": 16},
                metrics={f"accuracy_T{T}": 90.0 + T + shift for T in (1, 2, 4)},
                curves={"gap_std_per_layer_T2": [0.1, 0.2 - 0.1 * (shift > 0)]}))
        for T in (1, 2):
            runs.append(SimpleNamespace(
                config={**base, "variant": "qcfs", "levels_equal_timesteps": True, "seed": seed,
                        "timesteps": T},
                metrics={f"accuracy_T{T}": 95.0}, curves={}))
    return runs


def test_comparison_pairs_seeds_and_reads_L_equal_T_at_L_from_qcfs():
    runs = _fake_runs()
    noise = cmp.values(runs, 4, cmp.NOISE, 2)
    assert noise == {0: 93.0, 1: 94.0, 2: 95.0}
    diff = cmp.paired(noise, cmp.values(runs, 4, cmp.QCFS, 2))
    assert diff == stats.paired([93.0, 94.0, 95.0], [92.0, 92.0, 92.0])
    assert cmp.values(runs, 4, cmp.QCFS_LT, 1) == {0: 95.0, 1: 95.0, 2: 95.0}
    assert cmp.values(runs, 4, cmp.QCFS_LT, 4) == cmp.values(runs, 4, cmp.QCFS, 4)  # T = L
    ratio = cmp.ratio_of_means(cmp.deepest_gap_std(runs, 4, cmp.NOISE, 2),
                               cmp.deepest_gap_std(runs, 4, cmp.QCFS, 2))
    assert ratio == pytest.approx(0.5)
    assert cmp.values(runs, 8, cmp.NOISE, 2) == {}
    with pytest.raises(ValueError, match="no finished seed"):
        cmp.paired({}, noise)


def test_per_layer_summarises_a_curve_over_seeds():
    runs = _fake_runs()
    qcfs, noise = cmp.per_layer(runs, 4, cmp.QCFS, 2), cmp.per_layer(runs, 4, cmp.NOISE, 2)
    assert [s.mean for s in qcfs] == pytest.approx([0.1, 0.2])
    assert noise[1] == stats.summary([0.1, 0.1, 0.1]) and noise[0].n == 3
    assert cmp.per_layer(runs, 8, cmp.QCFS, 2) == []
    assert cmp.per_layer(runs, 4, cmp.QCFS, 2, "no_such_curve_T{T}") == []


def test_depth_figure_draws_the_gap_per_layer_of_each_arm():
    from lab.core import theme
    from lab.viz import conversion as viz

    fig = viz.depth_figure(_fake_runs(), depth=4, timesteps=2)
    bands = [d for d in fig.data if d.fill == "toself"]
    lines = [d for d in fig.data if d.fill != "toself"]
    assert len(bands) == len(lines) == 2
    assert [d.name for d in lines] == ["QCFS (L fixed)", "residual noise"]
    assert list(lines[1].y) == pytest.approx([0.1, 0.1])
    assert list(lines[0].x) == ["layer 1", "layer 2"]
    assert lines[1].line.color == theme.color("residual_noise")
    assert "Depth 4" in theme.description(fig) and "n = 3" in theme.description(fig)
    trend = viz.deepest_gap_figure(_fake_runs(), [4], 2)
    assert [d.name for d in trend.data if d.fill != "toself"] == ["QCFS (L fixed)",
                                                                  "residual noise"]
    assert list(trend.data[1].y) == pytest.approx([0.2]) and theme.description(trend)


def test_run_here_runs_every_config_in_this_process():
    found = cmp.grids({"epochs": 1, "depth": 2, "width": 8, "timesteps": 2, "device": "cpu"},
                      [2], timesteps=(1,))
    runs = cmp.run_here(found, 1, keep_models=True)
    assert sorted(cmp.arm(r.config) for r in runs) == ["qcfs", "qcfs L=T", "residual-noise"]
    again = cmp.run_here(found[:1], 1)
    assert [r.metrics["accuracy_T2"] for r in again] == [r.metrics["accuracy_T2"]
                                                          for r in runs[:2]]  # seeded
    assert not again[0].models and set(runs[0].models) == {"ann", "snn"}
    assert len(cmp.per_layer(runs, 2, cmp.NOISE, 2)) == 2
    assert cmp.values(runs, 2, cmp.QCFS_LT, 1)  # the L = T arm, read at its T


def test_comparison_grids_are_valid_sweeps():
    from lab.sweep import make

    base = {"dataset": "digits", "epochs": 1, "batch_norm": True, "timesteps": 16}
    found = cmp.grids(base, (4, 8), threshold_balancing=True)
    configs = [c for s in [make(cmp.METHOD, g, 2) for g in found] for c in s.configs()]
    assert cmp.configs_of(found, 2) == configs  # run_here runs what the sweep would, in order
    arms = {(cmp.arm(c.__dict__), c.timesteps) for c in configs}
    assert arms == {("qcfs", 16), ("residual-noise", 16), ("qcfs L=T", 1), ("qcfs L=T", 2),
                    ("TB v0=0", 16), ("TB v0=θ/2", 16)}
    assert len(configs) == 2 * 2 * (2 + 2 + 2)  # depths × seeds × arms (L = T = 4 reused)
    assert all(c.batch_norm and c.epochs == 1 for c in configs)
    half = cmp.grids(base, (4,), timesteps=(), threshold_balancing=(0.5,))
    assert [g["variant"] for g in half] == [("qcfs", "residual-noise"), ("threshold-balancing",)]
    assert half[1]["v_init"] == (0.5,)


def test_a_batch_norm_run_is_stored_and_rebuilt(tmp_path):
    """The stored SNN (BatchNorm folded) loads into the network its config rebuilds."""
    import lab
    from lab import registry
    from lab.core.results import ResultsStore

    store = ResultsStore(tmp_path / "r.sqlite")
    config = conversion.Config(variant="qcfs", epochs=1, depth=3, batch_norm=True, timesteps=2,
                               device="cpu")
    run_id = registry.execute("conversion", config, store)
    ann, snn = (lab.load_model(run_id, store, name) for name in ("ann", "snn"))
    x = data.load("digits").x_test[:32]
    with torch.no_grad():
        again = conversion.convert(ann)(encoding.direct(x, 2))
        torch.testing.assert_close(snn(encoding.direct(x, 2)), again)
    assert any(isinstance(m, NORMS) for m in ann) and not any(isinstance(m, NORMS) for m in snn)


# --- CIFAR through torchvision, when its files are there -----------------------------------

def _fake_torchvision(n_train: int = 40, n_test: int = 10) -> SimpleNamespace:
    def reader(root, train, download):
        n = n_train if train else n_test
        g = torch.Generator().manual_seed(int(train))
        return SimpleNamespace(data=torch.randint(0, 256, (n, 32, 32, 3), dtype=torch.uint8,
                                                  generator=g).numpy(),
                               targets=[i % 10 for i in range(n)])

    return SimpleNamespace(datasets=SimpleNamespace(CIFAR10=reader, CIFAR100=reader))


def test_cifar_without_torchvision_says_where_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # as when it is not installed
    with pytest.raises(cifar.DataUnavailable) as err:
        cifar.load("cifar10", tmp_path)
    message = str(err.value)
    for part in ("torchvision", str(tmp_path / "cifar-10-batches-py"), "--data-dir", "--download"):
        assert part in message


def test_cifar_with_missing_files_says_which(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", _fake_torchvision())
    (tmp_path / "cifar-100-python").mkdir()
    (tmp_path / "cifar-100-python" / "train").write_bytes(b"")
    with pytest.raises(cifar.DataUnavailable, match=r"cifar-100-python lacks test: .*--data-dir"):
        cifar.load("cifar100", tmp_path)
    with pytest.raises(ValueError, match="cifar10, cifar100"):
        cifar.load("cifar", tmp_path)
