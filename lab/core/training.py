"""The one training loop: mini-batch Adam, with hooks for what differs between methods.

Methods differ in `forward(model, x) -> output` (how the input is encoded and read out), in
`loss(output, y) -> scalar` (default: cross-entropy; e.g. a loss at every step of a rollout) and,
for a step that is not one forward and one backward, in `step(model, x, y, optimizer) -> loss`
(truncated or local backprop).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch._dynamo  # noqa: F401  the first optimizer imports it (seconds): not a training cost
import torch.nn.functional as F
from torch import Tensor, nn

from .data import Split, batches

Forward = Callable[[nn.Module, Tensor], Tensor]
Loss = Callable[[Tensor, Tensor], Tensor]
Progress = Callable[[float, str], None]


class RunCancelled(Exception):
    """Raised by a progress callback to stop a run between steps."""


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)


def default_step(forward: Forward, loss: Loss = F.cross_entropy
                 ) -> Callable[[nn.Module, Tensor, Tensor, torch.optim.Optimizer], float]:
    """Forward, loss, backward, update."""

    def step(model: nn.Module, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer) -> float:
        optimizer.zero_grad(set_to_none=True)
        value = loss(forward(model, x), y)
        value.backward()
        optimizer.step()
        return value.item()

    return step


def train(model: nn.Module, split: Split, forward: Forward, *, epochs: int, lr: float,
          batch_size: int, seed: int, device: torch.device | None = None,
          loss: Loss = F.cross_entropy, step: Callable | None = None,
          progress: Progress | None = None) -> list[float]:
    """Train `model` on `split`'s training set; returns the mean loss of each epoch."""
    seed_everything(seed)
    device = device or torch.device("cpu")
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    step = step or default_step(forward, loss)
    n_batches = -(-len(split.y_train) // batch_size)
    history = []
    for epoch in range(epochs):
        losses = []
        for i, (x, y) in enumerate(batches(split.x_train, split.y_train, batch_size, True,
                                           seed + epoch)):
            losses.append(step(model, x.to(device), y.to(device), optimizer))
            if progress:
                progress((epoch + (i + 1) / n_batches) / epochs,
                         f"epoch {epoch + 1}/{epochs} loss {sum(losses) / len(losses):.3f}")
        history.append(sum(losses) / len(losses))
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, forward: Forward, batch_size: int = 512,
            device: torch.device | None = None) -> Tensor:
    """Concatenated `forward` outputs over `x`, in eval mode and without gradients."""
    device = device or torch.device("cpu")
    model.to(device).eval()
    outs = [forward(model, xb.to(device)).cpu()
            for xb, _ in batches(x, torch.zeros(len(x)), batch_size)]
    return torch.cat(outs, dim=-2 if outs[0].dim() == 3 else 0)
