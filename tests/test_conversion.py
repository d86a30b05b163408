"""Conversion: QCFS theory, the rate identity, residual statistics, bad input, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lab import cli, conversion
from lab.conversion import Config, convert, simulate_accuracy, threshold_balance
from lab.conversion.activations import QCFS, ClippedReLU, ResidualNoise, qcfs
from lab.core import encoding, grid, models, theme
from lab.core.config import ConfigError
from lab.core.neurons import NeuronParams, SpikingNeuron, simulate
from lab.core.noise import NoiseModel
from lab.core.results import ResultsStore
from lab.viz import conversion as viz


def _qcfs_mlp(seed: int = 0, levels: int = 4, act=QCFS) -> nn.Sequential:
    torch.manual_seed(seed)
    ann = models.mlp(16, (32, 24), 5, lambda: act(levels, 1.5))
    return ann.eval()


def _inputs(n: int = 40, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 4, generator=g), torch.randint(0, 5, (n,), generator=g)


# --- theory -------------------------------------------------------------------------------

@pytest.mark.parametrize("levels", [1, 2, 4, 8])
def test_if_rate_equals_qcfs_at_T_equal_L(levels):
    """θ = λ, v[0] = θ/2, constant z for T = L steps: θ·Σs/T = QCFS(z), for every z."""
    lam = 1.7
    z = grid.linspace(-1.0, 2.5, 3001) * lam
    out = simulate(z.expand(levels, -1), NeuronParams(lam, v_init=0.5))
    rate = lam * out.spikes.sum(0) / levels
    assert torch.equal(rate, qcfs(z, lam, levels))
    assert torch.equal(rate, lam * torch.clamp(torch.floor(z * levels / lam + 0.5) / levels, 0, 1))


def test_converted_first_layer_reproduces_qcfs_ann_at_T_equal_L():
    ann = _qcfs_mlp(levels=4)
    x, _ = _inputs()
    snn = convert(ann)
    with torch.no_grad():
        hidden_ann = ann[:3](x)
        hidden_snn = snn[:3](encoding.encode(x, 4)).mean(0)
    torch.testing.assert_close(hidden_snn, hidden_ann, rtol=0, atol=1e-6)


def test_rate_identity_of_every_converted_layer():
    """θ·Σs/T = mean(I) − (v[T] − v[0])/T per neuron, with uneven (rate-coded) input."""
    ann, (x, _) = _qcfs_mlp(), _inputs()
    snn, T = convert(ann, v_init=0.5), 10
    seen = {}
    hooks = [n.register_forward_hook(lambda m, i, o, k=k: seen.__setitem__(k, (i[0], o)))
             for k, n in enumerate(models.spiking_layers(snn))]
    with torch.no_grad():
        snn(encoding.encode(x, T, "rate", seed=3))
    for h in hooks:
        h.remove()
    for k, neuron in enumerate(models.spiking_layers(snn)):
        current, out = seen[k]
        theta = float(neuron.threshold)
        lhs = out.sum(0) / T
        rhs = current.mean(0) - (neuron.residual_potential - theta / 2) / T
        torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-5)


def test_snn_of_relu_ann_approaches_ann_logits_for_large_T():
    torch.manual_seed(0)
    for ann in (models.mlp(16, (32,), 5).eval(), models.cnn((1, 4, 4), (4,), 5, hidden=16).eval()):
        x, _ = _inputs()
        snn = convert(ann, threshold_balance(ann, x, percentile=100), v_init=0.5)
        with torch.no_grad():
            logits = ann(x)
            rates = snn(encoding.encode(x, 512)).mean(0)
        assert (rates - logits).abs().max() < 0.05 * logits.abs().max()


def test_qcfs_straight_through_gradients():
    lam, levels = 2.0, 4
    act = QCFS(levels, lam)
    z = torch.tensor([-1.0, 0.1, 0.7, 1.3, 1.99, 2.5, 4.0], requires_grad=True)
    h = act(z)
    h.sum().backward()
    inside = (z > 0) & (z < lam)
    assert torch.equal(z.grad, inside.float())
    expected = torch.where(inside, (h - z) / lam, (z >= lam).float()).detach().sum()
    torch.testing.assert_close(act.threshold.grad, expected)


def test_clipped_relu_and_its_conversion():
    act = ClippedReLU(1.5)
    assert torch.equal(act(torch.tensor([-1.0, 0.5, 3.0])), torch.tensor([0.0, 0.5, 1.5]))
    ann = models.mlp(16, (8,), 5, lambda: ClippedReLU(1.5))
    assert float(models.spiking_layers(convert(ann))[0].threshold) == 1.5


# --- noise --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_noise_is_active_in_training_only(kind):
    act = ResidualNoise(4, 2.0, noise=NoiseModel(kind, std=0.3))
    z = grid.linspace(-1, 3, 20000, torch.float32)
    clean = qcfs(z, 2.0, 4)
    act.eval()
    assert torch.equal(act(z), clean)
    act.train()
    torch.manual_seed(0)
    noise = (act(z) - clean).detach() / 2.0  # units of λ
    assert abs(float(noise.std()) - 0.3) < 0.01 and abs(float(noise.mean())) < 0.01
    if kind == "uniform":
        assert float(noise.abs().max()) <= 0.3 * 3**0.5 + 1e-6


def test_noise_free_residual_noise_layer_is_qcfs_and_draws_nothing():
    act = ResidualNoise(4, 2.0).train()
    z = grid.linspace(-1, 3, 100, torch.float32)
    torch.manual_seed(0)
    assert torch.equal(act(z), qcfs(z, 2.0, 4))
    after_forward = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after_forward, torch.rand(3))  # the generator was not advanced


def test_fit_noise_sets_sigma_to_the_measured_gap():
    ann, (x, _) = _qcfs_mlp(act=ResidualNoise), _inputs()
    gaps = conversion.fit_noise(ann, x, timesteps=2)
    assert [a.noise.std for a in conversion.activation_layers(ann)] == [g.std for g in gaps]
    assert gaps[1].std > 0 and all(a.noise.mean == 0 for a in conversion.activation_layers(ann))
    # T = L: constant input to the first layer converts without error (QCFS theory)
    gaps_at_L = conversion.residual_gap(ann, convert(ann), x, timesteps=4)
    assert abs(gaps_at_L[0].mean) < 1e-6 and gaps_at_L[0].std < 1e-6


# --- threshold balancing and refusal ------------------------------------------------------

def test_threshold_balance_percentiles():
    ann = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2))
    with torch.no_grad():
        ann[0].weight.fill_(1.0)
        ann[0].bias.zero_()
    x = torch.cat([torch.arange(1, 1001.0), -torch.arange(1, 501.0)]).reshape(-1, 1)
    assert threshold_balance(ann, x, 100) == [1000.0]
    assert threshold_balance(ann, x, 99.9) == pytest.approx(
        [np.percentile(np.arange(1, 1001.0), 99.9)])
    assert threshold_balance(ann, x, 50) == [pytest.approx(500.5)]
    with pytest.raises(ValueError, match="percentile"):
        threshold_balance(ann, x, 0)


@pytest.mark.parametrize("layer", [nn.BatchNorm1d(16), nn.LSTM(16, 16), nn.Tanh(),
                                   nn.MaxPool2d(2)])
def test_unsupported_layers_are_refused_by_name(layer):
    ann = nn.Sequential(nn.Flatten(), layer, nn.Linear(16, 5))
    with pytest.raises(TypeError, match=type(layer).__name__):
        convert(ann, thresholds=[])


def test_relu_needs_thresholds_and_their_count_is_checked():
    ann = models.mlp(16, (8, 8), 5)
    with pytest.raises(ValueError, match="threshold_balance"):
        convert(ann)
    with pytest.raises(ValueError, match="one value per activation"):
        convert(ann, thresholds=[1.0])
    with pytest.raises(ValueError, match="threshold"):
        convert(ann, thresholds=[1.0, 0.0])


# --- simulation ---------------------------------------------------------------------------

def test_one_pass_curve_equals_separate_shorter_runs():
    ann, (x, y) = _qcfs_mlp(), _inputs()
    snn = convert(ann)
    long = simulate_accuracy(snn, x, y, 16)
    for T in (1, 2, 4, 8):
        short = simulate_accuracy(snn, x, y, T)
        assert torch.equal(short.accuracy, long.accuracy[:T])
        for a, b in zip(short.layers, long.layers, strict=True):
            assert torch.equal(a.misrepresented, b.misrepresented[:T])
            assert torch.equal(a.histograms[T], b.histograms[T])


def test_misrepresented_fraction_counts_spikes_unlike_even_arrival():
    ann, (x, y) = _qcfs_mlp(), _inputs()
    snn, T = convert(ann), 6
    sim = simulate_accuracy(snn, x, y, T, batch_size=7)
    neuron = models.spiking_layers(snn)[1]
    seen = {}
    handle = neuron.register_forward_hook(lambda m, i, o: seen.update(current=i[0], out=o))
    with torch.no_grad():
        snn(encoding.encode(x, T))
    handle.remove()
    theta = float(neuron.threshold)
    for t in range(1, T + 1):
        count = (seen["out"][:t] != 0).sum(0)
        ideal = conversion.ideal_spike_count(seen["current"][:t].sum(0), t, theta, 0.5)
        wrong = (count != ideal).float().mean()
        assert float(sim.layers[1].misrepresented[t - 1]) == pytest.approx(float(wrong))
    # the first layer sees constant input: it is never misrepresented
    assert float(sim.layers[0].misrepresented.max()) == 0.0
    assert float(sim.layers[1].misrepresented.max()) > 0.0
    assert float(sim.layers[1].outside[-1]) >= float(sim.layers[1].misrepresented[-1])


def test_timesteps_within():
    sim = conversion.Simulation(torch.tensor([50.0, 95.0, 93.0, 96.0, 96.5]), [])
    assert sim.timesteps_within(97.0) == 4
    assert sim.timesteps_within(99.0) is None


# --- configuration and bad input ----------------------------------------------------------

@pytest.mark.parametrize("field, value", [("levels", 0), ("levels", 2.5), ("v_init", 1.0),
                                          ("noise_std", -0.1), ("timesteps", 0),
                                          ("variant", "magic"), ("percentile", 100.5),
                                          ("calibration_timesteps", -1), ("noise", "pink"),
                                          ("depth", 0), ("depth", 33), ("width", 0)])
def test_bad_config_names_the_parameter(field, value):
    with pytest.raises(ConfigError, match=field):
        Config(**{field: value})


def test_bad_arguments_of_the_functions():
    with pytest.raises(ValueError, match="levels"):
        QCFS(levels=0)
    with pytest.raises(ValueError, match="σ"):
        NoiseModel(std=-0.5)
    with pytest.raises(ValueError, match="kind"):
        NoiseModel("pink")
    ann, (x, y) = _qcfs_mlp(), _inputs()
    with pytest.raises(ValueError, match="timesteps"):
        simulate_accuracy(convert(ann), x, y, 0)


# --- the notebook's callbacks -------------------------------------------------------------

def test_uneven_arrival_misrepresents_the_same_input():
    even = viz.uneven_input(6, 3, 12, 0.5, skew=0.0)
    early = viz.uneven_input(6, 3, 12, 0.5, skew=1.0)
    assert not torch.equal(even, early)
    assert float(even.sum()) == float(early.sum()) == 1.5  # the same spikes, moved in time
    assert viz.arrival_times(3, 12, 1.0, first=False) == [11, 11, 11]
    assert viz.single_neuron(even)["spikes"] == viz.single_neuron(even)["ideal"] == 2
    fired_early = viz.single_neuron(early)  # excitation first, inhibition last: v[T] < 0
    assert fired_early["spikes"] == 3 and fired_early["residual"] == -1.0
    delayed = viz.single_neuron(viz.uneven_input(6, 3, 12, 0.5, skew=-1.0))  # v[T] ≥ θ
    assert delayed["spikes"] == 1 and delayed["ideal"] == 2 and delayed["residual"] == 1.0
    assert "misrepresented" in viz.single_neuron_figure(skew=1.0).layout.title.text
    assert "honest" in viz.single_neuron_figure(skew=0.0).layout.title.text


def test_figures_draw_from_a_simulation():
    ann, (x, y) = _qcfs_mlp(), _inputs()
    sim = simulate_accuracy(convert(ann), x, y, 8)
    fig = viz.residual_histograms_figure(sim, 4)
    assert len(fig.data) == 2 and "misrepresented" in fig.layout.annotations[1].text
    assert theme.description(fig)
    seeds = {T: [float(sim.accuracy_at(T)), float(sim.accuracy_at(T)) + 1] for T in (1, 2, 4, 8)}
    fig = viz.accuracy_intervals_figure({"qcfs": seeds, "qcfs L=T": {1: [50.0]}},
                                        {"qcfs": [60.0, 61.0]}, "test")
    band, mean, single, ann = fig.data
    assert band.fill == "toself" and list(mean.x) == [1, 2, 4, 8] and list(single.x) == [1]
    assert mean.line.color == theme.color("qcfs") and ann.line.dash == "dash"
    assert list(ann.y) == [60.5, 60.5] and list(ann.x) == [1, 8]
    assert theme.description(fig) == "test"


# --- the method end to end ----------------------------------------------------------------

def test_cli_run_stores_curve_and_residuals(tmp_path):
    path = tmp_path / "r.sqlite"
    argv = ["run", "conversion", "--variant", "residual-noise", "--epochs", "2",
            "--timesteps", "8", "--results", str(path), "--quiet", "--device", "cpu"]
    assert cli.main(argv) == 0
    assert cli.main(argv) == 0
    first, second = ResultsStore(path).runs()
    assert first.metrics["accuracy_T1"] == second.metrics["accuracy_T1"]  # seeded
    assert first.curves == second.curves
    m, c = first.metrics, first.curves
    assert 0 <= m["accuracy_T8"] <= 100 and m["accuracy"] == m["accuracy_T8"]
    assert len(c["accuracy_per_timestep"]) == 8 and c["timesteps_grid"] == [1, 2, 4, 8]
    assert len(c["misrepresented_fraction_layer2"]) == 8
    assert max(c["misrepresented_fraction_layer1"]) == 0  # constant input to the first layer
    assert c["noise_std_per_layer"][1] > 0  # σ was fitted before epoch 2


def test_cli_refuses_bad_input(tmp_path, capsys):
    code = cli.main(["run", "conversion", "--levels", "0", "--results",
                     str(tmp_path / "r.sqlite")])
    assert code == 2 and "levels" in capsys.readouterr().err


def test_variants_share_architecture_and_initial_weights():
    def first_weights(variant):
        torch.manual_seed(123)
        c = Config(variant=variant)
        torch.manual_seed(c.seed)
        return models.build(c.arch, (1, 8, 8), 10, conversion.activation(c))[1].weight

    w = [first_weights(v) for v in conversion.VARIANTS]
    assert torch.equal(w[0], w[1]) and torch.equal(w[1], w[2])


def test_spiking_neurons_of_the_conversion_are_plain_if():
    snn = convert(_qcfs_mlp(), v_init=0.0)
    for n in models.spiking_layers(snn):
        assert isinstance(n, SpikingNeuron)
        assert (n.beta, n.reset, n.v_init, n.scale_output) == (1.0, "subtract", 0.0, True)
