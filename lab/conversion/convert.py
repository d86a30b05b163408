"""ANN → SNN: every activation becomes a plain IF neuron (reset by subtraction, emitting θ·s).

θ per layer comes from the activation's trained λ (clipped ReLU, QCFS, residual noise) or from
threshold balancing; v[0] = v_init·θ. BatchNorm is folded into the weight layer before it
(`fold`). MaxPool is refused: the max of spikes is not the max of firing rates. Beyond a plain
`nn.Sequential`, a ResNet's `ResidualBlock` converts into the same block whose activation after
the addition is an IF neuron (`lab.core.resnet`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from ..core import models
from ..core.neurons import SpikingNeuron
from ..core.resnet import ResidualBlock
from .activations import QCFS, ClippedReLU
from .fold import NORMS, fold_batch_norm

ACTIVATIONS = (nn.ReLU, ClippedReLU, QCFS)  # ResidualNoise is a QCFS
CONVERTIBLE = (nn.Linear, nn.Conv2d, nn.AvgPool2d, nn.Flatten, nn.Dropout, nn.Identity)


def activation_layers(ann: nn.Module) -> list[nn.Module]:
    """The activations of `ann` that conversion turns into IF neurons, in `modules()` order
    (inside a residual block: the branch's, then the one after the addition)."""
    return [m for m in ann.modules() if isinstance(m, ACTIVATIONS)]


def check_convertible(ann: nn.Sequential, prefix: str = "") -> None:
    """Raise TypeError naming the first layer of `ann` that conversion cannot handle.

    Called before training too, so that an unsupported layer stops a run before it costs
    anything. BatchNorm is accepted where it can be folded (right after Linear or Conv2d);
    a `ResidualBlock` is checked inside (its branch, its shortcut, an activation after the sum).
    """
    for name, module in ann.named_children():
        if isinstance(module, ResidualBlock):
            check_convertible(module.branch, f"{prefix}{name}.branch.")
            check_convertible(module.shortcut, f"{prefix}{name}.shortcut.")
            if not isinstance(module.activation, ACTIVATIONS):
                raise TypeError(f"layer {prefix}{name}.activation "
                                f"({type(module.activation).__name__}) cannot be converted: a "
                                f"residual block must end in one of "
                                f"{[t.__name__ for t in ACTIVATIONS]}")
            continue
        name = f"{prefix}{name}"
        if isinstance(module, nn.MaxPool2d):
            raise TypeError(f"layer {name} (MaxPool2d) cannot be converted: the max of spikes is "
                            "not the max of firing rates; use AvgPool2d")
        if not isinstance(module, ACTIVATIONS + CONVERTIBLE + NORMS):
            supported = [t.__name__ for t in ACTIVATIONS + CONVERTIBLE + NORMS]
            raise TypeError(f"layer {name} ({type(module).__name__}) cannot be converted: "
                            f"supported are {supported} and residual blocks")
    if not prefix:
        fold_batch_norm(ann)  # refuses a BatchNorm with nothing to fold into, by name


def convert(ann: nn.Sequential, thresholds: Sequence[float] | None = None,
            v_init: float = 0.5) -> nn.Sequential:
    """The SNN of `ann`: each activation → IF neuron with θ, v[0] = v_init·θ, output θ·s.

    θ per layer comes from `thresholds`, else from the activation's trained λ (clipped ReLU,
    QCFS, residual noise); plain ReLU layers need `threshold_balance`. BatchNorm is folded into
    the weight layer before it (eval-mode statistics). Weights are copied; `ann` is unchanged.
    """
    check_convertible(ann)
    ann = fold_batch_norm(ann)
    acts = activation_layers(ann)
    if thresholds is None:
        if any(not hasattr(a, "threshold") for a in acts):
            raise ValueError("thresholds are needed for ReLU layers: use threshold_balance(ann, x)")
        thresholds = [float(a.threshold.detach()) for a in acts]
    if len(thresholds) != len(acts):
        raise ValueError(f"thresholds must have one value per activation ({len(acts)}), "
                         f"got {len(thresholds)}")
    theta = iter(float(t) for t in thresholds)
    snn = models.to_spiking(
        ann, lambda _: SpikingNeuron(next(theta), v_init=v_init, scale_output=True),
        is_activation=lambda m: isinstance(m, ACTIVATIONS))
    return snn.eval()


@contextmanager
def recording_outputs(layers: Sequence[nn.Module]) -> Iterator[list[tuple[Tensor, Tensor] | None]]:
    """While open, slot i holds (input, output) of the last forward call of `layers[i]`."""
    slots: list[tuple[Tensor, Tensor] | None] = [None] * len(layers)

    def hook(i: int):
        return lambda _m, inputs, output: slots.__setitem__(i, (inputs[0], output))

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(layers)]
    try:
        yield slots
    finally:
        for h in handles:
            h.remove()


@contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode (no noise, no dropout) and no gradients; the previous mode comes back."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)
