"""The one training loop: mini-batch Adam, with hooks for what differs between methods.

Methods differ in `forward(model, x) -> output` (how the input is encoded and read out), in
`loss(output, y) -> scalar` (default: cross-entropy; e.g. a loss at every step of a rollout) and,
for a step that is not one forward and one backward, in `step(model, x, y, optimizer) -> loss`
(truncated or local backprop). A `Recipe` picks the optimizer and its schedule (the lab's Adam
at a constant rate, or the residual-noise authors' SGD with a cosine schedule), and `augment`
transforms each training batch (`lab.core.augment`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch._dynamo  # noqa: F401  the first optimizer imports it (seconds): not a training cost
import torch.nn.functional as F
from torch import Tensor, nn

from .data import Split, batches

Forward = Callable[[nn.Module, Tensor], Tensor]
Loss = Callable[[Tensor, Tensor], Tensor]
Progress = Callable[[float, str], None]
Augment = Callable[[Tensor, torch.Generator], Tensor]


@dataclass(frozen=True)
class Recipe:
    """The optimizer and the learning-rate schedule around the loop's learning rate η.

    adam: Adam(η). sgd: SGD(η, momentum, weight_decay). constant: η every epoch. cosine:
    η_e = η·(1 + cos(π·e/E))/2 for epoch e of E (`CosineAnnealingLR(T_max=E)`, stepped per epoch).
    """

    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: Literal["constant", "cosine"] = "constant"

    def build(self, model: nn.Module, lr: float, epochs: int
              ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
        """The optimizer over `model`'s parameters, and the per-epoch scheduler (or None)."""
        if self.optimizer == "adam":
            optimizer = torch.optim.Adam(model.parameters(), lr=lr,
                                         weight_decay=self.weight_decay)
        else:
            optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=self.momentum,
                                        weight_decay=self.weight_decay)
        scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
                     if self.schedule == "cosine" else None)
        return optimizer, scheduler


# The residual-noise authors' train_ann (hzp2022/ANN2SNN_NQ, NetworkFunction.py): SGD, momentum
# 0.9, weight decay 5e-4, cosine annealing over all epochs; their learning rate is 0.05.
RECIPES = {"lab": Recipe(), "authors": Recipe("sgd", 0.9, 5e-4, "cosine")}


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
          progress: Progress | None = None, recipe: Recipe = RECIPES["lab"],
          augment: Augment | None = None,
          epoch_end: Callable[[nn.Module, int], None] | None = None) -> list[float]:
    """Train `model` on `split`'s training set; returns the mean loss of each epoch.

    `recipe` picks the optimizer and schedule (default: Adam at `lr`); `augment(x, generator)`
    transforms each training batch on the device, with a generator seeded from `seed`;
    `epoch_end(model, epoch)` runs after each epoch (e.g. to keep the best checkpoint).
    """
    seed_everything(seed)
    device = device or torch.device("cpu")
    model.to(device).train()
    optimizer, scheduler = recipe.build(model, lr, epochs)
    generator = torch.Generator().manual_seed(seed)
    step = step or default_step(forward, loss)
    n_batches = -(-len(split.y_train) // batch_size)
    history = []
    for epoch in range(epochs):
        losses = []
        for i, (x, y) in enumerate(batches(split.x_train, split.y_train, batch_size, True,
                                           seed + epoch)):
            x = x.to(device)
            if augment is not None:
                x = augment(x, generator)
            losses.append(step(model, x, y.to(device), optimizer))
            if progress:
                progress((epoch + (i + 1) / n_batches) / epochs,
                         f"epoch {epoch + 1}/{epochs} loss {sum(losses) / len(losses):.3f}")
        history.append(sum(losses) / len(losses))
        if scheduler is not None:
            scheduler.step()
        if epoch_end is not None:
            epoch_end(model, epoch)
            model.train()
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
