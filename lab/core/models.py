"""Small ANN builders whose activation is a parameter, and their spiking counterparts.

A spiking network is the same layers applied to every time step (`TimeDistributed`, one
batched call over `T·B` samples) with each activation replaced by a `SpikingNeuron`. Because
the layers are applied layer by layer over all `T` at once, a simulation costs about the same
dense matmuls as `T` ANN forward passes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import Tensor, nn

from .neurons import SpikingNeuron

Activation = Callable[[], nn.Module]
ARCHS = ("mlp", "cnn")
# Layers that act on each time step independently and therefore convert unchanged.
STATELESS = (nn.Linear, nn.Conv2d, nn.AvgPool2d, nn.MaxPool2d, nn.Flatten, nn.Dropout, nn.Identity)


def mlp(in_features: int, hidden: tuple[int, ...], num_classes: int,
        activation: Activation = nn.ReLU, batch_norm: bool = False) -> nn.Sequential:
    """Flatten → (Linear → [BatchNorm1d] → activation) per hidden layer → Linear readout."""
    layers: list[nn.Module] = [nn.Flatten()]
    for width in hidden:
        layers += [nn.Linear(in_features, width), *_norm(nn.BatchNorm1d, width, batch_norm),
                   activation()]
        in_features = width
    layers.append(nn.Linear(in_features, num_classes))
    return nn.Sequential(*layers)


def cnn(image_shape: tuple[int, int, int], channels: tuple[int, ...], num_classes: int,
        activation: Activation = nn.ReLU, hidden: int = 128, batch_norm: bool = False,
        pool_after: tuple[bool, ...] | None = None) -> nn.Sequential:
    """(Conv3×3 → [BatchNorm2d] → activation [→ AvgPool2]) per entry of `channels`, then
    Linear → [BatchNorm1d] → activation → Linear.

    `pool_after[i]` says whether conv i ends a stage with a 2×2 average pool (default: every
    conv does). Pooling is average, never max: the max of spikes is not the max of rates.
    """
    pool_after = pool_after if pool_after is not None else (True,) * len(channels)
    if len(pool_after) != len(channels):
        raise ValueError(f"pool_after needs one entry per conv ({len(channels)}), "
                         f"got {len(pool_after)}")
    c, h, w = image_shape
    layers: list[nn.Module] = []
    for out, pool in zip(channels, pool_after, strict=True):
        layers += [nn.Conv2d(c, out, 3, padding=1), *_norm(nn.BatchNorm2d, out, batch_norm),
                   activation()]
        if pool:
            layers.append(nn.AvgPool2d(2))
            h, w = h // 2, w // 2
        c = out
    if h < 1 or w < 1:
        raise ValueError(f"too many pooling stages ({sum(pool_after)}) for image {image_shape}")
    layers += [nn.Flatten(), nn.Linear(c * h * w, hidden),
               *_norm(nn.BatchNorm1d, hidden, batch_norm), activation(),
               nn.Linear(hidden, num_classes)]
    return nn.Sequential(*layers)


def _norm(kind: type[nn.Module], features: int, enabled: bool) -> list[nn.Module]:
    return [kind(features)] if enabled else []


DEPTH_RANGE = (1, 32)  # hidden weight layers of the MLP, conv layers of the CNN
DEFAULT_DEPTH, DEFAULT_WIDTH = 2, 128  # today's MLP 256-128 and CNN 16-32 + 128


def mlp_widths(depth: int, width: int) -> tuple[int, ...]:
    """Hidden widths of the MLP: (2w, w, ..., w), `depth` of them; (256, 128) by default."""
    return (2 * width,) + (width,) * (depth - 1)


def vgg_layout(image_shape: tuple[int, int, int], depth: int, width: int
               ) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """Channels and pooling of a VGG-style stack of `depth` 3×3 convs (VGG: Simonyan 2015).

    Stages of convs end in a 2×2 average pool; there are min(depth, log2(side)) stages (the
    image stays ≥ 1×1), the convs are spread evenly over them with the extra ones in the later
    stages, and stage s has (w/8)·2^s channels, so the default (depth 2, w = 128) is 16, 32.
    """
    side = min(image_shape[1:])
    stages = min(depth, max(1, side.bit_length() - 1))
    per_stage = [depth // stages + (s >= stages - depth % stages) for s in range(stages)]
    base = max(1, width // 8)
    channels = tuple(base * 2**s for s, n in enumerate(per_stage) for _ in range(n))
    pools = tuple(i == n - 1 for n in per_stage for i in range(n))
    return channels, pools


def build(arch: str, image_shape: tuple[int, int, int], num_classes: int,
          activation: Activation = nn.ReLU, depth: int = DEFAULT_DEPTH,
          width: int = DEFAULT_WIDTH, batch_norm: bool = False) -> nn.Sequential:
    """The lab's architectures by name: 'mlp' or 'cnn' (VGG-style); defaults are laptop-sized.

    depth: hidden weight layers of the MLP (widths `mlp_widths`), conv layers of the CNN (its
    classifier's hidden Linear of w units comes on top; layout `vgg_layout`). width w: units
    of the MLP's later hidden layers and of the CNN's classifier. batch_norm: BatchNorm after
    every hidden weight layer, before its activation. The defaults are MLP 256-128 and CNN
    conv 16 → pool → conv 32 → pool → 128.
    """
    low, high = DEPTH_RANGE
    if not (isinstance(depth, int) and low <= depth <= high):
        raise ValueError(f"depth must be an integer in [{low}, {high}], got {depth!r}")
    if not (isinstance(width, int) and width >= 1):
        raise ValueError(f"width must be an integer ≥ 1, got {width!r}")
    if arch == "mlp":
        c, h, w = image_shape
        return mlp(c * h * w, mlp_widths(depth, width), num_classes, activation, batch_norm)
    if arch == "cnn":
        channels, pools = vgg_layout(image_shape, depth, width)
        return cnn(image_shape, channels, num_classes, activation, width, batch_norm, pools)
    raise ValueError(f"arch must be 'mlp' or 'cnn', got {arch!r}")


class TimeDistributed(nn.Module):
    """Apply a stateless layer to `[T, B, ...]` by folding time into the batch."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor) -> Tensor:
        t, b = x.shape[:2]
        y = self.layer(x.reshape(t * b, *x.shape[2:]))
        return y.reshape(t, b, *y.shape[1:])


def to_spiking(ann: nn.Sequential, neuron: Callable[[nn.Module], SpikingNeuron],
               is_activation: Callable[[nn.Module], bool] | None = None) -> nn.Sequential:
    """The spiking counterpart of `ann`, sharing a copy of its weights.

    Every module for which `is_activation(m)` holds becomes `neuron(m)` (so the neuron can read,
    say, a trained clipping level from the activation); every other layer must be stateless
    and is wrapped in `TimeDistributed`. Anything else is refused by name.
    """
    is_activation = is_activation or _is_activation
    layers: list[nn.Module] = []
    for name, module in ann.named_children():
        if is_activation(module):
            layers.append(neuron(module))
        elif isinstance(module, STATELESS):
            layers.append(TimeDistributed(copy.deepcopy(module)))
        else:
            raise TypeError(f"layer {name} ({type(module).__name__}) cannot be converted: "
                            f"supported are activations and {[t.__name__ for t in STATELESS]}")
    return nn.Sequential(*layers)


def _is_activation(module: nn.Module) -> bool:
    return isinstance(module, (nn.ReLU, nn.Hardtanh, nn.Sigmoid, nn.Tanh, SpikingNeuron)) or (
        getattr(module, "is_activation", False)
    )


def device_of(model: nn.Module) -> torch.device:
    """The device of `model`'s first parameter (CPU for a model without parameters)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def spiking_layers(model: nn.Module) -> list[SpikingNeuron]:
    """The spiking neuron layers of `model`, in order."""
    return [m for m in model.modules() if isinstance(m, SpikingNeuron)]
