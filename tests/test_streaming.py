"""Streaming rollouts: the graph's checks, both rollouts, the delay-matched SNN, the method."""

import math

import pytest
import torch
from scipy.stats import binom
from torch import nn

import lab.streaming as S
from lab.cli import main
from lab.core import data, stats
from lab.core.config import ConfigError
from lab.core.results import ResultsStore
from lab.viz import streaming as V


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The networks here are tiny: a second intra-op thread only adds overhead (and contention
    on a shared machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def chain(skips: bool = False, shape=(2, 8, 8), classes: int = 3) -> S.Graph:
    torch.manual_seed(0)
    return S.make_graph(shape, classes, skips=skips, channels=(4, 4), hidden=8)


def dense_graph(edges, nodes=("a", "b", "out"), features: int = 3) -> S.Graph:
    """Nodes of `features` units joined by Linear layers; `edges` are (src, dst, delay)."""
    acts = {n: nn.Identity() if n == "out" else nn.ReLU() for n in nodes}
    return S.Graph((features,), acts, [(S.Edge(s, d, k), nn.Linear(features, features))
                                       for s, d, k in edges], output="out")


# --- bad input: clear errors when built ----------------------------------------------------------

def test_zero_delay_cycle_is_refused_and_a_delayed_one_is_not():
    with pytest.raises(ValueError, match="zero delay form a cycle, a -> b -> a"):
        dense_graph([("input", "a", 0), ("a", "b", 0), ("b", "a", 0), ("b", "out", 0)])
    graph = dense_graph([("input", "a", 0), ("a", "b", 0), ("b", "a", 1), ("b", "out", 0)])
    assert graph.order == ["a", "b", "out"]


@pytest.mark.parametrize("edges, message", [
    ([("input", "a", 0), ("a", "c", 0), ("a", "out", 0)], "unknown layer 'c'"),
    ([("input", "a", 0), ("a", "out", 0), ("a", "input", 1)], "nothing can feed the input"),
    ([("input", "a", 0), ("a", "out", -1)], "delay must be an integer ≥ 0"),
    ([("input", "a", 0), ("a", "out", 0), ("a", "out", 1)], "edges must be unique"),
    ([("input", "out", 0), ("a", "b", 0)], r"not reachable from the input"),
])
def test_bad_graphs_name_the_edge_or_layer(edges, message):
    with pytest.raises(ValueError, match=message):
        dense_graph(edges)


def test_mismatched_layer_shapes_name_the_edge():
    with pytest.raises(ValueError, match="edge a->out"):
        S.Graph((3,), {"a": nn.ReLU(), "out": nn.Identity()},
                [(S.Edge("input", "a"), nn.Linear(3, 4)), (S.Edge("a", "out"), nn.Linear(3, 2))],
                output="out")


def test_frames_of_another_sensor_are_refused_before_any_work():
    graph = chain()
    for bad in (torch.zeros(4, 2, 2, 16, 16), torch.zeros(4, 2, 8, 8), torch.zeros(0, 2, 2, 8, 8)):
        with pytest.raises(ValueError, match=r"frames must be \[T, B, 2, 8, 8\]"):
            S.unroll(graph, bad)
        with pytest.raises(ValueError, match="frames must be"):
            S.simulate(graph, bad, {"conv1": 1.0, "conv2": 1.0, "fc": 1.0}, 2)


def test_bad_configs_name_the_parameter():
    for field, value in [("rollout", "diagonal"), ("dataset", "mnist"), ("n_time_bins", 3),
                         ("steps_per_frame", 0), ("v_min", 0.5), ("readout", "max"),
                         ("epochs", 0), ("downsample", 3)]:
        with pytest.raises(ConfigError, match=field):
            S.Config(**{field: value})


# --- the rollouts -----------------------------------------------------------------------------

def test_path_delays_and_first_steps():
    assert S.first_step(chain(False), "streaming") == 4
    assert S.first_step(chain(True), "streaming") == 2
    assert S.first_step(chain(True), "sequential") == 0
    assert S.path_delays(chain(True), "streaming", 10)["output"] == {2, 3, 4}
    assert S.seen_frames(chain(True), "streaming", 5)["output"] == [1, 2, 3]
    assert S.seen_frames(chain(True), "streaming", 1)["output"] == []
    assert S.seen_frames(chain(True), "sequential", 5)["output"] == [5]


@pytest.mark.parametrize("skips", [False, True])
@pytest.mark.parametrize("rollout", ["sequential", "streaming"])
def test_output_depends_exactly_on_the_frames_its_paths_reach(rollout, skips):
    graph = chain(skips)
    frames = torch.rand(7, 2, 2, 8, 8, requires_grad=True)
    out = S.unroll(graph, frames, rollout)["output"]
    for t in range(7):
        (grad,) = torch.autograd.grad(out[t].sum(), frames, retain_graph=True)
        touched = [k for k in range(7) if grad[k].abs().sum() > 0]
        assert touched == S.seen_frames(graph, rollout, t)["output"], t


def test_streaming_chain_is_the_sequential_one_delayed_by_its_depth():
    graph, frames = chain(False), torch.rand(9, 3, 2, 8, 8)
    with torch.no_grad():
        streaming = S.unroll(graph, frames, "streaming")["output"]
        sequential = S.unroll(graph, frames, "sequential")["output"]
    torch.testing.assert_close(streaming[4:], sequential[:5])


def test_recurrent_edge_carries_state_in_both_rollouts():
    graph = dense_graph([("input", "a", 0), ("a", "a", 1), ("a", "out", 0)], nodes=("a", "out"))
    assert S.path_delays(graph, "sequential", 3)["out"] == {0, 1, 2, 3}
    frames = torch.zeros(4, 1, 3)
    frames[0] = 1.0
    with torch.no_grad():
        a = S.unroll(graph, frames, "sequential")["a"]
        quiet = S.unroll(graph, torch.zeros_like(frames), "sequential")["a"]
    assert not torch.equal(a[3], quiet[3])  # frame 0 still echoes at step 3


def test_anytime_loss_weights_the_steps_from_start_equally():
    outputs, labels = torch.randn(5, 4, 3), torch.tensor([0, 1, 2, 1])
    manual = sum(nn.functional.cross_entropy(outputs[t], labels) for t in (2, 3, 4)) / 3
    torch.testing.assert_close(S.anytime_loss(outputs, labels, 2), manual)
    with pytest.raises(ValueError, match="start"):
        S.anytime_loss(outputs, labels, 5)


def test_running_mean_starts_where_the_output_can_see():
    y = torch.arange(5.0).reshape(5, 1, 1)
    assert S.running_mean(y, 2).flatten().tolist() == [0.0, 1.0, 2.0, 2.5, 3.0]


def test_better_than_chance_is_a_binomial_test_against_the_majority_class():
    labels = torch.tensor([0] * 60 + [1] * 20 + [2] * 20)
    chance, bar = S.chance_level(labels)
    assert chance == 60.0
    k = round(bar)  # 100 samples: the bar in % is a count
    assert binom.sf(k - 1, 100, 0.6) <= 0.01 < binom.sf(k - 2, 100, 0.6)
    assert S.first_better_than_chance([10.0, 60.0, bar - 1, bar, 100.0], labels) == 3
    assert S.first_better_than_chance([60.0, 61.0], labels) == -1


# --- the delay-matched SNN ----------------------------------------------------------------------

def one_neuron(weight: float = 1.0) -> S.Graph:
    """input (1 unit) → h (IF) → out, weights `weight` and 1, no biases."""
    layers = [nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)]
    with torch.no_grad():
        layers[0].weight.fill_(weight)
        layers[1].weight.fill_(1.0)
    return S.Graph((1,), {"h": nn.ReLU(), "out": nn.Identity()},
                   [(S.Edge("input", "h"), layers[0]), (S.Edge("h", "out"), layers[1])], "out")


