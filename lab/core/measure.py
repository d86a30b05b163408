"""One measurement API for every method and the dashboard: accuracy, time and memory.

Operations (MACs, SOPs, fan-outs, energy) are counted in `lab.core.operations`; a training
step's memory is measured by `lab.core.costs.step_cost` from the pieces here. Two figures with
distinct names, measured the same way on every device:

    saved_bytes       bytes autograd saves for backward during one step (the activations
                      that truncation and local losses remove)
    step_peak_bytes   the training step's peak: parameters + gradients + optimizer state +
                      saved_bytes (on CUDA `cuda_peak_bytes` is measured as well)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn


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
def timer() -> Iterator[dict[str, float]]:
    """`with timer() as t: ...` then `t["wall_s"]` and `t["cpu_s"]` (this process, all threads).

    CPU seconds do not grow when other processes load the machine; wall seconds do.
    """
    result = {"wall_s": 0.0, "cpu_s": 0.0}
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield result
    finally:
        result["wall_s"] = time.perf_counter() - wall
        result["cpu_s"] = time.process_time() - cpu


def machine(device: str = "cpu") -> dict[str, float | str]:
    """What a time depends on: torch's threads, the device and the 1-minute load average now."""
    return {"torch_threads": torch.get_num_threads(), "device": device,
            "load_1min": os.getloadavg()[0]}


def saved_bytes(loss: Callable[[], Tensor]) -> tuple[Tensor, int]:
    """Run `loss()` (a forward to a scalar) and count the distinct storages autograd saves for
    backward, through saved-tensor hooks; returns the loss (graph intact) and the bytes."""
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        value = loss()
    return value, sum(seen.values())


def tensor_bytes(tensors: Iterator[Tensor] | list[Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def state_bytes(model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Parameters, buffers, gradients and optimizer state held by a training step (measured
    after at least one step, when Adam's moments exist)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    opt = [v for s in optimizer.state.values() for v in s.values() if isinstance(v, Tensor)]
    return tensor_bytes(list(model.parameters()) + list(model.buffers()) + grads + opt)


def inference_bytes(model: nn.Module, x: Tensor,
                    forward: Callable[[nn.Module, Tensor], object] | None = None) -> int:
    """Parameters and buffers plus the largest input + output pair of any layer during one
    `forward(model, x)` (default `model(x)`) without gradients: what is live at once."""
    largest = {"bytes": 0}

    def hook(_m: nn.Module, inputs: tuple, output: object) -> None:
        tensors = [t for t in (*inputs, output) if isinstance(t, Tensor)]
        largest["bytes"] = max(largest["bytes"], tensor_bytes(tensors))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            forward(model, x) if forward else model(x)
    finally:
        for h in handles:
            h.remove()
    return tensor_bytes(list(model.parameters()) + list(model.buffers())) + largest["bytes"]
