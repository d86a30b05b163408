"""CIFAR read from its pickle batches, the authors' recipe and augmentation, the preset, and a
CPU smoke run of the paper's networks on a tiny CIFAR-format folder the tests write."""

from __future__ import annotations

import importlib
import math
import os
import pickle
import sys

import numpy as np
import pytest
import torch
from torch import nn

from lab import cli, presets
from lab.core import augment, cifar, data, models, training
from lab.core.config import ConfigError

conversion = importlib.import_module("lab.conversion.experiment")

PER_FILE = 14  # 70 training images: 15 % validation still holds one of each of 10 classes


def write_cifar10(root, per_file: int = PER_FILE, seed: int = 0) -> None:
    """A tiny cifar-10-batches-py/ in the real format: pickled dicts with bytes keys, uint8
    data `[N, 3072]` and a list of labels, one file per batch."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for name in cifar.FILES["cifar10"]:
        entry = {b"batch_label": name.encode(), b"labels": [i % 10 for i in range(per_file)],
                 b"data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8),
                 b"filenames": [b"x.png"] * per_file}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)


def test_registered_cifar10_loads_from_the_pickle_batches(tmp_path):
    write_cifar10(tmp_path)
    split = data.load("cifar10", seed=0, data_dir=str(tmp_path))
    assert data.kind_of("cifar10") == "images" and "cifar100" in data.names("images")
    assert split.image_shape == (3, 32, 32) and split.num_classes == 10
    assert len(split.y_train) + len(split.validation()[1]) == 5 * PER_FILE
    assert len(split.y_test) == PER_FILE and set(split.validation()[1].tolist()) == set(range(10))
    assert split.x_train.dtype == torch.float32
    assert 0 <= float(split.x_train.min()) and float(split.x_train.max()) <= 1
    again = data.load("cifar10", seed=0, data_dir=str(tmp_path))
    assert torch.equal(split.x_train, again.x_train)  # the data seed fixes the split


def test_pixels_are_read_as_red_green_blue_planes():
    raw = np.zeros((1, 3072), dtype=np.uint8)
    raw[0, 1] = 255  # red, row 0, column 1
    raw[0, 1024 + 32] = 51  # green, row 1, column 0
    x = cifar.images(raw)
    assert x.shape == (1, 3, 32, 32) and x[0, 0, 0, 1] == 1.0
    assert x[0, 1, 1, 0] == pytest.approx(0.2) and float(x.sum()) == pytest.approx(1.2)


def test_cifar100_reads_fine_labels_with_python2_style_str_keys(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name, n in (("train", 40), ("test", 8)):
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "fine_labels": [i % 4 for i in range(n)], "coarse_labels": [0] * n}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    split = cifar.load("cifar100", tmp_path, val_fraction=0.25)
    assert len(split.y_train) == 30 and len(split.y_test) == 8 and split.num_classes == 4


def test_missing_files_name_the_folder_the_files_and_the_way_out(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(b"")
    with pytest.raises(cifar.DataUnavailable) as err:
        data.load("cifar100", data_dir=str(tmp_path))
    message = str(err.value)
    for part in (str(folder), "lacks test:", "--data-dir", "--download",
                 cifar.ARCHIVES["cifar100"]):
        assert part in message
    assert "\n" not in message and isinstance(err.value, ConfigError)
    with pytest.raises(ValueError, match="cifar10, cifar100"):
        cifar.load("cifar", tmp_path)


def test_download_without_torchvision_says_how_to_fetch_by_hand(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # as when it does not import
    with pytest.raises(cifar.DataUnavailable) as err:
        cifar.load("cifar10", tmp_path, download=True)
    message = str(err.value)
    for part in ("torchvision", cifar.ARCHIVES["cifar10"], str(tmp_path), "cifar-10-batches-py"):
        assert part in message


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_foreign_pickle_is_refused_without_running_it(tmp_path):
    write_cifar10(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({b"data": _Payload(), b"labels": []}, f)
    with pytest.raises(cifar.DataUnavailable, match=r"test_batch is not a readable CIFAR batch"):
        cifar.load("cifar10", tmp_path)


def test_a_batch_of_the_wrong_shape_is_named(tmp_path):
    write_cifar10(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(cifar.DataUnavailable, match=r"data_batch_3 is not a CIFAR batch.*3072"):
        cifar.load("cifar10", tmp_path)


def test_config_refuses_cifar_without_a_folder_and_cuda_without_a_gpu():
    with pytest.raises(ConfigError, match=r"^data_dir must be the folder holding "
                                          r"cifar-10-batches-py/ for dataset cifar10"):
        conversion.Config(dataset="cifar10")
    with pytest.raises(ConfigError, match="arch must be one of mlp, cnn, vgg16, resnet18, "
                                          "resnet20"):
        conversion.Config(arch="resnet50")
    with pytest.raises(ConfigError, match=r"recipe must be one of lab, authors"):
        conversion.Config(recipe="sgd")
    with pytest.raises(ConfigError, match=r"width must be an integer in \[1, 4096\]"):
        conversion.Config(width=0)
    with pytest.raises(ConfigError, match=r"depth must be an integer in \[1, 32\]"):
        conversion.Config(depth=33)
    with pytest.raises(ConfigError, match=r"checkpoint must be 'last' for threshold-balancing"):
        conversion.Config(variant="threshold-balancing", checkpoint="best-validation")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="device must be 'cpu' or 'auto'"):
            conversion.Config(device="cuda")


def test_the_authors_recipe_is_sgd_with_momentum_decay_and_a_cosine_schedule():
    recipe = training.RECIPES["authors"]
    optimizer, scheduler = recipe.build(nn.Linear(2, 2), lr=0.05, epochs=4)
    group = optimizer.param_groups[0]
    assert isinstance(optimizer, torch.optim.SGD)
    assert (group["momentum"], group["weight_decay"]) == (0.9, 5e-4)
    rates = []
    for _ in range(4):
        rates.append(group["lr"])
        optimizer.step()  # no gradients: nothing moves, but the schedule's order is kept
        scheduler.step()
    expected = [0.05 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert rates == pytest.approx(expected)
    adam, none = training.RECIPES["lab"].build(nn.Linear(2, 2), lr=1e-3, epochs=4)
    assert isinstance(adam, torch.optim.Adam) and none is None


def test_augmentation_crops_flips_and_cuts_out_repeatably():
    x = torch.rand(6, 3, 32, 32)
    a = augment.crop_flip_cutout(x, torch.Generator().manual_seed(3))
    b = augment.crop_flip_cutout(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    plain = augment.crop_flip_cutout(x, torch.Generator().manual_seed(0), padding=0, cutout=0)
    for img, out in zip(x, plain, strict=True):  # no crop, no hole: each image as is or mirrored
        assert torch.equal(out, img) or torch.equal(out, img.flip(-1))
    ones = augment.crop_flip_cutout(torch.ones(200, 1, 32, 32), torch.Generator().manual_seed(1),
                                    padding=0, cutout=16)
    holes = (ones == 0).sum((1, 2, 3))
    assert int(holes.max()) == 16 * 16 and int(holes.min()) >= 8 * 8  # clipped at the border


def test_the_preset_parses_and_holds_the_authors_setting(tmp_path):
    preset = presets.load("vgg16-cifar10")
    assert preset.method == "conversion" and "vgg16-cifar10" in presets.names()
    config = conversion.Config(**preset.values, data_dir=str(tmp_path))
    assert (config.dataset, config.arch, config.width, config.batch_norm) == (
        "cifar10", "vgg16", 128, True)
    assert (config.variant, config.quantization_levels, config.fit_timesteps) == (
        "residual-noise", 4, 4)
    assert (config.recipe, config.lr, config.epochs, config.timesteps) == ("authors", 0.05, 400, 8)
    assert (config.checkpoint, config.device) == ("best-validation", "auto")
    args = cli._parser(preset).parse_args(["run", "conversion", "--preset", "vgg16-cifar10",
                                           "--epochs", "3", "--data-dir", str(tmp_path)])
    assert (args.arch, args.epochs, args.lr) == ("vgg16", 3, 0.05)  # a flag given wins


def test_a_bad_preset_is_refused_naming_the_file_and_the_field(tmp_path):
    (tmp_path / "typo.toml").write_text('method = "conversion"\n[config]\nepoch = 3\n')
    (tmp_path / "range.toml").write_text('method = "conversion"\n[config]\nwidth = 0\n')
    (tmp_path / "method.toml").write_text('method = "nope"\n')
    with pytest.raises(ConfigError, match=r"typo.toml: epoch is not a field of conversion"):
        presets.load("typo", tmp_path)
    with pytest.raises(ConfigError, match=r"range.toml: width must be an integer in \[1, 4096\]"):
        presets.load("range", tmp_path)
    with pytest.raises(ConfigError, match=r"method.toml: method must be one of"):
        presets.load("method", tmp_path)
    with pytest.raises(ConfigError, match=r"preset must be one of method, range, typo"):
        presets.load("missing", tmp_path)


def test_cli_preset_for_another_method_or_without_data_exits_2(tmp_path, capsys):
    assert cli.main(["run", "bptt", "--preset", "vgg16-cifar10"]) == 2
    assert "preset vgg16-cifar10 is for method conversion, not bptt" in capsys.readouterr().err
    store = str(tmp_path / "r.sqlite")
    assert cli.main(["run", "conversion", "--preset", "vgg16-cifar10", "--results", store,
                     "--data-dir", str(tmp_path), "--device", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cifar10: ") and "lacks data_batch_1" in err


@pytest.mark.parametrize("arch,width", [("vgg16", 2), ("resnet20", 16), ("resnet18", 4)])
def test_paper_archs_train_one_epoch_on_tiny_cifar_and_convert(tmp_path, arch, width):
    write_cifar10(tmp_path)
    config = conversion.Config(dataset="cifar10", data_dir=str(tmp_path), arch=arch, width=width,
                               batch_norm=True, recipe="authors", lr=0.05, epochs=1,
                               batch_size=16, timesteps=4, levels=4, device="cpu")
    result = conversion.run(config)
    metrics = result["metrics"]
    assert {"accuracy_T1", "accuracy_T4", "ann_accuracy"} <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values() if isinstance(v, float))
    snn = result["models"]["snn"]
    n_neurons = len(models.spiking_layers(snn))
    assert n_neurons == {"vgg16": 15, "resnet20": 19, "resnet18": 17}[arch]
    assert len(result["curves"]["noise_std_per_layer"]) == n_neurons


def test_best_validation_checkpoint_is_no_worse_on_validation_than_the_last():
    split = data.load("digits")
    kept = {}
    for checkpoint in ("last", "best-validation"):
        config = conversion.Config(arch="mlp", width=32, epochs=4, timesteps=4,
                                   checkpoint=checkpoint)
        ann, _ = conversion.train_ann(config, split)
        snn = conversion.convert(ann, v_init=config.v_init)
        x, y = split.validation()
        out = training.predict(snn, x, lambda m, xb: m(xb.expand(4, *xb.shape)).mean(0))
        kept[checkpoint] = float((out.argmax(1) == y).float().mean())
        assert 1 <= ann.checkpoint_epoch <= 4
        assert checkpoint == "best-validation" or ann.checkpoint_epoch == 4
    assert kept["best-validation"] >= kept["last"]


def test_run_stores_the_epoch_it_kept():
    result = conversion.run(conversion.Config(arch="mlp", width=16, epochs=2, timesteps=2,
                                              checkpoint="best-validation"))
    assert result["metrics"]["checkpoint_epoch"] in (1, 2)