def test_every_synapse_delays_by_one_frame_of_k_steps():
    frames = torch.full((3, 1, 1), 0.5)
    run = S.simulate(one_neuron(), frames, {"h": 1.0}, steps_per_frame=4, v_init=0.5)
    # h sees frame 0 during steps 4..7 and fires at 4 and 6 (v: 0.5 + 0.5 = θ, 0.5, θ, ...);
    # the output receives each spike 4 steps later.
    assert run.spikes["h"].tolist() == [0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0]
    assert run.currents.flatten().tolist() == [0] * 8 + [1, 0, 1, 0]
    assert run.sops.tolist() == run.spikes["h"].tolist()  # fan-out of h is 1


def test_membrane_floor_stops_negative_frames_from_silencing_the_neuron():
    frames = torch.tensor([-1.0] * 4 + [0.5] * 4).reshape(8, 1, 1)
    floor = S.simulate(one_neuron(), frames, {"h": 1.0}, 2, v_init=0.0, v_min=0.0)
    none = S.simulate(one_neuron(), frames, {"h": 1.0}, 2, v_init=0.0, v_min=-math.inf)
    assert floor.spikes["h"].sum() > 0 and none.spikes["h"].sum() == 0


def test_snn_rates_approach_the_streaming_ann_as_k_grows():
    graph = chain(True)
    frames = torch.rand(6, 8, 2, 8, 8)
    with torch.no_grad():
        ann = S.unroll(graph, frames, "streaming")
    theta = {n: float(ann[n].max()) for n in ("conv1", "conv2", "fc")}  # no clipping
    errors = []
    for k in (4, 64):
        snn = S.outputs(S.simulate(graph, frames, theta, k), start=2, readout="window")
        errors.append(float((snn[2:] - ann["output"][2:]).abs().mean()))
    scale = float(ann["output"][2:].abs().mean())
    assert errors[1] < 0.05 * scale and errors[1] < errors[0] / 3


