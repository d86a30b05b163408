"""Fidelity: the lab against the authors' code and another library, where a test can check it.

- The same trained ReLU network converted by the lab's threshold balancing and by SpikingJelly
  2.0.0's `ann2snn` (skipped only where SpikingJelly is not installed) predicts the same class
  for all but at most `MARGIN_IMAGES` of the 450 test digits at every T ≥ 8.
- σ as the lab fits it (the std of the gap pooled over images, in θ) against the authors'
  statistic (`NetworkFunction.train_ann`: the per-batch variance of ANN − SNN in absolute
  units, averaged over batches, then its square root), on the same networks and images.
- The noise's scale: the lab draws λ·σ·ε (σ in θ), the authors σ_abs·ε; equal when
  σ_abs = λ·σ, which is what the fitted σ makes them.
- The ANN with the noise on (the authors' "ANN" column) against the noise off.
- Every file the fidelity tables in docs/ cite as the lab's exists.
"""

import copy
import importlib
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from lab.conversion import (
    ResidualNoise,
    activation_layers,
    convert,
    residual_gap,
    threshold_balance,
)
from lab.core import data, encoding, models, training

experiment = importlib.import_module("lab.conversion.experiment")

ROOT = Path(__file__).resolve().parents[1]
MARGIN_IMAGES = 3  # of 450 test digits; measured 2026-12-06: 0 at every T = 1..32, both nets
FROM_T = (8, 16, 32)


@pytest.fixture(scope="module")
def split():
    return data.load("digits", seed=0)


