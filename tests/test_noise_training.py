"""Noise-based single-step training: the identity, the T = 1 → T = N step, config, CLI."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lab import cli
from lab import noise_training as nt
from lab.core import config as cfg
from lab.core import grid, models
from lab.core.metrics import timesteps_within
from lab.core.noise import IDEAL_RESIDUAL_STD, NoiseModel
from lab.core.results import ResultsStore
from lab.viz import noise_training as viz

# Shifted by an irrational fraction of the step: no current sits exactly on a rounding tie of
# some N (a grid of ties would make the rounding bias of v0 = θ/2 one-sided).
SHIFT = 0.025 * (5**0.5 - 1) / 2
CURRENTS = grid.linspace(-0.5 + SHIFT, 1.5 + SHIFT, 81)


@pytest.mark.parametrize("threshold", [1.0, 0.7])
def test_uniform_identity_closed_form(threshold):
    """P(I + n ≥ θ), n = v0 + U[−θ/2, θ/2) = U[0, θ) (σ = 1/√12), is clip(I/θ, 0, 1)."""
    z = CURRENTS * threshold
    expected = nt.expected_spike(z, "uniform", IDEAL_RESIDUAL_STD, threshold, v_init=0.5)
    torch.testing.assert_close(expected, (z / threshold).clamp(0, 1))


@pytest.mark.parametrize(("noise", "noise_std"), [("uniform", IDEAL_RESIDUAL_STD), ("uniform", 0.6),
                                                  ("gaussian", 0.3),
                                                  ("gaussian", 0.1), ("none", 0.0)])
def test_monte_carlo_matches_closed_form(noise, noise_std):
    samples = 20_000
    z = CURRENTS * 0.8
    mc = nt.monte_carlo_spike(z, noise, noise_std, 0.8, 0.5, samples=samples, seed=3)
    exact = nt.expected_spike(z, noise, noise_std, 0.8, 0.5)
    # 5 standard errors of a Bernoulli mean (p(1 − p) ≤ 1/4)
    assert (mc - exact).abs().max() <= 5 * 0.5 / samples**0.5


def test_uniform_noise_lies_in_zero_theta():
    """One noise model for both methods: 'uniform' with σ = 1/√12 is U(−θ/2, θ/2)."""
    n = 0.5 * 2.0 + 2.0 * NoiseModel("uniform", IDEAL_RESIDUAL_STD).sample(
        (10_000,), generator=torch.Generator().manual_seed(0))
    assert n.min() >= 0 and n.max() < 2.0
    assert abs(float(n.std()) - 2.0 / 12**0.5) < 0.02  # why noise_std defaults to ≈ 0.3·θ


def test_gaussian_is_centred_on_the_uniform_residual():
    """With v0 = θ/2 the Gaussian E[s] crosses 1/2 at I = θ/2, where clip(I/θ) does."""
    half = torch.tensor([0.5])
    assert float(nt.expected_spike(half, "gaussian", 0.3)) == pytest.approx(0.5)
    zero_std = nt.expected_spike(CURRENTS, "gaussian", 0.0)
    torch.testing.assert_close(zero_std, nt.expected_spike(CURRENTS, "none", 0.3))


@pytest.mark.parametrize("threshold", [1.0, 0.6])
def test_if_rate_approaches_clip_from_zero(threshold):
    """v0 = 0: rate = floor(N·I/θ)/N, so 0 ≤ clip(I/θ) − rate ≤ 1/N (θ·rate: error ≤ θ/N)."""
    n_max = 64
    rate = nt.if_rate(CURRENTS * threshold, n_max, threshold, v_init=0.0)
    target = CURRENTS.clamp(0, 1)
    n = torch.arange(1, n_max + 1, dtype=torch.float64).unsqueeze(1)
    error = target - rate
    assert (error >= -1e-9).all()  # floor: never above the target
    assert (error <= 1 / n + 1e-9).all()
    assert error[-1].abs().max() < error[3].abs().max()  # and it does shrink


def test_if_rate_from_half_threshold_rounds():
    """v0 = θ/2: |rate − clip(I/θ)| ≤ 1/(2N), half the worst case of v0 = 0, and unbiased."""
    n_max = 32
    rate = nt.if_rate(CURRENTS, n_max, 1.0, v_init=0.5)
    n = torch.arange(1, n_max + 1, dtype=torch.float64).unsqueeze(1)
    error = rate - CURRENTS.clamp(0, 1)
    assert (error.abs() <= 0.5 / n + 1e-9).all()
    inside = (CURRENTS > 0) & (CURRENTS < 1)
    floor_bias = (nt.if_rate(CURRENTS, n_max, 1.0, 0.0) - CURRENTS.clamp(0, 1))[:, inside]
    assert error[:, inside].mean(1).abs().max() < floor_bias.mean(1).abs().min()


def test_if_rate_averaged_over_uniform_start_is_the_t1_expectation():
    """E over v0 ~ U[0, θ) of the IF rate at any N equals clip(I/θ) = E[s] at T = 1."""
    starts = (torch.arange(400, dtype=torch.float64) + 0.5) / 400
    z = torch.tensor([0.13, 0.37, 0.5, 0.81], dtype=torch.float64)
    for n in (1, 3, 8):
        mean_rate = torch.stack([nt.if_rate(z, n, 1.0, float(v))[-1] for v in starts]).mean(0)
        torch.testing.assert_close(mean_rate, z, atol=1 / 400, rtol=0)


def test_single_step_neuron_noise_only_in_training():
    neuron = nt.SingleStepNeuron(threshold=1.0, v_init=0.5, noise="gaussian", noise_std=0.3)
    z = grid.linspace(-1, 2, 200, torch.float32)
    neuron.eval()
    torch.testing.assert_close(neuron(z), (z + 0.5 >= 1.0).float())
    neuron.train()
    torch.manual_seed(0)
    a = neuron(z)
    assert not torch.equal(a, neuron(z))
    assert set(a.unique().tolist()) <= {0.0, 1.0}


def test_single_step_neuron_emits_theta_and_has_a_surrogate_gradient():
    neuron = nt.SingleStepNeuron(threshold=2.0, noise="none").train()
    z = grid.linspace(-1, 3, 50, torch.float32).requires_grad_()
    out = neuron(z)
    assert set(out.detach().unique().tolist()) == {0.0, 2.0}
    out.sum().backward()
    assert (z.grad > 0).all()


def _tiny(noise: str = "gaussian", threshold: float = 1.0) -> nn.Sequential:
    torch.manual_seed(0)
    config = nt.Config(noise=noise, threshold=threshold)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 20), nt.SingleStepNeuron(
        config.threshold, config.v_init, config.noise, config.noise_std),
        nn.Linear(20, 16), nt.SingleStepNeuron(config.threshold, config.v_init, config.noise,
                                               config.noise_std), nn.Linear(16, 5))
    return model.eval()


@pytest.mark.parametrize("threshold", [1.0, 0.5])
def test_t1_to_tn_is_lossless_at_n_equals_1(threshold):
    model = _tiny(threshold=threshold)
    x = torch.rand(64, 1, 3, 4) * 3
    snn = nt.to_multi_step(model)
    out = nt.multi_step_forward(1)(snn, x)
    torch.testing.assert_close(out[0], model(x))
    neurons = [m for m in snn if hasattr(m, "residual_potential")]
    assert [float(m.threshold) for m in neurons] == [threshold, threshold]
    assert all(m.scale_output and m.beta == 1.0 and m.v_init == 0.5 for m in neurons)
    assert all(m.v_init == 0.0 for m in nt.models.spiking_layers(nt.to_multi_step(model, 0.0)))


def test_multi_step_first_layer_rate_is_clipped_current():
    """The first IF layer's rate θ·Σs/N approaches clip(W·x + b, 0, θ) within θ/(2N)."""
    model = _tiny()
    x = torch.rand(32, 1, 3, 4) * 2
    snn = nt.to_multi_step(model)
    n = 64
    hidden = snn[:3](nt.encoding.direct(x, n)).mean(0)
    target = model[1](model[0](x)).clamp(0, 1)
    assert (hidden - target).abs().max() <= 0.5 / n + 1e-6


