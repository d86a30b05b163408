"""BatchNorm folded into the Linear or Conv2d before it, so the converted SNN has none.

In eval mode a BatchNorm is an affine map per channel c, with running mean μ, variance σ²,
scale γ and shift β:  BN(u) = γ·(u − μ)/√(σ² + ε) + β. Applied to u = W·x + b it is again a
weight layer,

    W' = W · γ/√(σ² + ε)   (row c of W, or output channel c of a conv)
    b' = (b − μ) · γ/√(σ² + ε) + β

so folding changes no output of the eval-mode ANN (up to rounding) and the IF neurons see the
same currents. A BatchNorm that does not follow a Linear or Conv2d directly has nothing to fold
into and is refused by name. Residual blocks are folded inside: their branch and shortcut each.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..core.resnet import ResidualBlock

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_FOLDS_INTO = {nn.BatchNorm1d: nn.Linear, nn.BatchNorm2d: nn.Conv2d}


def fold_layer(layer: nn.Linear | nn.Conv2d, norm: nn.BatchNorm1d | nn.BatchNorm2d
               ) -> nn.Linear | nn.Conv2d:
    """A copy of `layer` with `norm` (its running statistics, eval mode) folded in."""
    if not norm.track_running_stats or norm.running_var is None:
        raise TypeError(f"{type(norm).__name__} without running statistics cannot be folded: "
                        "its output depends on the batch")
    folded = copy.deepcopy(layer)
    with torch.no_grad():
        scale = torch.rsqrt(norm.running_var + norm.eps)
        if norm.affine:
            scale = scale * norm.weight
        shift = -norm.running_mean * scale + (norm.bias if norm.affine else 0.0)
        bias = layer.bias if layer.bias is not None else torch.zeros_like(norm.running_mean)
        folded.weight.mul_(scale.reshape(-1, *[1] * (layer.weight.dim() - 1)))
        folded.bias = nn.Parameter(bias * scale + shift)
    return folded


def fold_batch_norm(ann: nn.Sequential, prefix: str = "") -> nn.Sequential:
    """`ann` with every BatchNorm folded into the weight layer right before it (a new network).

    Raises TypeError naming a BatchNorm that does not directly follow a Linear (BatchNorm1d) or
    Conv2d (BatchNorm2d). Without BatchNorm the layers come back as they are (not copied).
    `prefix` names the layers of a block's branch or shortcut in that message.
    """
    layers: list[nn.Module] = []
    previous = None
    for name, module in ann.named_children():
        if isinstance(module, ResidualBlock):
            layers.append(ResidualBlock(
                fold_batch_norm(module.branch, f"{prefix}{name}.branch."),
                fold_batch_norm(module.shortcut, f"{prefix}{name}.shortcut."),
                module.activation))
        elif isinstance(module, NORMS):
            wanted = _FOLDS_INTO[type(module)]
            if not isinstance(previous, wanted):
                before = type(previous).__name__ if previous is not None else "nothing"
                raise TypeError(f"layer {prefix}{name} ({type(module).__name__}) cannot be "
                                f"folded: it must directly follow a {wanted.__name__}, "
                                f"not {before}")
            layers[-1] = fold_layer(previous, module)
        else:
            layers.append(module)
        previous = module
    return nn.Sequential(*layers)
