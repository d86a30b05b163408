"""ANN → SNN: every activation becomes a plain IF neuron (reset by subtraction, emitting θ·s).

Any traceable model goes one way: `graph.layout` reads its `torch.fx` graph into the lab's
layout (an `nn.Sequential` of layers, one activation module per call site, and
`ResidualBlock`s for `h(f(x) + g(x))`), refusing by node name what cannot be converted;
BatchNorm is folded into the weight layer before it (`fold`); `models.to_spiking` then turns
every activation into an IF neuron and wraps every other layer to run over `[T, B, ...]`.
The lab's own networks (`nn.Sequential`, ResNets of `ResidualBlock`s) take the same path.

θ per layer comes from the activation's trained λ (clipped ReLU, QCFS, residual noise) or from
threshold balancing; v[0] = v_init·θ. MaxPool is refused: the max of spikes is not the max of
firing rates.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from ..core import models
from ..core.neurons import SpikingNeuron
from .fold import fold_batch_norm
from .graph import ACTIVATIONS, LAYERS, Layout, layout

CONVERTIBLE = LAYERS


def activation_layers(ann: nn.Module) -> list[nn.Module]:
    """The activations of `ann` that conversion turns into IF neurons, one per call site, in
    the order of the SNN's neurons (inside a residual block: the branch's, then the one after
    the addition). Modules of `ann` where it has them; a ReLU written `F.relu` gets one."""
    return layout(ann).activations


def check_convertible(ann: nn.Module) -> Layout:
    """Raise TypeError (`graph.NotConvertible`) naming the first node conversion cannot handle.

    Called before training too, so that an unsupported layer stops a run before it costs
    anything. BatchNorm is accepted where it can be folded (right after Linear or Conv2d).
    Returns the model's layout (`graph.layout`).
    """
    lay = layout(ann)
    fold_batch_norm(lay.ann)  # refuses a BatchNorm with nothing to fold into, by name
    return lay


def convert(ann: nn.Module, thresholds: Sequence[float] | None = None,
            v_init: float = 0.5) -> nn.Sequential:
    """The SNN of `ann`: each activation → IF neuron with θ, v[0] = v_init·θ, output θ·s.

    `ann` is any model `torch.fx` can trace (`graph.layout` says what it reads). θ per layer
    comes from `thresholds`, else from the activation's trained λ (clipped ReLU, QCFS, residual
    noise); ReLU layers need `threshold_balance`. BatchNorm is folded into the weight layer
    before it (eval-mode statistics). Weights are copied; `ann` is unchanged.
    """
    lay = check_convertible(ann)
    ann, acts = fold_batch_norm(lay.ann), lay.activations  # folding keeps the activations
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
