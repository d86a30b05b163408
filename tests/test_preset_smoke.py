"""`python -m lab run conversion --preset vgg16-cifar10 --smoke`: the paper preset's code path
on generated CIFAR files, on the CPU, with nothing downloaded."""

import importlib
import pickle

import numpy as np
import pytest

from lab import cli
from lab.conversion import smoke
from lab.core import cifar

experiment = importlib.import_module("lab.conversion.experiment")  # the package exports a
# function of the same name


def test_the_generated_files_are_read_by_the_cifar_reader(tmp_path):
    folder = smoke.write_cifar(tmp_path, "cifar10")
    with open(folder / "data_batch_1", "rb") as f:
        entry = pickle.load(f, encoding="bytes")
    assert entry[b"data"].dtype == np.uint8 and entry[b"data"].shape == (smoke.IMAGES_PER_FILE,
                                                                        3072)
    split = cifar.load("cifar10", tmp_path)
    assert split.image_shape == (3, 32, 32) and split.num_classes == 10
    assert len(split.y_test) == smoke.IMAGES_PER_FILE


def test_smoke_runs_the_preset_path_and_reports_the_ann_with_noise_off_and_on(monkeypatch,
                                                                              capsys):
    def no_download(*args, **kwargs):
        raise AssertionError("--smoke must not download")

    refits = []
    fit = experiment.fit_noise

    def counting_fit(*args, **kwargs):
        refits.append(args[2])  # the T at which σ is fitted
        return fit(*args, **kwargs)

    monkeypatch.setattr(cifar, "_download", no_download)
    monkeypatch.setattr(experiment, "fit_noise", counting_fit)
    assert cli.main(["run", "conversion", "--preset", "vgg16-cifar10", "--smoke",
                     "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "of vgg16 on generated cifar10 files in a temporary folder: finished" in out
    assert "device cpu" in out  # the preset's --device auto, on a machine without CUDA
    assert "BatchNorm layers 13 in the ANN, 0 after conversion" in out
    assert "noise off" in out and "noise on" in out and "noise on -" not in out
    assert "SNN at T = 1..8:" in out  # the preset's T_max, every T read
    assert refits == [4]  # σ refitted once, before epoch 2, at T = L = 4 on validation


def test_smoke_of_a_dataset_that_is_not_cifar_exits_2_with_one_line(capsys):
    assert cli.main(["run", "conversion", "--smoke", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --smoke runs a CIFAR preset") and "digits" in err


def test_shrink_keeps_the_preset_and_changes_only_size_and_data(tmp_path):
    config = experiment.Config(dataset="cifar10", data_dir="-", arch="vgg16", batch_norm=True,
                               recipe="authors", lr=0.05, epochs=400, batch_size=256)
    small = smoke.shrink(config, tmp_path)
    assert (small.epochs, small.width, small.data_dir) == (2, 2, str(tmp_path))
    assert (small.arch, small.recipe, small.lr, small.levels) == ("vgg16", "authors", 0.05, 4)
    with pytest.raises(ValueError, match="dataset must be one of cifar10"):
        smoke.write_cifar(tmp_path, "mnist")