def test_fanouts_count_synapses_and_sops_count_spikes_times_fanout():
    graph = chain(True)
    with torch.no_grad():
        for layer in graph.layers.values():
            for name, p in layer.named_parameters():
                if name.endswith("bias"):
                    p.zero_()
    fan = S.fanouts(graph)
    assert torch.all(fan["conv1->fc"] == 8)  # Linear: every unit reaches all 8 hidden units
    conv = fan["input->conv1"]  # 3×3, stride 2, padding 1, 8×8 → 4×4, 4 output channels
    assert conv[0, 0, 0] == 4 and conv[0, 1, 1] == 4 * 4  # only (0,0) reaches (0,0); 4 windows
    assert conv.sum() == 4 * 2 * sum(min(3, 9 - 2 * i) - (i == 0) for i in range(4)) ** 2
    thresholds = {"conv1": 0.5, "conv2": 0.5, "fc": 0.5}
    run = S.simulate(graph, torch.rand(5, 2, 2, 8, 8), thresholds, 3)
    ann_macs, snn_ops = S.ops_per_step(graph, run, batch=2)
    assert ann_macs[0] == sum(float(f.sum()) for f in fan.values())
    input_macs = float(fan["input->conv1"].sum())
    updates = S.membrane_updates(graph, run.steps_per_frame)  # every hidden neuron, K steps
    assert updates == run.steps_per_frame * sum(
        torch.Size(graph.shapes[n]).numel() for n in ("conv1", "conv2", "fc"))
    # nothing fires in the first frame: only the input's MACs and the membrane updates
    assert snn_ops[0] == input_macs + updates
    assert sum(snn_ops) == pytest.approx(5 * (input_macs + updates) + float(run.sops.sum()) / 2)


def test_thresholds_are_percentiles_of_positive_states():
    graph, x = chain(True), torch.rand(10, 6, 2, 8, 8)
    theta = S.percentile_thresholds(graph, x, "streaming", percentile=100)
    with torch.no_grad():
        states = S.unroll(graph, x.transpose(0, 1), "streaming")
    assert theta == {n: pytest.approx(float(states[n].max())) for n in ("conv1", "conv2", "fc")}
    with pytest.raises(ValueError, match="percentile"):
        S.percentile_thresholds(graph, x, "streaming", percentile=0)


# --- the method, on a small synthetic stream ------------------------------------------------------