def test_timesteps_within_is_one_definition():
    """The first T from which the curve stays within 1 point: a dip after it moves it on."""
    assert timesteps_within([50.0, 80.0, 89.5, 90.0, 89.0], 90.0) == 3
    assert timesteps_within([90.0, 10.0, 90.0], 90.0) == 3
    assert timesteps_within([90.0, 10.0], 90.0) is None


@pytest.mark.parametrize(("field", "value"), [("noise_std", -0.1), ("timesteps", 0),
                                               ("timesteps", -3), ("noise", "poisson"),
                                               ("v_init", 1.0), ("noise_std", float("nan"))])
def test_bad_config_names_the_parameter(field, value):
    with pytest.raises(cfg.ConfigError, match=field):
        nt.Config(**{field: value})


def test_bad_noise_in_library_functions():
    with pytest.raises(cfg.ConfigError, match="noise"):
        nt.expected_spike(CURRENTS, "laplace", 0.3)
    with pytest.raises(cfg.ConfigError, match="noise_std"):
        nt.SingleStepNeuron(noise_std=-1.0)
    with pytest.raises(cfg.ConfigError, match="timesteps"):
        nt.multi_step_forward(0)


def test_cli_rejects_bad_input_before_training(tmp_path, capsys):
    results = str(tmp_path / "r.sqlite")
    for flags in (["--noise-std", "-1"], ["--timesteps", "0"], ["--noise", "salt"]):
        assert cli.main(["run", "noise-single-step", "--results", results, "--quiet",
                         *flags]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and flags[0][2:].replace("-", "_") in err
    assert ResultsStore(results).runs() == []


def test_run_is_deterministic_and_stored_by_the_cli(tmp_path):
    """The CLI's run re-trains from the seed: the same numbers as a direct run."""
    a = nt.run(nt.Config(epochs=1, timesteps=4, device="cpu"))
    assert len(a["curves"]["accuracy_per_timestep"]) == 4
    assert a["metrics"]["accuracy"] > 50
    results = str(tmp_path / "r.sqlite")
    assert cli.main(["run", "noise-single-step", "--epochs", "1", "--timesteps", "4",
                     "--device", "cpu", "--results", results, "--quiet"]) == 0
    (run,) = ResultsStore(results).runs("noise-single-step")
    assert run.metrics["accuracy"] == a["metrics"]["accuracy"]
    assert run.metrics["accuracy_t1"] == a["metrics"]["accuracy_t1"]
    assert run.curves["accuracy_per_timestep"] == a["curves"]["accuracy_per_timestep"]
    assert run.timings["train_s"] > 0


@pytest.mark.parametrize("noise", nt.NOISES)
def test_identity_figure(noise):
    fig = viz.identity_figure(noise, IDEAL_RESIDUAL_STD if noise == "uniform" else 0.3,
                              timesteps=8)
    assert len(fig.data) == 6
    if noise == "uniform":
        assert "= 0.000" in fig.layout.title.text
        assert max(abs(v) for v in fig.data[4].y) == 0.0


def test_accuracy_and_training_figures():
    fig = viz.accuracy_figure({"a": [1.0, 2.0], "b": [3.0, 4.0]}, {"BPTT": 3.5})
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 1
    bars = viz.training_figure({"x": 1.0, "y": 2.0}, {"x": 90.0, "y": 95.0})
    assert list(bars.data[0].y) == [1.0, 2.0]


# --- the identity's scope: the per-layer gap of the T = 1 → T = N network --------------------

def test_expected_spike_is_the_clipped_relu_for_the_ideal_residual():
    current = grid.linspace(-1.0, 2.0, 61)
    uniform = nt.ExpectedSpike(0.8, 0.5, "uniform", IDEAL_RESIDUAL_STD)
    torch.testing.assert_close(uniform(current), (current).clamp(0, 0.8), rtol=0, atol=1e-6)
    gaussian = nt.ExpectedSpike(1.0, 0.5, "gaussian", 0.3)
    torch.testing.assert_close(gaussian(current), nt.expected_spike(current, "gaussian", 0.3))


def test_layer_gaps_compare_the_IF_network_with_the_expected_network():
    torch.manual_seed(0)
    model = models.build("mlp", (1, 8, 8), 10, lambda: nt.SingleStepNeuron(1.0, 0.5, "uniform",
                                                                          IDEAL_RESIDUAL_STD))
    expected = nt.expected_network(model)
    assert [type(m).__name__ for m in expected if hasattr(m, "threshold")] == ["ExpectedSpike"] * 2
    assert torch.equal(expected[1].weight, model[1].weight)
    assert expected[1].weight is not model[1].weight  # a copy
    x = torch.rand(64, 1, 8, 8) * 2
    gaps = nt.layer_gaps(model, x, 4)
    assert len(gaps) == 2
    # the first layer's input is constant: its gap is the IF rate's rounding to θ/N, ≤ 1/(2N)
    first = nt.layer_gaps(nn.Sequential(*list(model)[:3]), x, 4)[0]
    assert first == gaps[0] and first.std <= 1 / 8 + 1e-6
    assert nt.layer_gaps(model, x, 64)[0].std < first.std  # the rounding shrinks like 1/N
