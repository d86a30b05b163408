"""The paper's networks (VGG-16, ResNet-18/20) at tiny widths: shapes, BatchNorm folding, and
residual blocks converted spike for spike against a hand-unrolled reference."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lab.conversion import QCFS, activation_layers, check_convertible, convert, fold_batch_norm
from lab.core import encoding, models
from lab.core.neurons import NeuronParams, initial_state, recording, step
from lab.core.resnet import ResidualBlock, basic_block, resnet

PAPER_ARCHS = ("vgg16", "resnet18", "resnet20")


def _randomize_batch_norm(net: nn.Module, seed: int = 0) -> None:
    """Running statistics and affine parameters away from their identity defaults."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)


@pytest.mark.parametrize("arch", PAPER_ARCHS)
def test_paper_archs_build_at_tiny_width(arch):
    net = models.build(arch, (3, 32, 32), 10, width=4, batch_norm=True)
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    check_convertible(net)


def test_standard_widths_are_the_papers_networks():
    counts = {a: sum(p.numel() for p in models.build(a, (3, 32, 32), 10, batch_norm=True)
                     .parameters()) for a in PAPER_ARCHS}
    # ResNet-18 11.17 M and ResNet-20 0.27 M parameters (He et al. 2016); VGG-16 with its
    # 4096-4096 classifier on a 1×1 map, 33.6 M (QCFS's CIFAR VGG-16)
    assert counts == {"vgg16": 33_646_666, "resnet18": 11_173_962, "resnet20": 272_474}
    convs = [m for m in models.build("vgg16", (3, 32, 32), 10).modules()
             if isinstance(m, nn.Conv2d)]
    assert len(convs) == 13
    assert not any(isinstance(m, nn.MaxPool2d) for m in models.build("vgg16", (3, 32, 32), 10)
                   .modules())


def test_vgg16_refuses_images_too_small_for_five_pools():
    with pytest.raises(ValueError, match=r"vgg16 .* at least 32×32, got \(1, 8, 8\)"):
        models.build("vgg16", (1, 8, 8), 10)


@pytest.mark.parametrize("arch", PAPER_ARCHS)
def test_batch_norm_folding_is_exact_for_the_paper_archs(arch):
    torch.manual_seed(0)
    net = models.build(arch, (3, 32, 32), 10, width=8, batch_norm=True)
    _randomize_batch_norm(net)
    net.eval()
    x = torch.rand(4, 3, 32, 32)
    folded = fold_batch_norm(net)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    torch.testing.assert_close(folded(x), net(x), atol=1e-5, rtol=1e-5)


def test_maxpool_in_a_residual_branch_is_refused_with_the_reason():
    block = basic_block(2, 2, 1, nn.ReLU, batch_norm=False)
    block.branch.insert(1, nn.MaxPool2d(1))
    net = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.ReLU(), block)
    with pytest.raises(TypeError, match=r"layer 2\.branch\.1 \(MaxPool2d\).*max of spikes"):
        check_convertible(net)


def test_a_block_without_an_activation_after_the_sum_is_refused():
    block = ResidualBlock(nn.Sequential(nn.Conv2d(2, 2, 1)), nn.Sequential(), nn.Identity())
    with pytest.raises(TypeError, match=r"layer 0\.activation \(Identity\).*residual block"):
        check_convertible(nn.Sequential(block))


def _reference(folded: nn.Sequential, thresholds: list[float], v_init: float, x: torch.Tensor,
               timesteps: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The SNN unrolled by hand, time outside and layers inside: at step t every layer reads
    the layer before it at step t, and each IF neuron keeps its v between steps (`step`).

    A residual block's neuron receives branch + shortcut. Returns the readout `[T, B, classes]`
    and the spikes of every neuron layer `[T, B, ...]`, in `activation_layers` order.
    """
    acts = activation_layers(folded)
    params = {id(a): NeuronParams(th, v_init=v_init) for a, th in zip(acts, thresholds,
                                                                        strict=True)}
    states: dict[int, object] = {}
    spikes: dict[int, list[torch.Tensor]] = {id(a): [] for a in acts}

    def run(module: nn.Module, h: torch.Tensor) -> torch.Tensor:
        if isinstance(module, nn.Sequential):
            for child in module:
                h = run(child, h)
            return h
        if isinstance(module, ResidualBlock):
            return run(module.activation, run(module.branch, h) + run(module.shortcut, h))
        if id(module) in params:
            p = params[id(module)]
            state = states.get(id(module)) or initial_state(h, p)
            s, states[id(module)] = step(h, state, p)
            spikes[id(module)].append(s)
            return s * p.threshold
        return module(h)

    with torch.no_grad():
        out = torch.stack([run(folded, x) for _ in range(timesteps)])  # direct input
    return out, [torch.stack(spikes[id(a)]) for a in acts]


@pytest.mark.parametrize("arch", ["resnet20", "resnet18"])
def test_converted_resnet_matches_the_hand_unrolled_reference_spike_for_spike(arch):
    torch.manual_seed(1)
    net = models.build(arch, (3, 16, 16), 10, lambda: QCFS(4, 1.0), width=8, batch_norm=True)
    _randomize_batch_norm(net, seed=1)
    for i, a in enumerate(activation_layers(net)):
        a.threshold.data.fill_(0.5 + 0.1 * (i % 5))
    net = net.double().eval()
    snn = convert(net, v_init=0.5).double()
    x = torch.rand(3, 3, 16, 16, dtype=torch.float64)
    timesteps = 6
    with torch.no_grad(), recording(snn) as neurons:
        out = snn(encoding.direct(x, timesteps))
        got = [n.last.spikes for n in neurons]
    thresholds = [float(n.threshold) for n in neurons]
    want_out, want = _reference(fold_batch_norm(net), thresholds, 0.5, x, timesteps)
    blocks = [m for m in snn.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == {"resnet20": 9, "resnet18": 8}[arch]
    assert len(got) == len(want) == 1 + 2 * len(blocks)  # stem, then 2 per block
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g, w)
    torch.testing.assert_close(out, want_out, atol=1e-9, rtol=1e-9)
    rate = torch.cat([g.flatten() for g in got]).mean()
    assert 0.02 < float(rate) < 0.98  # the comparison is not between silent networks


def test_the_neuron_after_the_addition_integrates_both_currents():
    """One block by hand: branch current 0.3, shortcut 0.4 per step, θ = 1, v[0] = 0.5."""
    branch = nn.Sequential(nn.Conv2d(1, 1, 1, bias=True))
    nn.init.zeros_(branch[0].weight)
    nn.init.constant_(branch[0].bias, 0.3)
    block = ResidualBlock(branch, nn.Sequential(), QCFS(4, 1.0))
    snn = convert(nn.Sequential(block), v_init=0.5)
    x = torch.full((1, 1, 1, 1), 0.4)
    with recording(snn) as (neuron,):
        snn(encoding.direct(x, 4))
    # v: 0.5 + 0.7 = 1.2 → spike, 0.2; 0.9; 1.6 → spike, 0.6; 1.3 → spike, 0.3
    assert neuron.last.spikes.flatten().tolist() == [1.0, 0.0, 1.0, 1.0]


def test_resnet_names_are_checked():
    with pytest.raises(ValueError, match="resnet18, resnet20"):
        resnet("resnet50", (3, 32, 32), 10)
    with pytest.raises(ValueError, match="arch must be one of mlp, cnn, vgg16, resnet18"):
        models.build("alexnet", (3, 32, 32), 10)
