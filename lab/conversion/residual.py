"""The residual membrane potential, measured: accuracy at every T and, per layer, how many
neurons end with v[T] outside [0, θ) and how many spike counts it misrepresents.

Summing the IF equations over t = 1..T gives, per neuron, with the rate r = θ·Σs/T
(docs/methods.md §1):  r = mean(I) − (v[T] − v[0]) / T. While v[T] stays in [0, θ) the rate is the
ANN's activation clipped and quantized; spikes that arrive unevenly push v[T] out of [0, θ),
and the spike count then misrepresents the input — the residual error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..core import data, encoding, grid, measure, metrics, models
from ..core.neurons import SpikingNeuron, recording
from .convert import evaluating

TIMESTEPS = (1, 2, 4, 8, 16, 32, 64)
HISTOGRAM_RANGE = (-2.0, 3.0)  # v[T]/θ
HISTOGRAM_BINS = 50


def ideal_spike_count(total_input: Tensor | float, timesteps: int, threshold: float = 1.0,
                      v_init: float = 0.5) -> Tensor:
    """clip(⌊ΣI/θ + v_init⌋, 0, T): the spikes of an IF neuron whose input ΣI arrives evenly.

    `v_init` in units of θ. Any other count leaves v[T] outside [0, θ) (misrepresentation).
    """
    return torch.clamp(torch.floor(torch.as_tensor(total_input) / threshold + v_init), 0,
                       timesteps)


@dataclass
class LayerRecord:
    """One IF layer at every T ≤ T_max: fractions over its neurons, counts per sample."""

    outside: Tensor  # [T] fraction with v[T] ∉ [0, θ)
    misrepresented: Tensor  # [T] fraction whose spike count ≠ the count for even arrival
    spikes_per_sample: Tensor  # [T] spikes emitted in steps 1..T
    histograms: dict[int, Tensor]  # T → counts of v[T]/θ over HISTOGRAM_RANGE, unclipped neurons


@dataclass
class Simulation:
    """Accuracy (%) of the readout averaged over steps 1..T, for every T ≤ T_max, per layer."""

    accuracy: Tensor
    layers: list[LayerRecord]

    def accuracy_at(self, timesteps: int) -> float:
        return float(self.accuracy[timesteps - 1])

    def timesteps_within(self, reference: float, points: float = 1.0) -> int | None:
        """`metrics.timesteps_within` of this accuracy curve."""
        return metrics.timesteps_within(self.accuracy, reference, points)


def histogram_edges() -> Tensor:
    return grid.linspace(*HISTOGRAM_RANGE, HISTOGRAM_BINS + 1, torch.float32)


def _layer_statistics(neuron: SpikingNeuron, grid: Sequence[int]) -> list[Tensor]:
    """Sums over a batch: outside, misrepresented, spikes per T, then a histogram per `grid` T.

    Reads the neuron's last run (spikes and the trace of v, kept by `neurons.recording`).
    With n[t] spikes so far, v[t] < 0 with n = 0 or v[t] ≥ θ with n = t is clipping, not
    misrepresentation: only the rest changes the count from clip(⌊(v[0] + ΣI)/θ⌋, 0, t).
    Step by step, so that no [T, B, ...] temporaries are made (they cost more than the SNN).
    """
    theta = float(neuron.threshold)
    spikes, v = neuron.last.spikes, neuron.last.v_trace
    sums, hists = torch.zeros(3, len(v), dtype=torch.float64), []
    n = torch.zeros_like(v[0])
    for t in range(len(v)):
        n += spikes[t] != 0
        below, above = v[t] < 0, v[t] >= theta
        wrong = (below & (n > 0)) | (above & (n <= t))
        sums[:, t] = torch.stack([below.sum() + above.sum(), wrong.sum(), n.sum()]).double()
        if t + 1 in grid:
            shown = v[t][~(below | above) | wrong] / theta
            hists.append(torch.histc(shown.clamp(*HISTOGRAM_RANGE).float().cpu(),
                                     HISTOGRAM_BINS, *HISTOGRAM_RANGE))
    return [*sums, *hists]


def simulate_accuracy(snn: nn.Module, x: Tensor, y: Tensor, timesteps_max: int,
                      batch_size: int | None = None) -> Simulation:
    """One simulation to T_max (direct input) gives the accuracy and residuals at every T."""
    encoding.check_timesteps(timesteps_max)
    batch_size = batch_size or max(1, 2048 // timesteps_max)
    grid = [T for T in TIMESTEPS if T < timesteps_max] + [timesteps_max]
    outputs = []
    device = models.device_of(snn)
    with evaluating(snn), recording(snn) as layers:
        sums: list[list] = [[] for _ in layers]  # outside, misrepresented, spikes, *histograms
        neurons_per_sample = [0] * len(layers)
        for xb, _ in data.batches(x, y, batch_size):
            outputs.append(snn(encoding.direct(xb.to(device), timesteps_max)).cpu())
            for i, layer in enumerate(layers):
                stats = _layer_statistics(layer, grid)
                sums[i] = [a + b for a, b in zip(sums[i], stats, strict=True)] if sums[i] else stats
                neurons_per_sample[i] = layer.last.spikes[0, 0].numel()
    records = [LayerRecord(s[0] / (len(x) * n), s[1] / (len(x) * n), s[2] / len(x),
                           dict(zip(grid, s[3:], strict=True)))
               for s, n in zip(sums, neurons_per_sample, strict=True)]
    return Simulation(measure.accuracy_per_timestep(torch.cat(outputs, 1), y), records)
