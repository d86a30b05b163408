"""Conversion of any traceable model (torch.fx): a residual model written with F.relu and `+`
converted spike for spike against a hand-unrolled simulation, refusals by node name, the lab's
own models on the same path, the diagnosis, and the peer check against SpikingJelly."""

from __future__ import annotations

import copy
import importlib.util
import os
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lab import conversion
from lab.conversion import QCFS, graph
from lab.conversion.graph import NotConvertible
from lab.core import encoding, measure, models
from lab.core.neurons import NeuronParams, initial_state, recording, step
from lab.core.resnet import ResidualBlock


class TinyResNet(nn.Module):
    """A residual network as a researcher writes it: functional ReLUs, `+`, a reused ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.bn = nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.conv2, self.bn2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv3, self.down = nn.Conv2d(4, 8, 3, 2, padding=1), nn.Conv2d(4, 8, 1, 2)
        self.relu = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(8 * 2 * 2, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(self.stem(x)))
        y = F.relu(self.conv1(x))
        x = F.relu(x + self.bn2(self.conv2(y)))
        y = torch.relu(self.conv3(x))
        x = self.relu(torch.add(self.down(x), y))
        x = F.avg_pool2d(x, 2)
        x = x.view(x.size(0), -1)
        return self.fc(self.drop(x))


def _tiny(seed: int = 0) -> TinyResNet:
    torch.manual_seed(seed)
    net = TinyResNet()
    g = torch.Generator().manual_seed(seed)
    for bn in (net.bn, net.bn2):
        bn.running_mean.copy_(torch.randn(4, generator=g) * 0.3)
        bn.running_var.copy_(torch.rand(4, generator=g) + 0.5)
        bn.weight.data.copy_(torch.rand(4, generator=g) + 0.5)
        bn.bias.data.copy_(torch.randn(4, generator=g) * 0.2)
    return net.eval()


def _hand_unrolled(net: TinyResNet, thresholds: list[float], v_init: float, x: torch.Tensor,
                   timesteps: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """TinyResNet's forward, time outside: each of its 5 ReLU call sites is an IF neuron
    (`step`, v[0] = v_init·θ) that keeps v between steps and emits θ·s; BatchNorm in eval mode."""
    params = [NeuronParams(th, v_init=v_init) for th in thresholds]
    states: list = [None] * 5
    spikes: list[list[torch.Tensor]] = [[] for _ in range(5)]

    def neuron(i: int, current: torch.Tensor) -> torch.Tensor:
        state = states[i] if states[i] is not None else initial_state(current, params[i])
        s, states[i] = step(current, state, params[i])
        spikes[i].append(s)
        return s * params[i].threshold

    def forward(h: torch.Tensor) -> torch.Tensor:
        h = neuron(0, net.bn(net.stem(h)))
        y = neuron(1, net.conv1(h))
        h = neuron(2, h + net.bn2(net.conv2(y)))
        y = neuron(3, net.conv3(h))
        h = neuron(4, net.down(h) + y)
        return net.fc(torch.flatten(F.avg_pool2d(h, 2), 1))

    with torch.no_grad():
        out = torch.stack([forward(x) for _ in range(timesteps)])
    return out, [torch.stack(s) for s in spikes]


# --- the converter ------------------------------------------------------------------------

def test_residual_model_with_functional_relu_converts_spike_for_spike():
    net = _tiny().double()
    thresholds = [0.375, 0.25, 0.5, 0.3125, 0.4375]  # exact in float32 (θ is a float32 buffer)
    snn = conversion.convert(net, thresholds, v_init=0.5).double()
    x = torch.rand(6, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    T = 8
    with torch.no_grad(), recording(snn) as neurons:
        out = snn(encoding.direct(x, T))
        got = [n.last.spikes for n in neurons]
    want_out, want = _hand_unrolled(net, thresholds, 0.5, x, T)
    assert len(got) == 5 and sum(isinstance(m, ResidualBlock) for m in snn.modules()) == 2
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g, w)
    torch.testing.assert_close(out, want_out, atol=1e-9, rtol=1e-9)
    rate = torch.cat([g.flatten() for g in got]).mean()
    assert 0.05 < float(rate) < 0.95  # not a comparison of silent networks
    for n in neurons:
        assert (n.beta, n.reset, n.v_init, n.scale_output) == (1.0, "subtract", 0.5, True)


def test_layout_computes_what_the_model_computes_and_names_each_call_site():
    net = _tiny()
    lay = graph.layout(net)
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(lay.ann.eval()(x), net(x))
    assert lay.names == ["relu", "relu_1", "relu_2", "relu_3", "relu#2"]
    assert len(set(map(id, lay.activations))) == 5  # the reused nn.ReLU: one module per site
    assert not any(a.inplace for a in lay.activations)
    assert lay.ann.training == net.training


def test_threshold_balancing_and_large_T_approach_the_ann():
    net, x = _tiny(1), torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    thresholds = conversion.threshold_balance(net, x, percentile=100)
    assert len(thresholds) == 5 and all(t > 0 for t in thresholds)
    snn = conversion.convert(net, thresholds, v_init=0.5)
    with torch.no_grad():
        logits, rates = net(x), snn(encoding.direct(x, 512)).mean(0)
    assert (rates - logits).abs().max() < 0.05 * logits.abs().max()
    gaps = conversion.residual_gap(net, snn, x, 4)
    assert len(gaps) == 5 and gaps[-1].std > 0
    assert not net.training  # measuring left the model's mode alone


def test_the_labs_own_models_take_the_same_path_unchanged():
    torch.manual_seed(0)
    net = models.build("resnet20", (3, 16, 16), 10, lambda: QCFS(4, 1.0), width=8,
                       batch_norm=True).eval()
    lay = graph.layout(net)
    assert lay.activations == [m for m in net.modules() if isinstance(m, QCFS)]  # same objects
    assert str(lay.ann) == str(net)
    mlp = models.build("mlp", (1, 8, 8), 10, nn.ReLU, batch_norm=True)
    assert [type(m) for m in graph.layout(mlp).ann] == [type(m) for m in mlp]


def test_relu_written_every_way_is_one_if_layer_each():
    class Ways(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.ModuleList(nn.Linear(4, 4) for _ in range(6))
            self.act, self.q = nn.ReLU(inplace=True), QCFS(2, 1.0)

        def forward(self, x):
            x = F.relu(self.fc[0](x))
            x = torch.relu(self.fc[1](x))
            x = self.fc[2](x).relu()
            x = self.act(self.fc[3](x))
            x = self.q(self.fc[4](x))
            return self.q(self.fc[5](torch.flatten(x, 1)))

    snn = conversion.convert(Ways(), [1.0] * 6)
    assert len(models.spiking_layers(snn)) == 6
    assert graph.layout(Ways()).names == ["relu", "relu_1", "relu_2", "act", "q", "q#2"]


# --- refusals, before any work ------------------------------------------------------------

class _Body(nn.Module):
    def __init__(self, body) -> None:
        super().__init__()
        self.conv, self.fc, self.body = nn.Conv2d(1, 2, 3, padding=1), nn.Linear(32, 3), body

    def forward(self, x):
        return self.fc(torch.flatten(self.body(self, self.conv(x)), 1))


@pytest.mark.parametrize(("body", "match"), [
    (lambda m, x: F.max_pool2d(F.relu(x), 2), r"node max_pool2d .*test_graph_conversion\.py:"
                                               r"\d+.*max of spikes.*average pooling"),
    (lambda m, x: F.avg_pool2d(F.gelu(x), 2), r"node gelu .*activation the converter does not "
                                               r"know.*ReLU"),
    (lambda m, x: F.avg_pool2d(torch.tanh(x), 2), r"node tanh .*does not know"),
    (lambda m, x: F.avg_pool2d(F.relu(x * 2), 2), r"node mul .*cannot be converted"),
    (lambda m, x: F.avg_pool2d(F.relu(x + 1.0), 2), r"node add .*constant"),
    (lambda m, x: F.avg_pool2d(x + F.relu(x), 2), r"avg_pool2d.*must end in an activation"),
    (lambda m, x: F.avg_pool2d(F.relu(x), 2) if x.sum() > 0 else x,
     r"_Body\.forward cannot be traced by torch\.fx at test_graph_conversion\.py:\d+.*"
     r"control flow"),
])
def test_what_cannot_be_converted_is_refused_by_node_name(body, match):
    model = _Body(body)
    with pytest.raises(NotConvertible, match=match):
        conversion.convert(model, thresholds=[])  # refused before the thresholds are looked at
    with pytest.raises(TypeError):  # NotConvertible is a TypeError, as the refusals were
        conversion.check_convertible(model)


def test_modules_that_cannot_be_converted_are_refused_by_layer_name():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.GELU(), nn.Flatten(), nn.Linear(72, 3))
    with pytest.raises(NotConvertible, match=r"layer 1 \(GELU\) is an activation"):
        conversion.convert(net)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.BatchNorm1d(72))
    with pytest.raises(NotConvertible, match=r"layer 3 \(BatchNorm1d\).*follow a Linear, not "
                                             r"Flatten"):
        conversion.convert(net)


def test_a_model_with_two_inputs_or_a_reshape_is_refused():
    class Two(nn.Module):
        def forward(self, x, y):
            return x + y

    with pytest.raises(NotConvertible, match="one tensor"):
        graph.layout(Two())

    class Shuffle(nn.Module):
        def forward(self, x):
            return x.view(-1, 2)

    with pytest.raises(NotConvertible, match=r"node view .*torch\.flatten\(x, 1\)"):
        graph.layout(Shuffle())


# --- the peer: SpikingJelly's converter ---------------------------------------------------

def _digits_mlp(seed: int = 0):
    from lab.core import data, training

    split = data.load("digits", seed=0)
    torch.manual_seed(seed)
    ann = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                        nn.Linear(32, 10))
    training.train(ann, split, lambda m, x: m(x), epochs=3, lr=3e-3, batch_size=64, seed=seed)
    return ann.eval(), split


@pytest.mark.skipif(importlib.util.find_spec("spikingjelly") is None,
                    reason="spikingjelly is not installed (make peers installs 2.0.0)")
def test_same_accuracy_as_spikingjelly_at_large_T():
    """Threshold balancing at the max on the same calibration batch, v[0] = 0 (SpikingJelly's
    IFNode starts at 0, soft reset): the two SNNs agree within 1 point at T = 32 and 64.
    (Measured 2026-12-06: the same accuracy at every T, the outputs equal to the last bit; the
    margin leaves room for rounding on other CPUs.)"""
    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.ann2snn import Converter, RateCodingRecipe

    ann, split = _digits_mlp()
    x_cal = split.x_val
    recipe = RateCodingRecipe(dataloader=[(x_cal, split.y_val)], mode="max")
    with open(os.devnull, "w") as sink:  # its calibration loop draws a progress bar
        err, sys.stderr = sys.stderr, sink
        try:
            peer = Converter(recipe=recipe).convert(copy.deepcopy(ann)).eval()
        finally:
            sys.stderr = err
    lab_snn = conversion.convert(ann, conversion.threshold_balance(ann, x_cal, 100), v_init=0.0)
    x, y, T = split.x_test, split.y_test, 64
    with torch.no_grad():
        functional.reset_net(peer)
        steps = torch.stack([peer(x) for _ in range(T)])
        ours = lab_snn(encoding.direct(x, T))
    theirs, mine = measure.accuracy_per_timestep(steps, y), measure.accuracy_per_timestep(ours, y)
    ann_accuracy = measure.accuracy(ann(x), y)
    assert ann_accuracy > 80  # a trained network, not chance
    for t in (32, 64):
        assert abs(float(theirs[t - 1]) - float(mine[t - 1])) <= 1.0


# --- the diagnosis ------------------------------------------------------------------------

def _data(n: int = 96, seed: int = 0, shape=(1, 8, 8), classes: int = 5):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *shape, generator=g), torch.randint(0, classes, (n,), generator=g)


def test_diagnosis_of_a_residual_model_agrees_with_the_labs_measurements():
    net, (x, y) = _tiny(2), _data()
    d = conversion.diagnose(net, (x, y), timesteps=(1, 4, 16), percentiles=(99.0, 100.0),
                            v_inits=(0.0, 0.5))
    x_cal, x_val, y_val = x[:48], x[48:], y[48:]
    assert (d.calibration_samples, d.validation_samples) == (48, 48)
    assert [layer.name for layer in d.layers] == graph.layout(net).names
    thresholds = conversion.threshold_balance(net, x_cal, 99.9)
    assert d.current.thresholds == tuple(thresholds) and d.current.percentile == 99.9
    snn = conversion.convert(net, thresholds, v_init=0.5)
    sim = conversion.simulate_accuracy(snn, x_val, y_val, 16)
    for T in (1, 4, 16):
        assert d.accuracy[T] == pytest.approx(sim.accuracy_at(T))
        gaps = conversion.residual_gap(net, snn, x_val, T)
        for layer, gap in zip(d.layers, gaps, strict=True):
            assert layer.gap_mean[T] == pytest.approx(gap.mean, abs=1e-6)
            assert layer.gap_std[T] == pytest.approx(gap.std, abs=1e-6)
    for layer in d.layers:
        silent = [layer.silent[T] for T in d.timesteps]
        assert all(0 <= s <= 1 for s in silent) and silent == sorted(silent, reverse=True)
        assert 0 <= layer.clipped <= 0.02  # the 99.9th percentile clips about 0.1 %
        assert layer.floor is None  # ReLU: no T = L
    assert len(d.candidates) == 1 + 4  # current, then 2 percentiles × 2 v_init
    best = max(sum(s.accuracy.values()) for s in d.candidates)
    assert sum(d.recommended.accuracy.values()) == best
    text = str(d)
    assert "Recommendation" in text and "relu_2" in text and "Gap std" in text
    assert not net.training


def test_diagnosis_reads_the_floor_of_qcfs_layers_at_T_equal_L():
    torch.manual_seed(0)
    ann = models.mlp(64, (32, 24), 5, lambda: QCFS(4, 1.5)).eval()
    d = conversion.diagnose(ann, _data(), timesteps=(1, 2, 8))
    assert d.timesteps == (1, 2, 4, 8)  # T = L added
    assert d.current.percentile is None and d.current.thresholds == (1.5, 1.5)
    first, second = d.layers
    assert first.levels == 4 and first.floor < 1e-6  # constant input at T = L: no error
    assert second.floor == second.gap_std[4] and second.floor > 0
    assert len(d.candidates) == 2  # λ with the two v_init
    assert "Floor" in str(d)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"timesteps": (0, 2)}, "timesteps"), ({"percentile": 0.0}, "percentile"),
    ({"v_init": 1.0}, "v_init"), ({"calibration_data": "images"}, "calibration_data")])
def test_diagnosis_refuses_bad_input_by_name(kwargs, match):
    args = {"calibration_data": _data(8), **kwargs}
    with pytest.raises(ValueError, match=match):
        conversion.diagnose(_tiny(), **args)


def test_diagnosis_figures():
    from lab.core import theme
    from lab.viz.diagnosis import diagnosis_figure, effect_figure

    torch.manual_seed(0)
    d = conversion.diagnose(models.mlp(64, (16,), 5).eval(), _data(), timesteps=(1, 4),
                            percentiles=(100.0,), v_inits=(0.5,))
    fig = diagnosis_figure(d)
    names = [t.name for t in fig.data]
    assert names[:2] == ["T = 1", "T = 4"] and names[-1] == "ANN"
    assert theme.description(fig)
    fig = effect_figure({1: [10.0, 12.0], 4: [20.0, 30.0]}, {1: [50.0, 52.0], 4: [80.0, 84.0]},
                        [90.0, 91.0], ("classic", "fixed"))
    band, before, band2, after, ann = fig.data
    assert band.fill == "toself" and list(before.y) == [11.0, 25.0] and list(after.x) == ["1", "4"]
    assert ann.name == "ANN" and list(ann.y) == [90.5, 90.5] and theme.description(fig)


# --- where users meet it: the CLI and the dashboard ---------------------------------------

NET_MODULE = '''
import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(64, 32), nn.Linear(32, 32), nn.Linear(32, 10)

    def forward(self, x):
        h = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.out(F.relu(h + self.fc2(h)))


class Pooled(nn.Module):
    def forward(self, x):
        return F.max_pool2d(x, 2).flatten(1)
'''


def test_cli_diagnoses_your_own_class(tmp_path, monkeypatch, capsys):
    from lab import cli

    (tmp_path / "mynet_for_test.py").write_text(NET_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import mynet_for_test

    torch.save(mynet_for_test.Net().state_dict(), tmp_path / "net.pt")
    code = cli.main(["diagnose", "--model", "mynet_for_test:Net", "--state-dict", "net.pt",
                     "--timesteps", "1,4", "--figure", str(tmp_path / "d.html")])
    out = capsys.readouterr().out
    assert code == 0 and "Recommendation" in out and "relu_1" in out
    assert (tmp_path / "d.html").exists()
    for argv, match in [(["--model", "mynet_for_test:Pooled"], "max_pool2d"),
                        (["--model", "mynet_for_test:Nope"], "Nope"),
                        (["--model", "mynet_for_test:Net", "--state-dict", "missing.pt"],
                         "missing.pt"),
                        (["--model", "mynet_for_test:Net", "--timesteps", "0"], "timesteps"),
                        ([], "RUN_ID or --model")]:
        assert cli.main(["diagnose", *argv]) == 2
        err = capsys.readouterr().err
        assert match in err and err.count("\n") == 1


def test_cli_diagnoses_a_stored_conversion_run(tmp_path, capsys):
    from lab import cli

    path = str(tmp_path / "r.sqlite")
    assert cli.main(["run", "conversion", "--variant", "qcfs", "--epochs", "1", "--timesteps",
                     "4", "--results", path, "--quiet", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert cli.main(["diagnose", "1", "--results", path, "--timesteps", "1,2"]) == 0
    out = capsys.readouterr().out
    assert "θ = trained λ" in out and "T=4" in out  # L = 4 is added to the grid
    assert cli.main(["diagnose", "7", "--results", path]) == 2
    assert "run 7" in capsys.readouterr().err


def test_dashboard_run_details_show_the_stored_per_layer_gap(tmp_path):
    from lab.core.results import ResultsStore
    from lab.dashboard.layer_gap import layer_gap_html
    from lab.dashboard.views.runs import RunsView

    store = ResultsStore(tmp_path / "runs.sqlite")
    run = store.start("conversion", "digits", 0, {"seed": 0, "note": "<b>x</b>"}, "test")
    store.finish(run, {"accuracy": 90.0}, {"gap_mean_per_layer_T1": [-0.1, 0.2],
                                           "gap_std_per_layer_T1": [0.25],
                                           "gap_std_per_layer_T2": [0.125, 0.5]}, {})
    html = layer_gap_html(store.get(run).curves)
    assert "<th>T = 1</th><th>T = 2</th>" in html and "-0.100 ± 0.250" in html
    assert "+0.200 ± –" in html  # a value the run did not store
    assert layer_gap_html({"accuracy_per_timestep": [1.0]}) is None
    view = RunsView(store)
    view._table.selection = [0]
    assert "gap per IF layer" in view._details.object
    assert "&lt;b&gt;x" in view._details.object  # stored text stays text


def test_both_paths_with_if_layers_keep_the_snns_order():
    """The shorter path written first: the layout makes the longer one the branch and lists
    the IF layers in the order the SNN holds them, so each gets its own θ."""

    class TwoPaths(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b, self.c = nn.Linear(6, 6), nn.Linear(6, 6), nn.Linear(6, 6)
            self.d, self.e, self.out = nn.Linear(6, 6), nn.Linear(6, 6), nn.Linear(6, 3)

        def forward(self, x):
            x = F.relu(self.a(x))
            short = self.b(F.relu(self.c(x)))
            long = self.d(F.relu(self.e(F.relu(self.b(x)))))
            return self.out(F.relu(short + long))

    net = TwoPaths().eval()
    lay = graph.layout(net)
    assert lay.activations == [m for m in lay.ann.modules() if isinstance(m, nn.ReLU)]
    assert lay.names == ["relu", "relu_2", "relu_3", "relu_1", "relu_4"]
    block = lay.ann[2]
    assert len(block.branch) == 5 and len(block.shortcut) == 3
    x = torch.rand(64, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(lay.ann(x), net(x))
        snn = conversion.convert(net, conversion.threshold_balance(net, x, 100), v_init=0.5)
        rates, logits = snn(encoding.direct(x, 1024)).mean(0), net(x)
    assert (rates - logits).abs().max() < 0.05 * logits.abs().max()


def test_in_place_statements_and_unused_values_are_read_as_pytorch_runs_them():
    class InPlace(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2, self.out = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 3)

        def forward(self, x):
            h = self.fc1(x)
            h.relu_()  # a statement: the value fx records is never used again, h is
            unused = F.gelu(self.fc2(h))  # noqa: F841  (computed, never used: not converted)
            y = self.fc2(h)
            y += h
            return self.out(F.relu(y))

    net = InPlace().eval()
    lay = graph.layout(net)
    assert lay.names == ["relu_", "relu"] and isinstance(lay.ann[2], ResidualBlock)
    x = torch.rand(16, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(lay.ann(x), net(x))

    class ComputedPool(nn.Module):
        def forward(self, x):
            return torch.flatten(F.avg_pool2d(F.relu(x), x.size(2)), 1)

    with pytest.raises(NotConvertible, match=r"node avg_pool2d .*adaptive_avg_pool2d"):
        graph.layout(ComputedPool())


def test_a_model_holding_sequentials_with_batch_norm_converts():
    """Refused before with a misleading message; now read through its forward."""

    class Holder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                                          nn.ReLU(inplace=True), nn.AvgPool2d(2))
            self.classifier = nn.Sequential(nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                            nn.Dropout(0.5), nn.Linear(16, 3))

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    net = Holder().eval()
    lay = graph.layout(net)
    assert lay.names == ["features.2 (ReLU)", "classifier.2 (ReLU)"]
    snn = conversion.convert(net, [1.0, 1.0])
    assert not any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in snn.modules())
    assert len(models.spiking_layers(snn)) == 2
