"""One metric vocabulary: every stored metric and curve, its unit and its axis label.

A name means one thing everywhere it is stored or shown, and its label says which split it comes
from: accuracies are on the test set (read once, for the reported number); every choice, such
as "the first T within 1 point", is made on the validation set (docs/methods.md §6). Where a metric
is relative to something, the name says to what (`timesteps_within_1pt_of_ann`). The dashboard
and the notebooks read labels and units from `METRICS` and `CURVES`; a method may store only
names listed here (tested).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


def timesteps_within(curve: Sequence[float] | Tensor, reference: float,
                     points: float = 1.0) -> int | None:
    """The smallest T from which accuracy stays ≥ reference − points up to the curve's end.

    `curve[T − 1]` is the accuracy (%) after T steps; None when the last step is below.

    Example:
        >>> timesteps_within([50.0, 95.0, 93.0, 96.0], reference=96.0)
        4
    """
    values = torch.as_tensor(curve, dtype=torch.float64)
    if values.numel() == 0:
        return None
    ok = (values >= reference - points).flip(0).cumprod(0).flip(0)
    return int(ok.argmax()) + 1 if bool(ok.any()) else None


@dataclass(frozen=True)
class Metric:
    """A stored scalar: its unit (empty: a count or ratio) and a label for tables and axes."""

    label: str
    unit: str = ""

    @property
    def axis(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(frozen=True)
class Curve:
    """A stored list: what its values are and what its index (or `x` curve) is."""

    y: Metric
    x_label: str
    x: str | None = None  # name of the stored curve holding the x values, if not 1, 2, 3, ...


_PCT = "%"
METRICS: dict[str, Metric] = {
    "accuracy": Metric("test accuracy at the config's T", _PCT),
    "ann_accuracy": Metric("source ANN test accuracy", _PCT),
    "ann_accuracy_noise_on": Metric("source ANN test accuracy with its residual noise on (the "
                                    "authors' ANN column)", _PCT),
    "accuracy_t1": Metric("test accuracy of the T = 1 network", _PCT),
    "best_accuracy": Metric("best test accuracy over T", _PCT),
    "timesteps": Metric("timesteps T (the config's)", "steps"),
    "checkpoint_epoch": Metric("epoch of the network kept (last, or best SNN on validation)",
                               "epochs"),
    "timesteps_within_1pt_of_ann": Metric("first T from which validation accuracy stays "
                                          "within 1 point of the ANN's", "steps"),
    "timesteps_within_1pt_of_best": Metric("first T from which validation accuracy stays "
                                           "within 1 point of its best", "steps"),
    "truncation_length": Metric("truncation length K", "steps"),
    "block_size": Metric("block size", "weight layers"),
    "final_loss": Metric("training loss, last epoch"),
    "full_sequence_loss": Metric("training-set loss of the rate readout over all T, after "
                                 "training"),
    "macs": Metric("MACs per sample"),
    "sops": Metric("synaptic operations per sample"),
    "spikes": Metric("spikes per sample"),
    "energy_pj": Metric("estimated energy per sample", "pJ"),
    "ann_macs": Metric("source ANN MACs per sample"),
    "saved_bytes": Metric("bytes saved for backward, one training step", "bytes"),
    "step_peak_bytes": Metric("training step peak (params, grads, optimizer, saved)", "bytes"),
    "cuda_peak_bytes": Metric("CUDA max allocated over one training step", "bytes"),
    "inference_bytes": Metric("inference memory (params + largest layer in/out)", "bytes"),
    "bptt_saved_bytes": Metric("BPTT bytes saved for backward, one training step", "bytes"),
    "bptt_step_peak_bytes": Metric("BPTT training step peak", "bytes"),
    "saved_bytes_ratio": Metric("bytes saved for backward, TTL over BPTT"),
    "step_peak_ratio": Metric("training step peak, TTL over BPTT"),
    "train_macs": Metric("training-step MACs per sample"),
    "train_macs_forward": Metric("training-step forward MACs per sample"),
    "train_macs_backward": Metric("training-step backward MACs per sample"),
    "train_macs_local": Metric("training-step local-classifier MACs per sample"),
    "bptt_train_macs": Metric("BPTT training-step MACs per sample"),
    "train_macs_ratio": Metric("training-step MACs, TTL over BPTT"),
    "first_step": Metric("first step whose output can have seen frame 0", "frame steps"),
    "first_useful_step_ann": Metric("ANN: first step better than chance", "frame steps"),
    "first_useful_step_snn": Metric("SNN: first step better than chance", "frame steps"),
    "chance_accuracy": Metric("chance accuracy (most frequent class)", _PCT),
    "chance_bar": Metric("chance + its 99% binomial margin", _PCT),
    "snn_ops": Metric("SNN operations per sample (input MACs + SOPs + membrane updates)"),
    "membrane_updates": Metric("SNN membrane updates per sample"),
    "ann_accuracy_running": Metric("ANN test accuracy at the last step, running readout", _PCT),
    "ops_ratio": Metric("SNN operations over ANN MACs"),
}
for _T in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
    METRICS[f"accuracy_T{_T}"] = Metric(f"test accuracy at T = {_T}", _PCT)
    METRICS[f"conversion_loss_T{_T}"] = Metric(f"conversion loss at T = {_T}: source ANN − SNN "
                                               "test accuracy", "points")

CURVES: dict[str, Curve] = {
    "accuracy_per_timestep": Curve(Metric("test accuracy", _PCT), "timesteps T"),
    "accuracy_per_step_ann": Curve(Metric("ANN test accuracy", _PCT), "frame step t"),
    "accuracy_per_step_ann_running": Curve(Metric("ANN test accuracy, running readout", _PCT),
                                           "frame step t"),
    "accuracy_per_step_snn": Curve(Metric("SNN test accuracy", _PCT), "frame step t"),
    "accuracy_per_step_snn_window": Curve(Metric("SNN test accuracy, window readout", _PCT),
                                          "frame step t"),
    "spikes_per_sample_per_layer": Curve(Metric("spikes per sample"), "layer"),
    "timesteps_grid": Curve(Metric("timesteps T", "steps"), "index"),
    "sops_per_sample": Curve(Metric("synaptic operations per sample"), "timesteps T",
                             x="timesteps_grid"),
    "ann_macs_per_step": Curve(Metric("ANN MACs per sample"), "frame step t"),
    "snn_ops_per_step": Curve(Metric("SNN operations per sample"), "frame step t"),
    "loss_per_epoch": Curve(Metric("training loss"), "epoch"),
    "threshold_per_layer": Curve(Metric("threshold θ"), "layer"),
    "noise_std_per_layer": Curve(Metric("noise σ", "θ"), "layer"),
    "gap_mean_per_layer": Curve(Metric("gap mean, SNN rate − ANN, at the T σ is fitted at, "
                                       "validation images", "θ"), "layer"),
    "gap_std_per_layer": Curve(Metric("gap std, SNN rate − ANN, at the T σ is fitted at, "
                                      "validation images", "θ"), "layer"),
    "held_bytes_per_segment": Curve(Metric("bytes saved for backward", "bytes"), "segment"),
}
for _T in (1, 2, 4):  # the conversion gap measured at low T on the test images
    CURVES[f"gap_mean_per_layer_T{_T}"] = Curve(
        Metric(f"gap mean at T = {_T}, SNN rate − ANN, test images", "θ"), "layer")
    CURVES[f"gap_std_per_layer_T{_T}"] = Curve(
        Metric(f"gap std at T = {_T}, SNN rate − ANN, test images", "θ"), "layer")
_LAYER_CURVES = {
    "residual_outside_fraction": Metric("fraction with v[T] outside [0, θ)"),
    "misrepresented_fraction": Metric("fraction whose spike count is misrepresented"),
    "spikes_per_sample": Metric("spikes per sample"),
}
_LAYER = re.compile(r"^(?P<base>.+)_layer(?P<n>\d+)$")


def curve(name: str) -> Curve:
    """The `Curve` of a stored curve name (per-layer names `..._layerN` included)."""
    if name in CURVES:
        return CURVES[name]
    m = _LAYER.match(name)
    if m and m["base"] in _LAYER_CURVES:
        y = _LAYER_CURVES[m["base"]]
        return Curve(Metric(f"{y.label}, layer {m['n']}", y.unit), "timesteps T")
    raise KeyError(f"{name!r} is not a known curve: add it to lab.core.metrics.CURVES")


def metric(name: str) -> Metric:
    """The `Metric` of a stored metric name."""
    if name in METRICS:
        return METRICS[name]
    raise KeyError(f"{name!r} is not a known metric: add it to lab.core.metrics.METRICS")