def moving_bar(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A vertical ON bar moving left (class 0) or right (class 1) over 6 frames of 8×8."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    x = torch.zeros(n, 6, 2, 8, 8)
    for i, y in enumerate(labels.tolist()):
        for t in range(6):
            x[i, t, 1, :, t + 1 if y else 6 - t] = 1.0
    return x + 0.3 * torch.rand(x.shape, generator=g), labels


@pytest.fixture
def synthetic(monkeypatch):
    (xa, ya), (xb, yb) = moving_bar(96, 0), moving_bar(48, 1)
    split = data.Split(xa, ya, xb, yb, "moving_bar")
    monkeypatch.setattr(S, "load_frames", lambda *args: (split, ("left", "right")))
    return split


def test_run_is_deterministic_and_reports_the_anytime_curves(synthetic):
    config = S.Config(n_time_bins=6, epochs=2, steps_per_frame=4, device="cpu")
    first, again = S.run(config), S.run(config)
    assert first["metrics"] == again["metrics"] and first["curves"] == again["curves"]
    metrics, curves = first["metrics"], first["curves"]
    assert metrics["first_step"] == 2 and len(curves["accuracy_per_step_snn"]) == 6
    frequencies = [100 * float((synthetic.y_test == c).float().mean()) for c in (0, 1)]
    for acc in curves["accuracy_per_step_ann"][:2]:  # biases only: one answer for every sample
        assert min(abs(acc - f) for f in frequencies) < 1e-4
    assert 0 < metrics["ops_ratio"] and metrics["timesteps"] == 24
    assert metrics["accuracy"] == curves["accuracy_per_step_snn"][-1]


def test_cli_stores_the_curves_and_refuses_bad_input(synthetic, tmp_path, capsys):
    path = tmp_path / "r.sqlite"
    code = main(["run", "streaming", "--rollout", "sequential", "--no-skips", "--epochs", "1",
                 "--n-time-bins", "6", "--steps-per-frame", "2", "--device", "cpu",
                 "--results", str(path), "--quiet"])
    assert code == 0
    (stored,) = ResultsStore(path).runs("streaming")
    assert stored.config["rollout"] == "sequential" and not stored.config["skips"]
    assert len(stored.curves["accuracy_per_step_ann"]) == 6
    assert main(["run", "streaming", "--rollout", "diagonal", "--results", str(path)]) == 2
    assert "rollout must be one of" in capsys.readouterr().err


# --- figures: the slider's callback -------------------------------------------------------------

def test_graph_figure_marks_what_each_layer_has_seen():
    graph = chain(True)
    fig = V.graph_figure(graph, "streaming", 1)
    nodes = fig.data[-1]
    assert list(nodes.marker.color) == [V.SEEN, V.SEEN, V.UNSEEN, V.UNSEEN, V.UNSEEN]
    assert "none" in fig.layout.title.text
    assert "[0]" in V.graph_figure(graph, "streaming", 2).layout.title.text
    delays = {a.text for a in V.graph_figure(graph, "sequential", 0).layout.annotations if a.text}
    assert delays == {"d=0"}


def test_anytime_figure_draws_seed_bands_in_theme_styles_and_chance_in_the_legend():
    from lab.core import theme

    seeds = torch.tensor([[10.0, 60.0, 80.0], [20.0, 70.0, 90.0], [30.0, 65.0, 85.0]])
    fig = V.anytime_figure({"streaming ANN, skips": seeds, "SNN of streaming, skips": seeds,
                            "sequential ANN": seeds[0]}, chance=11.0, bar=15.7)
    named = {t.name: t for t in fig.data if t.name}
    assert named["streaming ANN, skips"].line.color == theme.color("streaming")
    assert named["streaming ANN, skips"].line.dash == "dash"      # an ANN: dashed
    assert named["SNN of streaming, skips"].line.dash == "solid"  # its SNN: solid, same colour
    assert named["SNN of streaming, skips"].line.color == theme.color("streaming")
    assert named["SNN of streaming, skips"].y == (20.0, 65.0, 85.0)  # the mean over seeds
    fills = [t for t in fig.data if t.fill == "tonexty"]
    assert len(fills) == 2 and fills[0].fillcolor == theme.band("streaming")  # seeded curves
    low = stats.summary([10.0, 20.0, 30.0]).ci_low
    assert fig.data[0].y[0] == pytest.approx(low, abs=1e-3)
    assert {"chance (majority class)", "better than chance (binomial test, p ≤ 0.01)"} <= set(named)
    assert not fig.layout.annotations or all("chance" not in (a.text or "")
                                             for a in fig.layout.annotations)
    assert theme.description(fig)


def test_every_figure_of_notebook_05_has_a_description_and_frames_name_their_polarities():
    from lab.core import theme

    frames = torch.zeros(3, 2, 4, 4)
    frames[0, 1, 0, 0] = 2.0
    fig = V.frames_figure(frames, "one recording")
    assert {t.name for t in fig.data if t.name} == {"ON events (brighter)", "OFF events (darker)"}
    outputs = torch.randn(3, 5, 2)
    labels = torch.tensor([0, 1, 0, 1, 1])
    for figure in (fig, V.ops_figure([1.0, 2.0], [0.5, 0.7]),
                   V.confusion_figure(outputs, labels, ["a", "b"], "pooled"),
                   V.graph_figure(chain(True), "streaming", 1),
                   V.anytime_figure({"x": [1.0, 2.0]}, 50.0, 60.0)):
        assert theme.description(figure)
