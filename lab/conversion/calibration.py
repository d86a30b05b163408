"""Calibration on held-out images: thresholds by percentile, and σ of the residual noise.

The gap of a layer is (SNN rate − ANN activation)/θ, pooled over neurons and images. Both
networks see the same images, as in the authors' code: a layer's gap holds its own residual
error and the error it inherits from the layers before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ..core import data, encoding, models
from .activations import ResidualNoise
from .convert import activation_layers, convert, evaluating, recording_outputs
from .graph import layout


def threshold_balance(ann: nn.Module, x: Tensor, percentile: float = 99.9,
                      batch_size: int = 256) -> list[float]:
    """θ per activation layer: the `percentile` of its positive outputs on `x` (100: the max).

    Robust normalization (Rueckauer et al. 2017); silent outputs are left out, as in their
    toolbox. 99.9 accepts a little clipping for a finer rate resolution θ/T. A layer that is
    silent on all of `x` gets θ = 1.
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    lay = layout(ann)  # what `ann` computes, one activation module per IF layer
    acts = lay.activations
    positive: list[list[Tensor]] = [[] for _ in acts]
    with evaluating(ann), evaluating(lay.ann), recording_outputs(acts) as slots:
        for xb, _ in data.batches(x, torch.zeros(len(x)), batch_size):
            lay.ann(xb.to(models.device_of(ann)))
            for i, (_, out) in enumerate(slots):
                positive[i].append(out[out > 0].cpu())
    values = [torch.cat(p).numpy() for p in positive]
    return [float(np.percentile(v, percentile)) if v.size else 1.0 for v in values]


@dataclass(frozen=True)
class Gap:
    """Mean and std of one layer's gap, SNN rate − ANN activation, in units of its θ."""

    mean: float
    std: float


def residual_gap(ann: nn.Module, snn: nn.Module, x: Tensor, timesteps: int,
                 batch_size: int = 256) -> list[Gap]:
    """Per layer, the gap between the SNN's rate over T steps and the ANN's activation.

    Both networks see the same images, as in the authors' code: a layer's gap holds its own
    residual error and the error it inherits. Statistics pool every neuron and image.
    """
    encoding.check_timesteps(timesteps)
    lay = layout(ann)  # what `ann` computes, one activation module per IF layer
    acts, spiking = lay.activations, models.spiking_layers(snn)
    if len(acts) != len(spiking):
        raise ValueError(f"snn has {len(spiking)} IF layers, ann has {len(acts)} activations: "
                         "pass the SNN converted from this ann")
    sums = torch.zeros(len(acts), 3, dtype=torch.float64)  # Σg, Σg², count
    snn.to(models.device_of(ann))
    with (evaluating(ann), evaluating(lay.ann), evaluating(snn), recording_outputs(acts) as a,
          recording_outputs(spiking) as s):
        for xb, _ in data.batches(x, torch.zeros(len(x)), batch_size):
            xb = xb.to(models.device_of(ann))
            lay.ann(xb)
            snn(encoding.direct(xb, timesteps))
            for i in range(len(acts)):
                g = (s[i][1].mean(0) - a[i][1]).double() / float(spiking[i].threshold)
                sums[i] += torch.stack([g.sum(), (g**2).sum(), torch.tensor(g.numel())])
    mean = sums[:, 0] / sums[:, 2]
    std = (sums[:, 1] / sums[:, 2] - mean**2).clamp(min=0).sqrt()
    return [Gap(float(m), float(d)) for m, d in zip(mean, std, strict=True)]


def fit_noise(ann: nn.Module, x: Tensor, timesteps: int, v_init: float = 0.5,
              use_mean: bool = False) -> list[Gap]:
    """Set σ (and μ if `use_mean`) of every ResidualNoise layer to the gap measured at T."""
    gaps = residual_gap(ann, convert(ann, v_init=v_init), x, timesteps)
    for layer, g in zip(activation_layers(ann), gaps, strict=True):
        if isinstance(layer, ResidualNoise):
            layer.set_noise(std=g.std, mean=g.mean if use_mean else 0.0)
    return gaps
