"""The one operations count: ANN MACs, SNN synaptic operations, fan-outs, training-step MACs.

Accounting (docs/methods.md §5): a weight layer fed by analog values costs dense MACs,
`outputs × fan-in`. A weight layer fed by spikes costs synaptic operations,

    SOPs = Σ_t Σ_i s_i[t] · fanout(i)

where s_i[t] is a spike (or θ·spike) of neuron i and fanout(i) the number of synapses it reaches
in the next weight layer. Average pooling between the neurons and that layer is folded into the
layer's weights (W·avgpool is itself a linear map), so a spike crosses the pool unchanged: pooled
values are not events, and a spike's fan-out is that of its pooled position. Energy is an
*estimate* from Horowitz (ISSCC 2014, 45 nm): 4.6 pJ per 32-bit float MAC, 0.9 pJ per add.

Example (a hand count): 4 spikes in one 2×2 pool window before a 3×3 conv (padding 1, 2 output
channels) on a 2×2 map: the pooled position reaches 4 outputs × 2 channels, so 4 · 8 = 32 SOPs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from .neurons import SpikingNeuron

ENERGY_PJ_PER_MAC = 4.6  # Horowitz, ISSCC 2014, 45 nm, 32-bit float multiply-accumulate
ENERGY_PJ_PER_SOP = 0.9  # Horowitz, ISSCC 2014, 45 nm, 32-bit float add
ENERGY_SOURCE = "Horowitz, ISSCC 2014 (45 nm): 4.6 pJ/MAC, 0.9 pJ/SOP — an estimate"
WEIGHTS = (nn.Linear, nn.Conv2d)
PASS_THROUGH = (nn.AvgPool2d, nn.Flatten, nn.Dropout, nn.Identity)


@dataclass
class Operations:
    """Per-weight-layer counts for one inference over a batch of `samples`."""

    macs: list[int] = field(default_factory=list)
    sops: list[int] = field(default_factory=list)
    spikes: list[int] = field(default_factory=list)
    samples: int = 1

    @property
    def energy_pj(self) -> float:
        """Estimated energy per sample (pJ), from `ENERGY_SOURCE`."""
        return (ENERGY_PJ_PER_MAC * sum(self.macs) + ENERGY_PJ_PER_SOP * sum(self.sops)) / max(
            self.samples, 1)

    def per_sample(self) -> dict[str, float]:
        """The stored metrics: macs, sops, spikes and energy_pj per sample."""
        n = max(self.samples, 1)
        return {"macs": sum(self.macs) / n, "sops": sum(self.sops) / n,
                "spikes": sum(self.spikes) / n, "energy_pj": self.energy_pj}


def dense_macs(layer: nn.Module, output: Tensor) -> int:
    """MACs of a Linear or Conv2d layer that produced `output`: outputs × fan-in."""
    if isinstance(layer, nn.Linear):
        return output.numel() * layer.in_features
    if isinstance(layer, nn.Conv2d):
        k = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels // layer.groups
        return output.numel() * k
    return 0


def fanout(path: Sequence[nn.Module], shape: Sequence[int]) -> Tensor:
    """The fan-out of every unit of an input of `shape` (no batch axis) through `path`.

    `path` is pass-through layers (average pooling, flatten, ...) ending in a weight layer (or
    the weight layer alone). fanout(i) = ∂Σy/∂x_i with every weight 1 and no bias, times the
    area of each average pool (a spike crosses a pool unchanged; see the module docstring).
    """
    layers = [copy.deepcopy(m).cpu() for m in path]
    for m in layers:
        m._forward_hooks.clear()  # a copy made while counting carries the counter's hooks
    if not layers or not isinstance(layers[-1], WEIGHTS):
        raise ValueError("path must end in a Linear or Conv2d layer")
    scale = 1.0
    for m in layers:
        if isinstance(m, WEIGHTS):
            for name, p in m.named_parameters():
                p.requires_grad_(False).fill_(0.0 if name.endswith("bias") else 1.0)
        elif isinstance(m, nn.AvgPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 2
            scale *= k[0] * k[1]
        elif not isinstance(m, PASS_THROUGH):
            raise TypeError(f"{type(m).__name__} between spikes and a weight layer is not "
                            f"counted: supported are {[t.__name__ for t in PASS_THROUGH]}")
    x = torch.zeros(1, *shape, requires_grad=True)
    with torch.enable_grad():
        nn.Sequential(*layers)(x).sum().backward()
    return (x.grad[0] * scale).round()


def count_operations(model: nn.Module, x: Tensor) -> Operations:
    """Run `model(x)` once (no gradients) and count operations per weight layer.

    ANN: every Linear/Conv2d costs dense MACs. SNN (`x` is `[T, B, ...]`): a weight layer whose
    input comes from spiking neurons costs SOPs (every non-zero output of a neuron layer is one
    event, fanned out through the pass-through layers and the weight layer); a weight layer fed
    by analog values (the first, on direct input) costs dense MACs. Layers must run in the order
    they are registered (as in `nn.Sequential`).
    """
    spiking = any(isinstance(m, SpikingNeuron) for m in model.modules())
    ops = Operations(samples=x.shape[1] if spiking else x.shape[0])
    pending: dict[str, object] = {"events": None, "path": []}
    cache: dict[tuple, Tensor] = {}
    hooks = []

    def on_neuron(module: nn.Module, inputs: tuple[Tensor], output: Tensor) -> None:
        events = output != 0
        ops.spikes.append(int(events.sum().item()))
        pending["events"] = events.flatten(0, 1).sum(0).to(torch.float64)  # per unit, Σ over T, B
        pending["path"] = []

    def on_pass(module: nn.Module, inputs: tuple[Tensor], output: Tensor) -> None:
        if pending["events"] is not None:
            pending["path"].append(module)

    def on_weight(module: nn.Module, inputs: tuple[Tensor], output: Tensor) -> None:
        events = pending["events"]
        if events is None:
            ops.macs.append(dense_macs(module, output))
            ops.sops.append(0)
            return
        path = [*pending["path"], module]
        key = (*map(id, path), *events.shape)
        if key not in cache:
            cache[key] = fanout(path, events.shape).to(torch.float64)
        ops.sops.append(int((events.cpu() * cache[key]).sum().item()))
        ops.macs.append(0)
        pending["events"], pending["path"] = None, []

    for m in model.modules():
        if isinstance(m, WEIGHTS):
            hooks.append(m.register_forward_hook(on_weight))
        elif isinstance(m, SpikingNeuron):
            hooks.append(m.register_forward_hook(on_neuron))
        elif isinstance(m, PASS_THROUGH):
            hooks.append(m.register_forward_hook(on_pass))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return ops


def training_macs(run: Callable[[], object]) -> tuple[object, int]:
    """Run `run()` and count the multiply-accumulates PyTorch dispatches (FlopCounterMode / 2).

    Counts matmuls and convolutions, forward and backward alike (whatever `run` executes).
    """
    with FlopCounterMode(display=False) as counter:
        result = run()
    return result, counter.get_total_flops() // 2
