"""ANN builders whose activation is a parameter, and their spiking counterparts.

Laptop-sized MLPs and VGG-style CNNs, and the paper's networks (VGG-16, ResNet-18/20 in
`resnet`) with a width multiplier so that tests can make them tiny. A spiking network is the
same layers applied to every time step (`TimeDistributed`, one batched call over `T·B`
samples) with each activation replaced by a `SpikingNeuron`. Because the layers are applied
layer by layer over all `T` at once, a simulation costs about the same dense matmuls as `T` ANN
forward passes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import Tensor, nn

from .neurons import SpikingNeuron
from .resnet import RESNETS, STANDARD_WIDTH, ResidualBlock, resnet

Activation = Callable[[], nn.Module]
ARCHS = ("mlp", "cnn", "vgg16", *RESNETS)
# Layers that act on each time step independently and therefore convert unchanged.
STATELESS = (nn.Linear, nn.Conv2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.MaxPool2d, nn.Flatten,
             nn.Dropout, nn.Identity)


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


# VGG-16's 13 convs in 5 stages, each ending in a 2×2 pool (Simonyan & Zisserman 2015), as in
# QCFS's and the residual-noise authors' Models/VGG.py; their classifier is 4096-4096-classes.
VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
VGG16_HIDDEN = 4096


def vgg16(image_shape: tuple[int, int, int], num_classes: int, activation: Activation = nn.ReLU,
          width: int = STANDARD_WIDTH, batch_norm: bool = True) -> nn.Sequential:
    """VGG-16 for 32×32 images: (Conv3×3 → [BatchNorm2d] → activation) × 13, an AvgPool2 after
    each of the 5 stages, then Flatten → Linear → act → Linear → act → Linear.

    Channels and the classifier's hidden units are the standard ones (64 ... 512; 4096) scaled
    by width/128 (at least 1): the default width 128 is the authors' network. Average pooling
    replaces their max pooling, as their code does before training (`replace_maxpool2d_by_
    avgpool2d`); BatchNorm follows every conv (not the classifier's Linear layers), as theirs.
    """
    c, h, w = image_shape
    if min(h, w) < 2 ** len(VGG16_STAGES):
        raise ValueError(f"arch vgg16 halves the image {len(VGG16_STAGES)} times: images must be "
                         f"at least 32×32, got {image_shape}")
    layers: list[nn.Module] = []
    for stage in VGG16_STAGES:
        for channels in stage:
            out = _scaled(channels, width)
            layers += [nn.Conv2d(c, out, 3, padding=1), *_norm(nn.BatchNorm2d, out, batch_norm),
                       activation()]
            c = out
        layers.append(nn.AvgPool2d(2))
        h, w = h // 2, w // 2
    hidden = _scaled(VGG16_HIDDEN, width)
    layers += [nn.Flatten(), nn.Linear(c * h * w, hidden), activation(),
               nn.Linear(hidden, hidden), activation(), nn.Linear(hidden, num_classes)]
    return nn.Sequential(*layers)


def _scaled(channels: int, width: int) -> int:
    return max(1, channels * width // STANDARD_WIDTH)


DEPTH_RANGE = (1, 32)  # hidden weight layers of the MLP, conv layers of the CNN
DEFAULT_DEPTH, DEFAULT_WIDTH = 2, 128  # today's MLP 256-128 and CNN 16-32 + 128
# The MLP's hidden widths: tapered (2w, w, ..., w; the lab's default) or uniform (w, ..., w).
# The first hidden layer's width moves the residual error at depth (docs/fidelity-conversion.md).
WIDTH_PROFILES = ("tapered", "uniform")


def mlp_widths(depth: int, width: int, profile: str = "tapered") -> tuple[int, ...]:
    """Hidden widths of the MLP, `depth` of them: tapered (2w, w, ..., w; (256, 128) by default)
    or uniform (w, ..., w)."""
    if profile not in WIDTH_PROFILES:
        raise ValueError(f"width profile must be one of {', '.join(WIDTH_PROFILES)}, "
                         f"got {profile!r}")
    return (width,) * depth if profile == "uniform" else (2 * width,) + (width,) * (depth - 1)


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
          width: int = DEFAULT_WIDTH, batch_norm: bool = False,
          width_profile: str = "tapered") -> nn.Sequential:
    """The lab's architectures by name (`ARCHS`); 'mlp' and 'cnn' are laptop-sized.

    depth: hidden weight layers of the MLP (widths `mlp_widths`), conv layers of the CNN (its
    classifier's hidden Linear of w units comes on top; layout `vgg_layout`); 'vgg16',
    'resnet18' and 'resnet20' have their own fixed depth (depth is only range-checked). width
    w: units of the MLP's later hidden layers and of the CNN's classifier; for the paper's
    networks the standard channels scaled by w/128 (128: the standard network). batch_norm:
    BatchNorm after every hidden weight layer (every conv for the paper's networks), before its
    activation. width_profile: the MLP's hidden widths, tapered or uniform (`mlp_widths`; the
    other archs ignore it). The defaults are MLP 256-128 and CNN conv 16 → pool → conv 32 → pool
    → 128.

    Example:
        >>> net = build("resnet20", (3, 32, 32), 10, width=8, batch_norm=True)  # 1-2-4 channels
        >>> net(torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 10])
    """
    low, high = DEPTH_RANGE
    if not (isinstance(depth, int) and low <= depth <= high):
        raise ValueError(f"depth must be an integer in [{low}, {high}], got {depth!r}")
    if not (isinstance(width, int) and width >= 1):
        raise ValueError(f"width must be an integer ≥ 1, got {width!r}")
    if arch == "mlp":
        c, h, w = image_shape
        return mlp(c * h * w, mlp_widths(depth, width, width_profile), num_classes, activation,
                   batch_norm)
    if arch == "cnn":
        channels, pools = vgg_layout(image_shape, depth, width)
        return cnn(image_shape, channels, num_classes, activation, width, batch_norm, pools)
    if arch == "vgg16":
        return vgg16(image_shape, num_classes, activation, width, batch_norm)
    if arch in RESNETS:
        return resnet(arch, image_shape, num_classes, activation, width, batch_norm)
    raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")


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
    and is wrapped in `TimeDistributed`; a `ResidualBlock` keeps its shape, with its branch and
    shortcut converted and its activation (after the addition) a neuron. `neuron` is called in
    the order of `ann.modules()`. Anything else is refused by name.
    """
    is_activation = is_activation or _is_activation
    layers: list[nn.Module] = []
    for name, module in ann.named_children():
        if isinstance(module, ResidualBlock):
            branch = to_spiking(module.branch, neuron, is_activation)
            shortcut = to_spiking(module.shortcut, neuron, is_activation)
            if not is_activation(module.activation):
                raise TypeError(f"layer {name}.activation ({type(module.activation).__name__}) "
                                "cannot be converted: a residual block must end in an activation")
            layers.append(ResidualBlock(branch, shortcut, neuron(module.activation)))
        elif is_activation(module):
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
