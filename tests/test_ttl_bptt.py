"""TTL-BPTT: K = T with one block is BPTT, truncation and locality cut exactly what they claim."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from lab import bptt, cli
from lab import ttl_bptt as ttl
from lab.core import data, measure
from lab.core.config import ConfigError
from lab.core.neurons import NeuronState, SpikingNeuron, step
from lab.core.results import ResultsStore
from lab.viz import ttl_bptt as viz


@pytest.fixture(scope="module")
def digits() -> data.Split:
    return data.load("digits")


def _model(config: ttl.Config, split: data.Split, seed: int = 0) -> ttl.LocalNet:
    torch.manual_seed(seed)
    return ttl.build(config, split.image_shape, split.num_classes)


def _grads(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_full_length_one_block_is_bptt(arch: str, digits: data.Split) -> None:
    """Same weights, same data: ∂L/∂θ of TTL (K = T, one block) equals lab.bptt's."""
    config = ttl.Config(arch=arch, truncation_length=8, block_size=ttl.depth(arch))
    model = _model(config, digits, seed=1)
    assert len(model.blocks) == 1
    reference = bptt.spiking_model(bptt.Config(arch=arch, encoding="rate"), digits)
    reference.load_state_dict(model.blocks[0].state_dict())
    x, y = digits.x_train[:16], digits.y_train[:16]
    forward = bptt.forward_over_time(bptt.Config(arch=arch, encoding="rate"))
    F.cross_entropy(forward(reference, x).mean(0), y).backward()
    ttl.ttl_step(model, ttl.time_first(config)(x), y, None, config.truncation_length)
    expected, got = _grads(reference), _grads(model)
    assert len(expected) == len(got) == len(list(reference.parameters()))
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=0)
    assert got[0].abs().sum() > 0  # the gradient reached the first layer through time


def test_full_length_one_block_holds_what_bptt_holds(digits: data.Split) -> None:
    config = ttl.Config(truncation_length=8, block_size=3)
    model = _model(config, digits)
    x, y = digits.x_train[:32], digits.y_train[:32]
    bcfg = bptt.Config(encoding="rate")
    forward = bptt.forward_over_time(bcfg)
    _, held = measure.saved_bytes(
        lambda: F.cross_entropy(forward(model.blocks[0], x).mean(0), y))
    cost = ttl.step_cost(model, ttl.time_first(config)(x), y, 8)
    assert cost.saved_bytes == held


def _reference_truncated(model: ttl.LocalNet, x: torch.Tensor, y: torch.Tensor, k: int) -> None:
    """A slow per-step BPTT of the MLP with v detached every k steps, one loss per segment."""
    linears = [m.layer for m in model.blocks[0] if isinstance(getattr(m, "layer", None),
                                                                 torch.nn.Linear)]
    neurons = [m for m in model.blocks[0] if isinstance(m, SpikingNeuron)]
    v = [NeuronState(torch.zeros(x.shape[1], lin.out_features)) for lin in linears[:-1]]
    for start in range(0, x.shape[0], k):
        v = [NeuronState(vi.v.detach()) for vi in v]
        outputs = []
        for t in range(start, min(start + k, x.shape[0])):
            h = x[t].flatten(1)
            for i, neuron in enumerate(neurons):
                h, v[i] = step(linears[i](h), v[i], neuron.params, spike_fn=neuron.spike_fn)
            outputs.append(linears[-1](h))
        F.cross_entropy(torch.stack(outputs).mean(0), y).backward()


@pytest.mark.parametrize("k", [1, 3, 4])
def test_truncation_matches_a_per_step_reference(k: int, digits: data.Split) -> None:
    config = ttl.Config(truncation_length=k, block_size=3)
    model = _model(config, digits)
    reference = copy.deepcopy(model)
    x, y = ttl.time_first(config)(digits.x_train[:8]), digits.y_train[:8]
    ttl.ttl_step(model, x, y, None, k)
    _reference_truncated(reference, x, y, k)
    for e, g in zip(_grads(reference), _grads(model), strict=True):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_carried_state_makes_segments_one_simulation(arch: str, digits: data.Split) -> None:
    """Truncation cuts gradients only: the segments' outputs are the full run's outputs."""
    config = ttl.Config(arch=arch, truncation_length=3, block_size=1)
    model = _model(config, digits)
    x = ttl.time_first(config)(digits.x_train[:8])
    state: ttl.State = {}
    parts = []
    for start in range(0, 8, 3):
        h = x[start:start + 3]
        for block in model.blocks:
            h = ttl.forward_segment(block, h, state)
        parts.append(h)
    torch.testing.assert_close(torch.cat(parts), model(x), rtol=0, atol=0)