def _trained(split, arch: str, batch_norm: bool, activation=nn.ReLU, epochs: int = 3,
             seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    net = models.build(arch, split.image_shape, split.num_classes, activation, width=32,
                       batch_norm=batch_norm)
    training.train(net, split, lambda m, x: m(x), epochs=epochs, lr=2e-3, batch_size=32,
                   seed=seed)
    return net.eval()


@pytest.mark.parametrize("arch,batch_norm", [("mlp", False), ("cnn", True)])
def test_lab_and_spikingjelly_threshold_balancing_predict_alike_from_t8(split, arch,
                                                                        batch_norm):
    ann2snn = pytest.importorskip("spikingjelly.activation_based.ann2snn")
    functional = pytest.importorskip("spikingjelly.activation_based.functional")
    ann = _trained(split, arch, batch_norm)
    x_cal = split.x_train[:512]
    # The lab: θ = the max of each layer's outputs on x_cal, IF from v[0] = 0 emitting θ·s.
    lab_snn = convert(ann, threshold_balance(ann, x_cal, percentile=100.0), v_init=0.0)
    # SpikingJelly: the same max over one calibration batch ("max" mode; its momentum only
    # matters across batches), IF with v_reset=None (subtraction) between scalers θ and 1/θ.
    recipe = ann2snn.RateCodingRecipe(dataloader=[(x_cal, torch.zeros(len(x_cal)))],
                                      mode="max")
    sj_snn = ann2snn.FXConverter(recipe=recipe, device="cpu").convert(copy.deepcopy(ann))
    T = max(FROM_T)
    with torch.no_grad():
        lab_sum = lab_snn(encoding.direct(split.x_test, T)).cumsum(0)  # [T, B, classes]
        functional.reset_net(sj_snn)
        sj_steps = [sj_snn(split.x_test) for _ in range(T)]
    sj_sum = torch.stack(sj_steps).cumsum(0)
    for t in FROM_T:
        differ = int((lab_sum[t - 1].argmax(-1) != sj_sum[t - 1].argmax(-1)).sum())
        assert differ <= MARGIN_IMAGES, (t, differ)
    assert float((lab_sum[-1].argmax(-1) == split.y_test).float().mean()) > 0.8  # trained


def _authors_sigma(ann: nn.Module, snn: nn.Module, x: torch.Tensor, timesteps: int,
                   batch_size: int) -> list[float]:
    """The authors' σ per layer: mean over batches of torch.var(ANN − SNN rate) (unbiased,
    absolute units), square-rooted (`NetworkFunction.train_ann` with `update_statistics`)."""
    acts, spiking = activation_layers(ann), models.spiking_layers(snn)
    seen: dict[str, list] = {"ann": [None] * len(acts), "snn": [None] * len(spiking)}
    hooks = [layer.register_forward_hook(
        lambda m, i, o, k=k, j=j: seen[k].__setitem__(j, o.detach()))
        for k, layers in (("ann", acts), ("snn", spiking)) for j, layer in enumerate(layers)]
    variances: list[list[float]] = [[] for _ in acts]
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                xb = x[start:start + batch_size]
                ann(xb)
                snn(encoding.direct(xb, timesteps))
                for j in range(len(acts)):
                    rate = seen["snn"][j].mean(0)  # θ·s averaged over T: the SNN's rate
                    variances[j].append(float(torch.var(seen["ann"][j] - rate)))
    finally:
        for h in hooks:
            h.remove()
    return [(sum(v) / len(v)) ** 0.5 for v in variances]


def test_the_fitted_sigma_is_the_authors_statistic_in_units_of_lambda(split):
    config = experiment.Config(variant="qcfs", depth=3, batch_norm=True, epochs=2)
    ann, _ = experiment.train_ann(config, split)
    ann.eval()
    snn = convert(ann, v_init=config.v_init)
    x, _ = split.validation()
    lab = residual_gap(ann, snn, x, timesteps=4, batch_size=len(x))  # in units of θ = λ
    lambdas = [float(a.threshold.detach()) for a in activation_layers(ann)]
    authors = _authors_sigma(ann, snn, x, timesteps=4, batch_size=64)
    for gap, lam, theirs in zip(lab[1:], lambdas[1:], authors[1:], strict=True):
        # pooled vs per-batch-averaged variance differ by the spread of the batch means only
        assert gap.std * lam == pytest.approx(theirs, rel=0.05)
    assert lab[0].std * lambdas[0] == pytest.approx(authors[0], rel=0.05)


def test_the_noise_is_sigma_in_units_of_lambda():
    layer = ResidualNoise(levels=4, threshold=2.0)
    layer.set_noise(std=0.1)
    z = torch.full((200_000,), 0.9)
    torch.manual_seed(0)
    noisy = layer.train()(z) - layer.eval()(z)
    assert float(noisy.std()) == pytest.approx(2.0 * 0.1, rel=0.02)  # λ·σ, the authors' σ_abs
    assert abs(float(noisy.mean())) < 0.005


def test_the_ann_with_noise_on_is_what_the_authors_report_and_differs_only_by_noise(split):
    config = experiment.Config(variant="residual-noise", depth=3, batch_norm=True, epochs=2)
    ann, _ = experiment.train_ann(config, split)
    assert max(a.noise.std for a in activation_layers(ann)) > 0  # σ refitted before epoch 2
    on = experiment.accuracy_with_noise(ann, split.x_test, split.y_test, seed=0)
    assert on == experiment.accuracy_with_noise(ann, split.x_test, split.y_test, seed=0)  # seeded
    for layer in activation_layers(ann):
        layer.set_noise(std=0.0)
    silent = experiment.accuracy_with_noise(ann, split.x_test, split.y_test, seed=0)
    plain = training.predict(ann, split.x_test, lambda m, x: m(x))
    assert silent == pytest.approx(float((plain.argmax(1) == split.y_test).float().mean()) * 100)
    assert not ann.training  # the network is left in eval mode


@pytest.mark.parametrize("method", ["conversion", "noise-training", "ttl-bptt", "streaming"])
def test_every_lab_file_a_fidelity_table_cites_exists(method):
    text = (ROOT / "docs" / f"fidelity-{method}.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"`((?:lab|benchmarks|presets|tests)/[\w/.-]+\.(?:py|toml))", text))
    assert cited, "the table cites no lab file"
    missing = sorted(path for path in cited if not (ROOT / path).is_file())
    assert not missing, missing
