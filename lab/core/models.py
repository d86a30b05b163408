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
        activation: Activation = nn.ReLU) -> nn.Sequential:
    """Flatten → (Linear → activation) per hidden layer → Linear readout."""
    layers: list[nn.Module] = [nn.Flatten()]
    for width in hidden:
        layers += [nn.Linear(in_features, width), activation()]
        in_features = width
    layers.append(nn.Linear(in_features, num_classes))
    return nn.Sequential(*layers)


def cnn(image_shape: tuple[int, int, int], channels: tuple[int, ...], num_classes: int,
        activation: Activation = nn.ReLU, hidden: int = 128) -> nn.Sequential:
    """(Conv3×3 → activation → AvgPool2) per entry of `channels`, then Linear → act → Linear."""
    c, h, w = image_shape
    layers: list[nn.Module] = []
    for out in channels:
        layers += [nn.Conv2d(c, out, 3, padding=1), activation(), nn.AvgPool2d(2)]
        c, h, w = out, h // 2, w // 2
    if h < 1 or w < 1:
        raise ValueError(f"too many pooling stages ({len(channels)}) for image {image_shape}")
    layers += [nn.Flatten(), nn.Linear(c * h * w, hidden), activation(),
               nn.Linear(hidden, num_classes)]
    return nn.Sequential(*layers)


def build(arch: str, image_shape: tuple[int, int, int], num_classes: int,
          activation: Activation = nn.ReLU) -> nn.Sequential:
    """The lab's laptop-sized architectures by name: 'mlp' or 'cnn'."""
    if arch == "mlp":
        c, h, w = image_shape
        return mlp(c * h * w, (256, 128), num_classes, activation)
    if arch == "cnn":
        return cnn(image_shape, (16, 32), num_classes, activation)
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