def test_local_loss_trains_each_block_alone(digits: data.Split) -> None:
    """Block 1's gradient comes from its local classifier only; the readout's from the label."""
    config = ttl.Config(truncation_length=8, block_size=1)
    model = _model(config, digits)
    x, y = ttl.time_first(config)(digits.x_train[:8]), digits.y_train[:8]
    ttl.ttl_step(model, x, y, None, 8)
    first = copy.deepcopy(model)
    first.zero_grad()
    ttl.local_loss(first.heads[0], first.blocks[0](x), y).backward()
    for part in ("blocks", "heads"):
        for e, g in zip(_grads(getattr(first, part)[0]), _grads(getattr(model, part)[0]),
                        strict=True):
            torch.testing.assert_close(g, e, rtol=0, atol=0)
    assert all(p.grad is None for p in first.blocks[1].parameters())


def _dense_macs(net: torch.nn.Module, shape: tuple[int, ...]) -> list[int]:
    """MACs of each Linear/Conv2d for one input of `shape`, from the layer's output size."""
    macs: list[int] = []

    def hook(layer, _, out) -> None:
        fan_in = (layer.in_features if isinstance(layer, torch.nn.Linear)
                  else layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1])
        macs.append(out.numel() * fan_in)

    for m in net.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        net(torch.zeros(shape))
    return macs


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_macs_by_part(arch: str, digits: data.Split) -> None:
    """Forward MACs do not depend on K or blocks; backward = 2·forward minus each block's
    input gradient; local classifiers cost 3× their forward (forward, ∂W, ∂input)."""
    x, y = digits.x_train[:4], digits.y_train[:4]
    costs = {}
    for k in (1, 8):
        for b in range(1, ttl.depth(arch) + 1):
            config = ttl.Config(arch=arch, truncation_length=k, block_size=b)
            model = _model(config, digits)
            costs[k, b] = ttl.step_cost(model, ttl.time_first(config)(x), y, k)
    per_layer = _dense_macs(ttl.spiking_model(arch, (1, 8, 8), 10, 0.9, 1.0), (8, 1, 1, 8, 8))
    forward = sum(per_layer)
    for (_k, b), cost in costs.items():
        assert cost.macs_forward == forward
        first_of_blocks = sum(per_layer[i] for i in range(0, len(per_layer), b))
        assert cost.macs_backward == 2 * forward - first_of_blocks
        assert (cost.macs_local == 0) == (b == ttl.depth(arch))
    assert costs[1, 1].macs_local == costs[8, 1].macs_local > 0


