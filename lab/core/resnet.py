"""Residual networks for conversion: ResNet-18 and ResNet-20 (He et al. 2016), CIFAR variants.

A basic block adds a shortcut to a two-conv branch and *then* applies the activation h, as in
QCFS's and the residual-noise authors' code (the activation follows the addition):

    y = h(branch(x) + shortcut(x))
    branch   = conv3×3 (stride s) → [BN] → h → conv3×3 → [BN]
    shortcut = identity, or conv1×1 (stride s) → [BN] where the shape changes

The same `ResidualBlock` is the SNN's block: conversion (`models.to_spiking`) turns the branch
into time-distributed layers and IF neurons and h into an IF neuron that integrates the *sum* of
the two currents. With x[t] the block's input (θ-scaled spikes) and S the shortcut,

    I[t] = branch(x)[t] + S·x[t];   v[t] = v[t−1] + I[t];   s[t] = H(v[t] − θ);   v[t] −= θ·s[t]

Every layer still runs once over all T steps (`[T, B, C, H, W]`) and every neuron is the core's
`SpikingNeuron`, so the one simulation loop (`neurons.simulate`) serves ResNets too.

Example:
    >>> net = resnet("resnet20", (3, 32, 32), 10, width=8)   # 1-2-4 channels instead of 16-32-64
    >>> import torch
    >>> net(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

Activation = Callable[[], nn.Module]
# name → (channels of the first stage at the standard width, blocks per stage); stages double
# the channels and halve the side (stride 2), as in QCFS's Models/ResNet.py for CIFAR.
RESNETS = {"resnet18": (64, (2, 2, 2, 2)), "resnet20": (16, (3, 3, 3))}
STANDARD_WIDTH = 128  # the lab's default `width`: the standard network


class ResidualBlock(nn.Module):
    """y = activation(branch(x) + shortcut(x)); an empty `shortcut` is the identity.

    ANN: x `[B, C, H, W]`, the activation a ReLU/QCFS. SNN: x `[T, B, C, H, W]`, the branch
    time-distributed with IF neurons, the activation an IF neuron after the addition.
    """

    def __init__(self, branch: nn.Sequential, shortcut: nn.Sequential,
                 activation: nn.Module) -> None:
        super().__init__()
        self.branch, self.shortcut, self.activation = branch, shortcut, activation

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(self.branch(x) + self.shortcut(x))


def basic_block(in_channels: int, out_channels: int, stride: int, activation: Activation,
                batch_norm: bool = True) -> ResidualBlock:
    """The two-conv block with its shortcut (a 1×1 conv where stride or channels change)."""
    branch = nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=not batch_norm),
        *_norm(out_channels, batch_norm), activation(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=not batch_norm),
        *_norm(out_channels, batch_norm))
    shortcut = nn.Sequential()
    if stride != 1 or in_channels != out_channels:
        shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride, bias=not batch_norm),
            *_norm(out_channels, batch_norm))
    return ResidualBlock(branch, shortcut, activation())


def resnet(name: str, image_shape: tuple[int, int, int], num_classes: int,
           activation: Activation = nn.ReLU, width: int = STANDARD_WIDTH,
           batch_norm: bool = True) -> nn.Sequential:
    """ResNet-18 or ResNet-20 as a flat `nn.Sequential` of a stem, blocks and a readout.

    stem conv3×3 → [BN] → h, then the blocks of `RESNETS[name]`, then an average pool over the
    whole map (an `AvgPool2d`, which converts like any pooling) → Flatten → Linear. Channels are
    the standard ones scaled by width/128 (at least 1), so the default width 128 is the standard
    network (ResNet-18: 64-128-256-512; ResNet-20: 16-32-64) and width 8 a tiny one for tests.
    """
    if name not in RESNETS:
        raise ValueError(f"arch must be one of {', '.join(RESNETS)} for a ResNet, got {name!r}")
    base, blocks = RESNETS[name]
    c, h, w = image_shape
    channels = max(1, base * width // STANDARD_WIDTH)
    layers: list[nn.Module] = [nn.Conv2d(c, channels, 3, padding=1, bias=not batch_norm),
                               *_norm(channels, batch_norm), activation()]
    in_channels = channels
    for stage, count in enumerate(blocks):
        out_channels = channels * 2**stage
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append(basic_block(in_channels, out_channels, stride, activation, batch_norm))
            in_channels = out_channels
            if stride == 2:
                h, w = (h + 1) // 2, (w + 1) // 2  # conv3×3, padding 1, stride 2: ⌈side/2⌉
    layers += [nn.AvgPool2d((h, w)), nn.Flatten(), nn.Linear(in_channels, num_classes)]
    return nn.Sequential(*layers)


def _norm(channels: int, enabled: bool) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels)] if enabled else []

