"""One measurement API for every method and the dashboard: accuracy, time, memory, operations.

Operations follow the usual accounting (METHODS.md §5): an ANN layer costs MACs; a spiking
layer costs synaptic operations, SOPs = Σ over input spikes of the spike's fan-out. Energy is an
*estimate* from the 45 nm figures of Horowitz (ISSCC 2014): 4.6 pJ per 32-bit float MAC and
0.9 pJ per 32-bit float accumulate (one SOP).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .models import TimeDistributed
from .neurons import SpikingNeuron

ENERGY_PJ_PER_MAC = 4.6  # Horowitz, ISSCC 2014, 45 nm, 32-bit float multiply-accumulate
ENERGY_PJ_PER_SOP = 0.9  # Horowitz, ISSCC 2014, 45 nm, 32-bit float add
ENERGY_SOURCE = "Horowitz, ISSCC 2014 (45 nm): 4.6 pJ/MAC, 0.9 pJ/SOP — an estimate"


def accuracy(logits: Tensor, labels: Tensor) -> float:
    """Percentage (0–100) of rows of `logits` whose argmax equals the label."""
    return 100.0 * (logits.argmax(-1) == labels).float().mean().item()


def accuracy_per_timestep(outputs: Tensor, labels: Tensor) -> Tensor:
    """Accuracy (%) of the running mean readout at every T: outputs `[T, B, C]` → `[T]`.

    The prediction after T steps is argmax of (1/T)·Σ_{t≤T} y[t], so one simulation to T_max
    gives the accuracy at every T ≤ T_max.
    """
    running = outputs.cumsum(0)
    return 100.0 * (running.argmax(-1) == labels).float().mean(1)


@contextmanager
def wall_time() -> Iterator[dict[str, float]]:
    """`with wall_time() as t: ...` then `t["s"]` holds the elapsed seconds."""
    result = {"s": 0.0}
    start = time.perf_counter()
    try:
        yield result
    finally:
        result["s"] = time.perf_counter() - start


def peak_autograd_bytes(step: Callable[[], Tensor], device: torch.device | None = None) -> int:
    """Bytes held by autograd for one training step: run `step()` (forward → loss), measure.

    CPU: the distinct storages saved for backward, counted through saved-tensor hooks (this is
    the activation memory the graph holds at the loss, where it peaks). CUDA: the rise of
    `torch.cuda.max_memory_allocated` over the step, which also includes the transient buffers.
    """
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        step().backward()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = step()
    loss.backward()
    return sum(seen.values())


@dataclass
class Operations:
    """Per-layer operation counts for one inference over a batch (divide by B for per sample)."""

    macs: list[int] = field(default_factory=list)
    sops: list[int] = field(default_factory=list)
    spikes: list[int] = field(default_factory=list)
    samples: int = 1

    @property
    def energy_pj(self) -> float:
        """Estimated energy per sample (pJ), from `ENERGY_SOURCE`."""
        return (ENERGY_PJ_PER_MAC * sum(self.macs) + ENERGY_PJ_PER_SOP * sum(self.sops)) / max(
            self.samples, 1
        )

    def per_sample(self) -> dict[str, float]:
        n = max(self.samples, 1)
        return {"macs": sum(self.macs) / n, "sops": sum(self.sops) / n,
                "spikes": sum(self.spikes) / n, "energy_pj": self.energy_pj}


def _fanout_count(layer: nn.Module, x: Tensor) -> int:
    """Σ over the non-zero inputs of x of their fan-out through `layer` (exact for conv)."""
    events = (x != 0).to(torch.float32)
    if isinstance(layer, nn.Linear):
        return int(events.sum().item()) * layer.out_features
    if isinstance(layer, nn.Conv2d):
        ones = torch.ones(1, 1, *layer.kernel_size, device=x.device)
        per_input = F.conv2d(events.sum(1, keepdim=True), ones, stride=layer.stride,
                             padding=layer.padding, dilation=layer.dilation)
        return int(per_input.sum().item()) * layer.out_channels // layer.groups
    return 0


def _macs(layer: nn.Module, y: Tensor) -> int:
    """Dense MACs of a Linear or Conv2d layer that produced output `y`."""
    if isinstance(layer, nn.Linear):
        return y.numel() * layer.in_features
    if isinstance(layer, nn.Conv2d):
        k = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels // layer.groups
        return y.numel() * k
    return 0


def count_operations(model: nn.Module, x: Tensor) -> Operations:
    """Run `model(x)` once and count operations per weight layer.

    ANN (no spiking layers): every Linear/Conv2d costs dense MACs. SNN: a weight layer whose
    input comes from spiking neurons (any non-zero is one event, scaled or not) costs SOPs; the
    first layer, fed analog input, costs MACs. `spikes` lists the spikes each neuron layer emits.
    """
    ops = Operations(samples=x.shape[1] if _is_spiking(model) else x.shape[0])
    spiking = _is_spiking(model)
    fed_by_spikes = {"yes": False}
    hooks = []

    def on_weight(module: nn.Module, inputs: tuple[Tensor], output: Tensor) -> None:
        if fed_by_spikes["yes"]:
            ops.sops.append(_fanout_count(module, inputs[0]))
            ops.macs.append(0)
        else:
            ops.macs.append(_macs(module, output))
            ops.sops.append(0)

    def on_neuron(module: nn.Module, inputs: tuple[Tensor], output: Tensor) -> None:
        ops.spikes.append(int((output != 0).sum().item()))
        fed_by_spikes["yes"] = True

    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            hooks.append(m.register_forward_hook(on_weight))
        elif isinstance(m, SpikingNeuron):
            hooks.append(m.register_forward_hook(on_neuron))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    if not spiking:
        ops.sops = [0] * len(ops.macs)
    return ops


def _is_spiking(model: nn.Module) -> bool:
    return any(isinstance(m, (SpikingNeuron, TimeDistributed)) for m in model.modules())