def test_truncation_and_locality_shrink_the_held_graph(digits: data.Split) -> None:
    x, y = digits.x_train[:16], digits.y_train[:16]
    peaks = {}
    for k in (1, 2, 4, 8):
        for b in (1, 3):
            config = ttl.Config(truncation_length=k, block_size=b)
            cost = ttl.step_cost(_model(config, digits), ttl.time_first(config)(x), y, k)
            peaks[k, b] = cost.saved_bytes
            n_blocks = 3 // b
            assert len(cost.held_bytes) == (8 // k) * n_blocks
            segments = [max(cost.held_bytes[i:i + n_blocks])
                        for i in range(0, len(cost.held_bytes), n_blocks)]
            assert len(set(segments)) == 1  # every segment holds the same
    for b in (1, 3):
        assert peaks[1, b] < peaks[2, b] < peaks[4, b] < peaks[8, b]
    for k in (1, 2, 4, 8):
        assert peaks[k, 1] < peaks[k, 3]
    assert peaks[1, 1] / peaks[8, 3] < 0.15


@pytest.mark.parametrize(("field", "value"), [
    ("truncation_length", 0), ("truncation_length", -2), ("truncation_length", 9),
    ("block_size", 0), ("block_size", 4), ("dataset", "cifar"),
])
def test_bad_input_names_the_parameter(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        ttl.Config(**{field: value})


def test_block_size_range_depends_on_the_network() -> None:
    assert (ttl.depth("mlp"), ttl.depth("cnn")) == (3, 4)
    ttl.Config(arch="cnn", block_size=4)
    with pytest.raises(ConfigError, match=r"block_size must be in 1\.\.depth = 1\.\.4"):
        ttl.Config(arch="cnn", block_size=5)


def test_cli_rejects_bad_truncation_before_training(tmp_path, capsys) -> None:
    code = cli.main(["run", "ttl-bptt", "--truncation-length", "9", "--quiet",
                     "--results", str(tmp_path / "r.sqlite")])
    assert code == 2
    assert "truncation_length must be in 1..timesteps = 1..8, got 9" in capsys.readouterr().err
    assert ResultsStore(tmp_path / "r.sqlite").runs() == []


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_event_tensors_train(arch: str) -> None:
    """The event path: time-first `[T, B, 2, H, W]` counts, through blocks and segments."""
    config = ttl.Config(dataset="moving_digits", arch=arch, timesteps=6, truncation_length=2,
                        block_size=2)
    g = torch.Generator().manual_seed(0)
    stored = torch.poisson(torch.full((5, 6, 2, 16, 16), 0.3), generator=g)  # [N, T, 2, H, W]
    x, y = ttl.time_first(config)(stored), torch.tensor([0, 1, 2, 3, 0])
    assert x.shape == (6, 5, 2, 16, 16)
    torch.manual_seed(0)
    model = ttl.build(config, (2, 16, 16), 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = [ttl.ttl_step(model, x, y, optimizer, 2) for _ in range(15)]
    assert losses[-1] < losses[0]
    assert model(x).shape == (6, 5, 4)


def test_cli_run_is_stored_and_deterministic(tmp_path) -> None:
    path = str(tmp_path / "r.sqlite")
    args = ["run", "ttl-bptt", "--epochs", "1", "--timesteps", "4", "--truncation-length",
            "2", "--block-size", "2", "--device", "cpu", "--quiet", "--results", path]
    assert cli.main(args) == 0
    assert cli.main(args) == 0
    first, second = ResultsStore(path).runs()
    assert first.status == second.status == "finished"
    assert first.metrics["accuracy"] == second.metrics["accuracy"] > 50
    assert first.metrics["final_loss"] == second.metrics["final_loss"]
    assert 0 < first.metrics["saved_bytes_ratio"] < 1
    assert 0 < first.metrics["step_peak_ratio"] < 1
    for key in ("train_macs_forward", "train_macs_backward", "train_macs_local",
                "bptt_saved_bytes", "train_macs_ratio", "step_peak_bytes", "inference_bytes"):
        assert first.metrics[key] > 0
    assert first.timings["train_s"] > 0
    assert len(first.curves["accuracy_per_timestep"]) == 4


def test_event_dataset_runs(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LAB_CACHE", str(tmp_path))
    result = ttl.run(ttl.Config(dataset="moving_digits", event_samples=40, epochs=1,
                                timesteps=4, truncation_length=2, block_size=1, device="cpu"))
    assert 0 <= result["metrics"]["accuracy"] <= 100
    assert result["metrics"]["saved_bytes_ratio"] < 1


# ---- figures (the notebook's widget callback and plots) ----------------------------------------

def _trace(fig, name):
    return [t for t in fig.data if t.name == name]


@pytest.mark.parametrize(("k", "b"), [(1, 1), (2, 1), (3, 2), (8, 3)])
def test_graph_draws_units_cuts_and_losses(k: int, b: int) -> None:
    fig = viz.graph_figure(timesteps=8, depth=3, truncation_length=k, block_size=b)
    segments, blocks = -(-8 // k), -(-3 // b)
    (losses,) = _trace(fig, "loss (backward from here)")
    assert len(losses.x) == segments * blocks
    (cut,) = _trace(fig, "membrane carried forward only (detached)")
    assert len(cut.x) // 3 == (segments - 1) * 2  # two spiking rows, one cut per boundary
    (nodes,) = _trace(fig, "layer at step t")
    assert len(nodes.x) == 8 * 4
    assert f"K={k}, block size {b}" in fig.layout.title.text


@pytest.mark.parametrize(("k", "b"), [(1, 1), (2, 1), (1, 2), (4, 2)])
def test_graph_draws_every_edge_into_the_readout(k: int, b: int) -> None:
    """Every forward layer edge is drawn once: T per layer row, the readout's included, also
    when a unit has no gradient-carrying edge (K = 1, one-layer blocks)."""
    from lab.core import theme

    fig = viz.graph_figure(timesteps=8, depth=3, truncation_length=k, block_size=b)
    layer_edges = []
    for t in fig.data:
        if t.name in ("gradient flows", "block input detached (its weights still learn)"):
            xs, ys = list(t.x), list(t.y)
            layer_edges += [(ys[i], ys[i + 1]) for i in range(0, len(xs), 3)
                            if xs[i] == xs[i + 1]]  # same step: a layer edge, not a membrane
    into = {row: sum(1 for a, b_ in layer_edges if b_ == row) for row in (1, 2, 3)}
    assert into == {1: 8, 2: 8, 3: 8}
    assert theme.description(fig)


def test_graph_bptt_has_no_cut_membrane_edge() -> None:
    fig = viz.graph_figure(8, 4, 8, 4, held_ratio=1.0)
    assert len(_trace(fig, "membrane carried forward only (detached)")[0].x) == 0
    assert "1.000 × BPTT" in fig.layout.title.text


@pytest.mark.parametrize(("args", "name"), [((8, 3, 0, 1), "truncation_length"),
                                            ((8, 3, 9, 1), "truncation_length"),
                                            ((8, 3, 2, 4), "block_size")])
def test_graph_bad_input(args: tuple, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        viz.graph_figure(*args)


def test_summary_figures() -> None:
    bars = viz.memory_bars({"BPTT": 1000, "K=1, B=1": 100}, reference="BPTT")
    assert list(bars.data[0].text) == ["1.00×", "0.10×"]
    macs = viz.macs_bars({"BPTT": {"forward": 1e6, "backward": 2e6, "local": 0.0}})
    assert [t.name for t in macs.data] == ["forward", "backward", "local"]
    grids = viz.accuracy_grids({"frames": {(1, 1): 90.0, (8, 3): 95.04},
                                "events": {(1, 1): 50.0}})
    assert len(grids.data) == 2
    assert grids.data[0].z[1][1] == 95.0 and grids.data[0].z[0][1] is None


def test_explore_measures_the_drawn_configuration(digits: data.Split) -> None:
    base = ttl.Config(timesteps=4)
    fig = viz.explore(1, 1, base, digits, digits.image_shape)
    ttl_cost, bptt_cost = ttl.step_costs(
        ttl.Config(timesteps=4, truncation_length=1, block_size=1), digits, digits.image_shape)
    ratio = ttl_cost.saved_bytes / bptt_cost.saved_bytes
    assert f"{ratio:.3f} × BPTT" in fig.layout.title.text
    assert "T=4, K=1, block size 1" in fig.layout.title.text
    with pytest.raises(ConfigError, match="block_size"):
        viz.explore(1, 4, base, digits, digits.image_shape)


# ---- the order task and the comparison's footing ----------------------------------------------

def test_order_gap_longer_than_the_sequence_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"^gap_max must be ≤ timesteps − 2·duration_max = "
                                          r"8 − 2·3 = 2 frames"):
        ttl.Config(dataset="order_gap", timesteps=8, gap_max=5)
    with pytest.raises(ConfigError, match="^gap_min must be"):
        ttl.Config(dataset="order_gap", timesteps=16, gap_min=4, gap_max=3)
    ttl.Config(dataset="digits", timesteps=4, gap_max=5)  # gaps concern order_gap only


def test_order_gap_loads_as_time_binned_events_and_runs() -> None:
    config = ttl.Config(dataset="order_gap", timesteps=16, gap_min=5, gap_max=10,
                        event_samples=60, epochs=1, truncation_length=4, block_size=3,
                        device="cpu")
    split, shape = ttl.load(config)
    assert shape == (2, 8, 8) and split.x_train.shape[1:] == (16, 2, 8, 8)
    assert len(split.y_train) + len(split.y_val) + len(split.y_test) == 60
    result = ttl.run(config)
    assert 0 <= result["metrics"]["accuracy"] <= 100
    assert result["metrics"]["full_sequence_loss"] > 0


def test_full_sequence_loss_is_the_rate_readouts_loss_on_the_training_set(
        digits: data.Split) -> None:
    """On BPTT's scale for every K: CE of (1/T)·Σ_t y[t] over the training set, after training."""
    for k in (1, 4):
        config = ttl.Config(timesteps=4, truncation_length=k, epochs=1, encoding="direct",
                            device="cpu")
        fit = ttl.fit(config, digits, digits.image_shape)
        rate = fit.model(ttl.time_first(config)(digits.x_train)).mean(0)
        expected = F.cross_entropy(rate, digits.y_train).item()
        assert fit.full_sequence_loss == pytest.approx(expected, rel=1e-5)
        x_val, y_val = digits.validation()
        val = fit.model(ttl.time_first(config)(x_val)).mean(0).argmax(-1)
        assert fit.val_accuracy == pytest.approx(100 * (val == y_val).float().mean().item())


def test_forgetting_between_segments_resets_every_membrane(digits: data.Split) -> None:
    config = ttl.Config(truncation_length=2, block_size=1)
    model = _model(config, digits).eval()
    x = ttl.time_first(config)(digits.x_train[:8])
    torch.testing.assert_close(ttl.forget_between_segments(model, x, 8), model(x))
    pieces = torch.cat([model(x[t:t + 3]) for t in range(0, 8, 3)])
    torch.testing.assert_close(ttl.forget_between_segments(model, x, 3), pieces)
    assert not torch.allclose(pieces, model(x))


def test_every_registered_set_loads_and_others_are_refused_by_name() -> None:
    # every frame and event set, the real ones too (tests/test_real_events.py)
    assert set(ttl.LOADABLE) == set(data.names("frames") + data.names("events"))
    with pytest.raises(ConfigError, match="^dataset must be one of digits, mnist, nmnist_like"):
        ttl.Config(dataset="cifar10_dvs")


def test_reset_between_segments_trains_each_segment_from_rest(digits: data.Split) -> None:
    """carry_state=False: each segment's gradients are those of the segment run alone from v[0],
    and the network is tested as trained (membranes reset every K steps)."""
    config = ttl.Config(truncation_length=3, block_size=1, carry_state=False, encoding="direct")
    x = ttl.time_first(config)(digits.x_train[:8])
    y = digits.y_train[:8]
    reset = _model(config, digits)
    ttl.ttl_step(reset, x, y, None, 3, carry_state=False)
    alone = _model(config, digits)
    for start in range(0, 8, 3):
        ttl.ttl_step(alone, x[start:start + 3], y, None, min(3, 8 - start))
    for a, b in zip(_grads(reset), _grads(alone), strict=True):
        torch.testing.assert_close(a, b)
    carried = _model(config, digits)
    ttl.ttl_step(carried, x, y, None, 3)
    assert not all(torch.allclose(a, b) for a, b in zip(_grads(reset), _grads(carried),
                                                          strict=True))
    fit = ttl.fit(dataclasses.replace(config, epochs=1), digits, digits.image_shape)
    x_test = ttl.time_first(config)(digits.x_test)
    expected = measure.accuracy(ttl.forget_between_segments(fit.model.eval(), x_test, 3)
                                .mean(0), digits.y_test)
    assert fit.accuracy_per_timestep[-1] == pytest.approx(expected)
