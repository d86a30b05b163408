"""The spiking network cut into blocks of weight layers, each with a local classifier."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core import config as cfg
from ..core import models
from ..core.neurons import SpikingNeuron


def depth(arch: str) -> int:
    """Number of weight layers (Linear/Conv2d) of the lab's architecture `arch`."""
    ann = models.build(arch, (1, 8, 8), 10)
    return sum(isinstance(m, (nn.Linear, nn.Conv2d)) for m in ann.modules())



def spiking_model(arch: str, sample_shape: tuple[int, ...], num_classes: int, beta: float,
                  threshold: float) -> nn.Sequential:
    """The same LIF network as `lab.bptt.spiking_model`, for any sample shape `[C, H, W]`."""
    ann = models.build(arch, sample_shape, num_classes)
    return models.to_spiking(ann, lambda _: SpikingNeuron(threshold=threshold, beta=beta))


def layers(net: nn.Sequential) -> list[nn.Sequential]:
    """`net` cut before every weight layer: [Linear/Conv2d, its neuron, pooling, ...] each."""
    groups: list[list[nn.Module]] = [[]]
    for module in net:
        is_weight = isinstance(getattr(module, "layer", module), (nn.Linear, nn.Conv2d))
        if is_weight and any(isinstance(getattr(m, "layer", m), (nn.Linear, nn.Conv2d))
                             for m in groups[-1]):
            groups.append([])
        groups[-1].append(module)
    return [nn.Sequential(*g) for g in groups]


def local_classifier(features: tuple[int, ...], num_classes: int) -> nn.Module:
    """Auxiliary head on a block's output `[T, B, *features]`: avg-pool to 2×2 (conv), linear."""
    if len(features) == 3:
        head = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                             nn.Linear(features[0] * 4, num_classes))
    else:
        head = nn.Linear(features[0], num_classes)
    return models.TimeDistributed(head)


class LocalNet(nn.Module):
    """A spiking `nn.Sequential` cut into blocks of `block_size` weight layers, with heads.

    `blocks[i]` is a run of layers; `heads[i]` its local classifier (the last block ends in the
    network's own readout, so its head is the identity). `forward` is plain inference.
    """

    def __init__(self, net: nn.Sequential, block_size: int, sample_shape: tuple[int, ...],
                 num_classes: int) -> None:
        super().__init__()
        parts = layers(net)
        cfg.require(1 <= block_size <= len(parts), "block_size", f"in 1..depth = 1..{len(parts)}",
                    block_size)
        self.blocks = nn.ModuleList(nn.Sequential(*[m for p in parts[i:i + block_size] for m in p])
                                    for i in range(0, len(parts), block_size))
        heads: list[nn.Module] = []
        x = torch.zeros(1, 1, *sample_shape)
        with torch.no_grad():
            for block in self.blocks[:-1]:
                x = block(x)
                heads.append(local_classifier(tuple(x.shape[2:]), num_classes))
        self.heads = nn.ModuleList([*heads, nn.Identity()])

    def forward(self, x: Tensor) -> Tensor:
        """Input `[T, B, ...]` → output currents `[T, B, C]` (heads unused)."""
        for block in self.blocks:
            x = block(x)
        return x
