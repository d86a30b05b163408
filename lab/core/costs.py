"""The same cost figures for every method, measured one way and stored with each run.

A training step is one or more *units* of backprop work: forward a part of the network, take
a loss of its output, backward. Plain BPTT, conversion's ANN, the single-step network and the
streaming rollout have one unit per step; TTL-BPTT has one per (segment, block). `step_cost`
runs a step through two measuring units and returns, per sample where it says so:

    saved_bytes       the most bytes autograd holds for backward at once (max over units)
    step_peak_bytes   parameters + gradients + Adam state + saved_bytes
    train_macs_*      multiply-accumulates dispatched by PyTorch (FlopCounterMode / 2): the
                      network's forward, its backward, and local classifiers (forward+backward)

`inference_metrics` adds the operations of one inference (`lab.core.operations`) and its memory.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import measure, operations
from .neurons import SpikingNeuron

# (forward of one part, the loss of its output, parameters of that loss) → (output, loss)
Backprop = Callable[[Callable[[], Tensor], Callable[[Tensor], Tensor], list[nn.Parameter]],
                    tuple[Tensor, Tensor]]
# a training step without the update, made of units: run_step(backprop)
Step = Callable[[Backprop], object]


def rate_loss(head: nn.Module, out: Tensor, y: Tensor) -> Tensor:
    """L = CE((1/K)·Σ_t head(out[t]), y): the rate readout of `out` `[K, B, ...]`."""
    return F.cross_entropy(head(out).mean(0), y)


def plain_backprop(forward: Callable[[], Tensor], loss: Callable[[Tensor], Tensor],
                   local_params: list[nn.Parameter]) -> tuple[Tensor, Tensor]:
    """The unit as training runs it: forward, loss, backward."""
    out = forward()
    value = loss(out)
    value.backward()
    return out, value.detach()


@dataclass(frozen=True)
class StepCost:
    """One training step's memory (bytes) and MACs (per sample); see the module docstring."""

    saved_bytes: int
    step_peak_bytes: int
    held_bytes: list[int]  # saved bytes of every unit, in the order they ran
    macs_forward: float
    macs_backward: float
    macs_local: float
    cuda_peak_bytes: int | None = None  # torch.cuda.max_memory_allocated over the step, on CUDA

    @property
    def macs_total(self) -> float:
        return self.macs_forward + self.macs_backward + self.macs_local

    def metrics(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}saved_bytes": self.saved_bytes,
                f"{prefix}step_peak_bytes": self.step_peak_bytes,
                f"{prefix}train_macs": self.macs_total,
                **({} if prefix else {"train_macs_forward": self.macs_forward,
                                      "train_macs_backward": self.macs_backward,
                                      "train_macs_local": self.macs_local}),
                **({f"{prefix}cuda_peak_bytes": self.cuda_peak_bytes}
                   if self.cuda_peak_bytes is not None else {})}


def step_cost(model: nn.Module, step: Callable[[nn.Module, Backprop], object],
              batch: int) -> StepCost:
    """Measure `step(model, backprop)` (no update) on copies of `model`, on its device."""
    held: list[int] = []

    def hold(forward: Callable[[], Tensor], loss: Callable[[Tensor], Tensor],
             local_params: list[nn.Parameter]) -> tuple[Tensor, Tensor]:
        out: list[Tensor] = []

        def run() -> Tensor:
            out.append(forward())
            return loss(out[0])

        value, nbytes = measure.saved_bytes(run)
        held.append(nbytes)
        value.backward()
        return out[0], value.detach()

    measured = copy.deepcopy(model).train()
    device = next(measured.parameters()).device
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    step(measured, hold)
    optimizer = torch.optim.Adam(measured.parameters())
    optimizer.step()  # creates Adam's moments: the state a real step holds
    state = measure.state_bytes(measured, optimizer)
    cuda_peak = None
    if cuda:
        torch.cuda.synchronize(device)
        cuda_peak = torch.cuda.max_memory_allocated(device) - base

    macs = {"forward": 0, "backward": 0, "local": 0}

    def count(forward: Callable[[], Tensor], loss: Callable[[Tensor], Tensor],
              local_params: list[nn.Parameter]) -> tuple[Tensor, Tensor]:
        out, n = operations.training_macs(forward)
        macs["forward"] += n
        params = [p for p in local_params if p.requires_grad]

        def loss_backward() -> tuple[Tensor, Tensor]:
            value = loss(out)
            grads = torch.autograd.grad(value, [out, *params])
            for p, g in zip(params, grads[1:], strict=True):
                p.grad = g if p.grad is None else p.grad + g
            return grads[0], value.detach()

        (grad_out, value), n = operations.training_macs(loss_backward)
        macs["local"] += n
        macs["backward"] += operations.training_macs(lambda: out.backward(grad_out))[1]
        return out, value

    step(copy.deepcopy(model).train(), count)
    return StepCost(max(held), state + max(held), held, macs["forward"] / batch,
                    macs["backward"] / batch, macs["local"] / batch, cuda_peak)


def single_unit(forward: Callable[[nn.Module, Tensor], Tensor],
                loss: Callable[[Tensor, Tensor], Tensor], x: Tensor, y: Tensor
                ) -> Callable[[nn.Module, Backprop], object]:
    """The step of a method trained with one forward and one loss (`training.train`'s default)."""
    return lambda model, backprop: backprop(lambda: forward(model, x), lambda o: loss(o, y), [])


def inference_metrics(model: nn.Module, x: Tensor) -> dict[str, float]:
    """Operations per sample of one inference of `x` and `inference_bytes` for one sample."""
    ops = operations.count_operations(model, x).per_sample()
    spiking = any(isinstance(m, SpikingNeuron) for m in model.modules())
    one = x[:, :1] if spiking else x[:1]
    return {**ops, "inference_bytes": measure.inference_bytes(model, one)}


def timings(train: dict[str, float], test: dict[str, float]) -> dict[str, float]:
    """The stored timings (seconds) from two `measure.timer()` results."""
    return {"train_s": train["wall_s"], "train_cpu_s": train["cpu_s"],
            "test_s": test["wall_s"], "test_cpu_s": test["cpu_s"]}
