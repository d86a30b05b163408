"""The shared neuron against a slow per-step reference, snnTorch, and the theory."""

import pytest
import snntorch as snn
import torch

from lab.core import encoding, grid
from lab.core.neurons import NeuronParams, SpikingNeuron, simulate


def reference(current, threshold, beta, v_init, reset):
    """Element by element, step by step, in Python floats."""
    T, n = current.shape
    spikes, v_final = torch.zeros(T, n), torch.zeros(n)
    for i in range(n):
        v = v_init
        for t in range(T):
            v = beta * v + current[t, i].item()
            s = 1.0 if v >= threshold else 0.0
            v = v - threshold * s if reset == "subtract" else v * (1 - s)
            spikes[t, i] = s
        v_final[i] = v
    return spikes, v_final


@pytest.mark.parametrize("beta", [1.0, 0.8])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("v_init", [0.0, 0.5])
def test_matches_per_step_reference(beta, reset, v_init):
    current = torch.randn(16, 40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out = simulate(current, NeuronParams(0.7, beta, reset, v_init / 0.7))
    spikes, v_final = reference(current, 0.7, beta, v_init, reset)
    assert torch.equal(out.spikes, spikes.double())
    assert torch.allclose(out.v_final, v_final.double())


@pytest.mark.parametrize("beta", [1.0, 0.8])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_training_path_equals_inference_path(beta, reset):
    current = torch.randn(10, 6, 30, generator=torch.Generator().manual_seed(2))
    threshold = torch.rand(30, generator=torch.Generator().manual_seed(3)) + 0.5
    params = NeuronParams(threshold, beta, reset, 0.5)
    fast = simulate(current, params, record=True)
    slow = simulate(current.clone().requires_grad_(), params,
                    record=True)
    assert torch.equal(fast.spikes, slow.spikes.detach())
    assert torch.equal(fast.v_trace, slow.v_trace.detach())


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_matches_snntorch_leaky_same_step_reset(reset):
    g = torch.Generator().manual_seed(0)
    current = 0.6 * torch.rand(20, 8, 50, generator=g)  # below 2θ: no double-reset ambiguity
    lif = snn.Leaky(beta=0.9, threshold=1.0, reset_mechanism=reset, reset_delay=False)
    mem, ref = lif.init_leaky(), []
    for t in range(current.shape[0]):
        spk, mem = lif(current[t], mem)
        ref.append(spk)
    ours = simulate(current, NeuronParams(1.0, 0.9, reset))
    assert torch.equal(ours.spikes, torch.stack(ref))
    assert torch.allclose(ours.v_final, mem, atol=1e-6)


def test_rate_identity_exact_for_uneven_input():
    """r = W·r_in + b − (v[T] − v[0])/T, with r = θ·Σs/T, whatever the spike order."""
    g = torch.Generator().manual_seed(3)
    T, threshold, v0 = 12, 0.8, 0.4
    spikes_in = (torch.rand(T, 32, 20, generator=g) < 0.3).double()
    W = torch.randn(10, 20, generator=g, dtype=torch.float64) * 0.3
    b = torch.randn(10, generator=g, dtype=torch.float64) * 0.1
    current = spikes_in @ W.T + b
    out = simulate(current, NeuronParams(threshold, v_init=v0 / threshold))
    rate = threshold * out.spikes.sum(0) / T
    r_in = spikes_in.mean(0)
    assert torch.allclose(rate, r_in @ W.T + b - (out.v_final - v0) / T, atol=1e-12)
    left = (out.v_final < 0) | (out.v_final >= threshold)
    assert left.any(), "uneven input should push some residuals out of [0, θ)"


@pytest.mark.parametrize("T", [1, 2, 4, 8, 32])
def test_constant_input_rate_is_quantized_clip(T):
    """With v[0] = θ/2 and constant z, the rate is θ·clip(round(z·T/θ)/T, 0, 1): step θ/T."""
    threshold = 1.5
    z = grid.linspace(-0.5, 2.0, 2001)
    out = simulate(encoding.direct(z, T), NeuronParams(threshold, v_init=0.5))
    rate = threshold * out.spikes.mean(0)
    expected = threshold * torch.clamp(torch.floor(z * T / threshold + 0.5) / T, 0, 1)
    assert torch.allclose(rate, expected)
    inside = (z >= 0) & (z <= threshold)
    assert (out.v_final[inside] >= -1e-9).all() and (out.v_final[inside] < threshold).all()


def test_surrogate_gradient_flows_and_equality_fires():
    current = torch.full((3, 4), 0.5, requires_grad=True)
    out = simulate(current, NeuronParams(1.0))
    assert out.spikes[1].eq(1).all(), "v reaching θ exactly must fire (H(0) = 1)"
    out.spikes.sum().backward()
    assert current.grad is not None and current.grad.abs().sum() > 0


def test_record_trace_and_module_residual():
    current = torch.rand(5, 2, 3)
    out = simulate(current, record=True)
    assert out.v_trace.shape == current.shape
    assert torch.equal(out.v_trace[-1], out.v_final)
    layer = SpikingNeuron(threshold=2.0, v_init=0.5, scale_output=True)
    y = layer(current)
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    assert layer.residual_potential.shape == (2, 3)


@pytest.mark.parametrize("kwargs, name", [
    ({"threshold": 0.0}, "threshold"), ({"threshold": -1.0}, "threshold"),
    ({"beta": 1.5}, "beta"), ({"reset": "none"}, "reset"),
])
def test_bad_parameters_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        simulate(torch.zeros(2, 2), NeuronParams(**kwargs))
    with pytest.raises(ValueError, match=name):
        SpikingNeuron(**kwargs)


def test_encodings():
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(encoding.encode(x, 3, "direct")[2], x)
    spikes = encoding.encode(x, 2000, "rate", seed=1)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert torch.allclose(spikes.mean(0), x, atol=0.05)
    assert torch.equal(spikes, encoding.encode(x, 2000, "rate", seed=1))
    with pytest.raises(ValueError, match="timesteps"):
        encoding.encode(x, 0)
    with pytest.raises(ValueError, match="encoding"):
        encoding.encode(x, 2, "latency")


@pytest.mark.parametrize("beta", [1.0, 0.8])
def test_state_carried_across_segments_equals_one_run(beta):
    """Norse-style state: simulating [0, 3) then [3, 7) from the handed-back state gives the
    same spikes and v[T] as one run of 7 steps, in the module and in the function."""
    torch.manual_seed(2)
    current = torch.randn(7, 4, 5)
    params = NeuronParams(0.8, beta, v_init=0.5)
    whole = simulate(current, params)
    first = simulate(current[:3], params)
    second = simulate(current[3:], params, first.state)
    assert torch.equal(torch.cat([first.spikes, second.spikes]), whole.spikes)
    assert torch.equal(second.state.v, whole.state.v)
    layer = SpikingNeuron(0.8, beta, v_init=0.5, scale_output=True)
    a = layer.run(current[:3])
    b = layer.run(current[3:], a.state)
    assert torch.equal(torch.cat([a.spikes, b.spikes]), 0.8 * whole.spikes)
    assert torch.equal(layer.last.state.v, whole.state.v)
