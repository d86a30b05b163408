"""Training-time augmentation of image batches `[B, C, H, W]`, on whatever device they are on.

The residual-noise authors' CIFAR pipeline (their dataprocess.py) is: random crop with 4 pixels
of zero padding, horizontal flip with probability 1/2, an AutoAugment policy, normalisation and
Cutout (one 16×16 hole). The lab applies the crop, the flip and the Cutout to tensors; the
AutoAugment policy (PIL operations) and the normalisation are left out — a difference to expect
in the ANN's accuracy, said where the preset is described (README).

Randomness comes from a CPU `torch.Generator` the training loop seeds, so a run is repeatable
on any device.

Example:
    >>> g = torch.Generator().manual_seed(0)
    >>> crop_flip_cutout(torch.rand(8, 3, 32, 32), g).shape
    torch.Size([8, 3, 32, 32])
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

PADDING = 4  # pixels of zero padding before the random 32×32 crop
CUTOUT = 16  # side of the one square hole (Cutout, DeVries & Taylor 2017), as the authors


def crop_flip_cutout(x: Tensor, generator: torch.Generator, padding: int = PADDING,
                     cutout: int = CUTOUT) -> Tensor:
    """Per image: a random H×W crop of x zero-padded by `padding`, a horizontal flip with
    probability 1/2, then a `cutout`×`cutout` square (centre anywhere, clipped) set to 0
    (`cutout=0`: none). x `[B, C, H, W]` → the same shape, on x's device."""
    b, _, h, w = x.shape
    shift = torch.randint(0, 2 * padding + 1, (2, b), generator=generator).to(x.device)
    flip = (torch.rand(b, generator=generator) < 0.5).to(x.device)
    centre = torch.stack([torch.randint(0, h, (b,), generator=generator),
                          torch.randint(0, w, (b,), generator=generator)]).to(x.device)
    padded = F.pad(x, (padding,) * 4)
    rows = shift[0, :, None] + torch.arange(h, device=x.device)  # [B, H]
    cols = shift[1, :, None] + torch.arange(w, device=x.device)  # [B, W]
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # [B,C,H,W]
    if cutout > 0:  # rows and columns [centre − cutout/2, centre + cutout/2), as the authors'
        half = cutout // 2
        d_r = torch.arange(h, device=x.device)[None, :] - centre[0, :, None]  # [B, H]
        d_c = torch.arange(w, device=x.device)[None, :] - centre[1, :, None]  # [B, W]
        rows_in, cols_in = (d_r >= -half) & (d_r < half), (d_c >= -half) & (d_c < half)
        out = out * ~(rows_in[:, :, None] & cols_in[:, None, :])[:, None]
    return out.contiguous()
