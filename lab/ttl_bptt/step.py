"""The truncated, local training step: K steps of one block at a time, state carried detached."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core import config as cfg
from ..core import costs
from ..core.costs import Backprop, StepCost, plain_backprop, rate_loss
from ..core.neurons import NeuronState, SpikingNeuron
from .blocks import LocalNet

State = dict[SpikingNeuron, NeuronState]
local_loss = rate_loss  # L = CE((1/K)·Σ_t head(out[t]), y), the rate readout as in `lab.bptt`


def forward_segment(block: nn.Module, x: Tensor, state: State) -> Tensor:
    """Run `block` over one segment `x` `[K, B, ...]`, each neuron starting from its carried v.

    v[t0] is the neuron's state at the end of the previous segment, detached (truncation), or
    v[0] at the first segment; the segment's last state is kept in `state` for the next one.
    """
    for layer in block:
        if isinstance(layer, SpikingNeuron):
            out = layer.run(x, state.get(layer))
            state[layer] = NeuronState(out.state.v.detach())
            x = out.spikes
        else:
            x = layer(x)
    return x


@torch.no_grad()
def forget_between_segments(model: LocalNet, x: Tensor, length: int) -> Tensor:
    """Outputs `[T, B, C]` of `model` on `x` `[T, B, ...]` with every membrane reset to v[0] at
    the start of each segment of `length` steps: the network with no memory older than its
    segment. Training truncates gradients only; this shows what the carried state is worth."""
    parts = []
    for start in range(0, x.shape[0], length):
        h, state = x[start:start + length], {}
        for block in model.blocks:
            h = forward_segment(block, h, state)
        parts.append(h)
    return torch.cat(parts)


def ttl_step(model: LocalNet, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer | None,
             truncation_length: int, backprop: Backprop = plain_backprop,
             carry_state: bool = True) -> float:
    """One TTL-BPTT training step on time-first `x` `[T, B, ...]`; returns the readout's loss,
    averaged over the segments.

    Per segment of K steps: per block, forward from the detached block input and the detached
    carried membrane state, local loss, backward; then one optimizer update. With
    `carry_state=False` every segment starts from v[0] instead (the control that removes the
    state truncation only detaches). With `optimizer=None` the gradients are only accumulated
    (tests and measurement).
    """
    timesteps = x.shape[0]
    cfg.require(1 <= truncation_length <= timesteps, "truncation_length",
                f"in 1..timesteps = 1..{timesteps}", truncation_length)
    state: State = {}
    losses = []
    for start in range(0, timesteps, truncation_length):
        if not carry_state:
            state.clear()  # every membrane back to v[0]
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
        # a copy, so the graph holds this segment's input only (as when streaming in)
        h = x[start:start + truncation_length].clone()
        for block, head in zip(model.blocks, model.heads, strict=True):
            h_in = h.detach()
            h, loss = backprop(lambda b=block, h_in=h_in: forward_segment(b, h_in, state),
                               lambda out, head=head: local_loss(head, out, y),
                               list(head.parameters()))
        losses.append(loss)
        if optimizer is not None:
            optimizer.step()
    return torch.stack(losses).mean().item()


def step_cost(model: LocalNet, x: Tensor, y: Tensor, truncation_length: int) -> StepCost:
    """Measure one TTL step (no update) on time-first `x` with the core's `costs.step_cost`."""
    return costs.step_cost(
        model, lambda m, backprop: ttl_step(m, x, y, None, truncation_length, backprop), len(y))
