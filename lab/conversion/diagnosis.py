"""Where a converted network loses accuracy, layer by layer, and what to change.

For every IF layer l with threshold θ, on labelled validation images, the ANN's activation a
(and its input z) against the SNN's rate after T steps, r_T = θ·Σ_{t≤T} s[t] / T:

    gap        (r_T − a) / θ, its mean and std over neurons and images, at every T
    clipped    the fraction of ANN inputs z > θ: no rate can exceed θ (threshold too low)
    silent     of the neurons the ANN has active (a > 0), the fraction with no spike by T
               (threshold too high for T, or quantization: a < θ/T rounds to 0)
    floor      the gap std at T = L of a QCFS layer: QCFS has no quantization error at T = L
               (docs/methods.md §1: the IF rate equals QCFS(z) for constant input), so what
               remains is the residual error of uneven input and what the layer inherits
    compounds  the first layer from which every deeper layer's gap std exceeds the first
               layer's (fed by the image directly: no residual error) by more than 0.02 θ

and the accuracy at every T. A recommendation — the threshold percentile (threshold
balancing; `None` keeps a trained λ), v_init, and the smallest T within 1 point of the ANN — is
chosen among candidates by the mean accuracy over the T measured (on a grid that doubles T,
each doubling of latency counts once; ties: the smaller T within 1 point) and stated with its
measured effect. θ is calibrated on the first half of `calibration_data`, everything is
measured and chosen on the second half (the validation images); confirm on test images.

Example (an untrained MLP on random images; `print(report)` shows the tables):
    >>> from lab.core import models
    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = torch.rand(64, 1, 8, 8, generator=g), torch.randint(0, 10, (64,), generator=g)
    >>> report = diagnose(models.build("mlp", (1, 8, 8), 10, width=8), (x, y), timesteps=(1, 4))
    >>> [layer.name for layer in report.layers], report.timesteps, len(report.candidates)
    (['2 (ReLU)', '4 (ReLU)'], (1, 4), 8)
    >>> str(report).splitlines()[1].split(".  ")[0]
    "Setting: θ = 99.9th percentile of the ANN's activations, v[0] = 0.5·θ"
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..core import data, encoding, measure, metrics, models
from .activations import QCFS
from .calibration import threshold_balance
from .convert import convert, evaluating, recording_outputs
from .graph import layout

TIMESTEPS = (1, 2, 4, 8, 16, 32, 64)
PERCENTILES = (99.0, 99.9, 99.99, 100.0)  # threshold balancing's candidates (Rueckauer 2017)
V_INITS = (0.0, 0.5)  # v[0] in units of θ: classic threshold balancing, QCFS's shift
POINTS = 1.0  # "within 1 point of the ANN"
COMPOUNDING = 0.02  # θ: a gap std this far above the first layer's counts as compounded


@dataclass(frozen=True)
class Setting:
    """One way to convert: θ by `percentile` (None: the trained λ), v[0] = v_init·θ."""

    percentile: float | None
    v_init: float
    thresholds: tuple[float, ...]
    accuracy: dict[int, float]  # T → validation accuracy (%)
    timesteps_within: int | None  # smallest T within POINTS of the ANN (None: not by T_max)
    given: bool = False  # thresholds handed over by the caller

    def describe(self) -> str:
        theta = ("θ as given" if self.given else "θ = trained λ" if self.percentile is None
                 else f"θ = {self.percentile:g}th percentile of the ANN's activations")
        return f"{theta}, v[0] = {self.v_init:g}·θ"


@dataclass(frozen=True)
class LayerDiagnosis:
    """One IF layer: where it came from, θ, and its error at every T."""

    name: str
    threshold: float
    gap_mean: dict[int, float]
    gap_std: dict[int, float]
    clipped: float  # fraction of ANN inputs above θ
    silent: dict[int, float]  # T → fraction of ANN-active neurons without a spike by T
    levels: int | None = None  # L of a QCFS layer
    floor: float | None = None  # gap std at T = L (QCFS layers, L ≤ T_max)


@dataclass(frozen=True)
class Diagnosis:
    """The per-layer errors and accuracy of the current setting, and the recommendation."""

    model: str
    timesteps: tuple[int, ...]
    ann_accuracy: float
    current: Setting
    recommended: Setting
    candidates: tuple[Setting, ...]
    layers: tuple[LayerDiagnosis, ...]
    calibration_samples: int
    validation_samples: int
    compounds_from: dict[int, int | None] = field(default_factory=dict)  # T → layer index

    @property
    def accuracy(self) -> dict[int, float]:
        return self.current.accuracy

    def __str__(self) -> str:
        return report(self)


def diagnose(model: nn.Module, calibration_data: object,
             timesteps: Sequence[int] = TIMESTEPS, *, thresholds: Sequence[float] | None = None,
             percentile: float = 99.9, v_init: float = 0.5,
             percentiles: Sequence[float] = PERCENTILES, v_inits: Sequence[float] = V_INITS,
             validation_data: object | None = None) -> Diagnosis:
    """Diagnose the conversion of `model` (any model `convert` takes) on labelled images.

    `calibration_data`: `(x, y)` tensors, or an iterable of `(x, y)` batches (a DataLoader).
    Without `validation_data` its first half calibrates θ and its second half is the
    validation set. The current setting is `thresholds` if given, else the trained λ where
    every activation has one, else threshold balancing at `percentile`; v[0] = `v_init`·θ.
    """
    grid = _grid(timesteps)
    x, y = _tensors(calibration_data, "calibration_data")
    if validation_data is None:
        if len(x) < 2:
            raise ValueError(f"calibration_data needs at least 2 images, got {len(x)}")
        half = len(x) // 2
        (x_cal, x_val), (y_val,) = (x[:half], x[half:]), (y[half:],)
    else:
        x_cal, (x_val, y_val) = x, _tensors(validation_data, "validation_data")
    lay = layout(model)
    acts = lay.activations
    trained = all(isinstance(getattr(a, "threshold", None), Tensor) for a in acts)
    levels = {a.levels for a in acts if isinstance(a, QCFS)}
    grid = tuple(sorted(set(grid) | levels))  # the floor is read at T = L
    _check_settings(percentile, v_init, percentiles, v_inits)
    with evaluating(model):
        ann_accuracy = measure.accuracy(_predict(lay.ann, x_val), y_val)

    def setting(p: float | None, v0: float, given: Sequence[float] | None = None) -> Setting:
        theta = given if given is not None else (
            [float(a.threshold.detach()) for a in acts] if p is None
            else threshold_balance(model, x_cal, p))
        curve = _accuracy(convert(model, theta, v0), x_val, y_val, grid[-1])
        return Setting(p, v0, tuple(float(t) for t in theta),
                       {T: float(curve[T - 1]) for T in grid},
                       metrics.timesteps_within(curve, ann_accuracy, POINTS), given is not None)

    if thresholds is not None:
        current = setting(None, v_init, thresholds)
    else:
        current = setting(None if trained else percentile, v_init)
    candidates = [current]
    for p in ([None] if trained else list(percentiles)):
        for v0 in v_inits:
            if (p, v0) != (current.percentile, current.v_init) or current.given:
                candidates.append(setting(p, v0))
    best = min(candidates, key=lambda s: (-sum(s.accuracy.values()),
                                          s.timesteps_within or math.inf))
    layers = _layers(lay, model, convert(model, list(current.thresholds), current.v_init),
                     x_val, grid)
    compounds = {T: _compounds_from([layer.gap_std[T] for layer in layers]) for T in grid}
    return Diagnosis(type(model).__name__, grid, ann_accuracy, current, best,
                     tuple(candidates), tuple(layers), len(x_cal), len(x_val), compounds)


def evaluate(model: nn.Module, setting: Setting, data_xy: object,
             timesteps: Sequence[int] = TIMESTEPS) -> dict[int, float]:
    """Accuracy (%) at every T of `timesteps` of `model` converted with `setting`'s θ and
    v_init, on `data_xy` ((x, y) or batches): to confirm a recommendation on test images."""
    grid = _grid(timesteps)
    x, y = _tensors(data_xy, "data_xy")
    curve = _accuracy(convert(model, list(setting.thresholds), setting.v_init), x, y, grid[-1])
    return {T: float(curve[T - 1]) for T in grid}


def _grid(timesteps: Sequence[int]) -> tuple[int, ...]:
    values = sorted({int(T) for T in timesteps})
    if not values or values[0] < 1 or any(int(T) != T for T in timesteps):
        raise ValueError(f"timesteps must be integers ≥ 1, got {list(timesteps)}")
    return tuple(values)


def _check_settings(percentile: float, v_init: float, percentiles: Sequence[float],
                    v_inits: Sequence[float]) -> None:
    for p in (percentile, *percentiles):
        if not 0 < p <= 100:
            raise ValueError(f"percentile must be in (0, 100], got {p}")
    for v in (v_init, *v_inits):
        if not 0 <= v < 1:
            raise ValueError(f"v_init must be in [0, 1) (units of θ), got {v}")


def _tensors(source: object, name: str) -> tuple[Tensor, Tensor]:
    """(x, y) from a pair of tensors or an iterable of (x, y) batches."""
    if isinstance(source, (tuple, list)) and len(source) == 2 and all(
            isinstance(t, Tensor) for t in source):
        x, y = source
    elif isinstance(source, Iterable):
        pairs = list(source)
        if not pairs or not all(isinstance(p, (tuple, list)) and len(p) >= 2 for p in pairs):
            raise ValueError(f"{name} must be (x, y) tensors or batches of (x, y)")
        x, y = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
    else:
        raise ValueError(f"{name} must be (x, y) tensors or batches of (x, y), "
                         f"got {type(source).__name__}")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{name}: x and y need the same, non-zero length; got {len(x)} and "
                         f"{len(y)}")
    return x, y


def _batch(timesteps: int) -> int:
    return max(8, 4096 // timesteps)


@torch.no_grad()
def _predict(ann: nn.Module, x: Tensor) -> Tensor:
    device = models.device_of(ann)
    return torch.cat([ann(xb.to(device)).cpu() for xb, _ in
                      data.batches(x, torch.zeros(len(x)), 512)])


def _accuracy(snn: nn.Module, x: Tensor, y: Tensor, t_max: int) -> Tensor:
    """Accuracy (%) of the running mean readout at every T ≤ T_max `[T_max]`: one run."""
    outs = []
    with evaluating(snn):
        for xb, _ in data.batches(x, y, _batch(t_max)):
            outs.append(snn(encoding.direct(xb.to(models.device_of(snn)), t_max)).cpu())
    return measure.accuracy_per_timestep(torch.cat(outs, 1), y)


def _layers(lay, model: nn.Module, snn: nn.Module, x: Tensor, grid: tuple[int, ...]
            ) -> list[LayerDiagnosis]:
    """Per IF layer: gap sums per T, clipped and silent counts, in one run to T_max."""
    acts, spiking, t_max = lay.activations, models.spiking_layers(snn), grid[-1]
    n = len(acts)
    gap = torch.zeros(n, len(grid), 3, dtype=torch.float64)  # Σg, Σg², count
    silent = torch.zeros(n, len(grid), dtype=torch.float64)
    active = torch.zeros(n, dtype=torch.float64)
    clipped = torch.zeros(n, 2, dtype=torch.float64)
    device = models.device_of(model)
    with (evaluating(model), evaluating(lay.ann), evaluating(snn),
          recording_outputs(acts) as a, recording_outputs(spiking) as s):
        for xb, _ in data.batches(x, torch.zeros(len(x)), _batch(t_max)):
            xb = xb.to(device)
            lay.ann(xb)
            snn(encoding.direct(xb, t_max))
            for i in range(n):
                theta = float(spiking[i].threshold)
                z, act = a[i][0].double(), a[i][1].double()
                count = s[i][1].double().cumsum(0)  # θ·(spikes so far) [T_max, B, ...]
                on = act > 0
                active[i] += on.sum()
                clipped[i] += torch.stack([(z > theta).sum(), torch.tensor(z.numel())])
                for k, T in enumerate(grid):
                    g = (count[T - 1] / T - act) / theta
                    gap[i, k] += torch.stack([g.sum(), (g**2).sum(),
                                              torch.tensor(g.numel(), dtype=torch.float64)])
                    silent[i, k] += ((count[T - 1] == 0) & on).sum()
    mean = gap[..., 0] / gap[..., 2]
    std = (gap[..., 1] / gap[..., 2] - mean**2).clamp(min=0).sqrt()
    out = []
    for i, (act, name) in enumerate(zip(acts, lay.names, strict=True)):
        levels = act.levels if isinstance(act, QCFS) else None
        floor = float(std[i, grid.index(levels)]) if levels in grid else None
        out.append(LayerDiagnosis(
            name, float(spiking[i].threshold),
            {T: float(mean[i, k]) for k, T in enumerate(grid)},
            {T: float(std[i, k]) for k, T in enumerate(grid)},
            float(clipped[i, 0] / clipped[i, 1]),
            {T: float(silent[i, k] / active[i]) if active[i] else 0.0
             for k, T in enumerate(grid)}, levels, floor))
    return out


def _compounds_from(stds: Sequence[float]) -> int | None:
    """The first layer l ≥ 1 from which every gap std exceeds layer 0's by > COMPOUNDING."""
    above = [s > stds[0] + COMPOUNDING for s in stds]
    for start in range(1, len(stds)):
        if all(above[start:]):
            return start
    return None


# --- the report -----------------------------------------------------------------------------

def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def report(d: Diagnosis) -> str:
    """The diagnosis as plain text: accuracy per T, per-layer tables, the recommendation."""
    head = [f"Conversion diagnosis of {d.model}: {len(d.layers)} IF layers; θ calibrated on "
            f"{d.calibration_samples} images, measured on {d.validation_samples} validation "
            "images.",
            f"Setting: {d.current.describe()}.  ANN accuracy {d.ann_accuracy:.1f} %."]
    width = max([len(layer.name) for layer in d.layers] + [5])
    ts = "".join(f"{f'T={T}':>8}" for T in d.timesteps)
    lines = head + ["", f"{'SNN accuracy (%)':<{width + 18}}{ts}",
                    f"{'':<{width + 18}}" + "".join(f"{d.accuracy[T]:>8.1f}"
                                                   for T in d.timesteps), ""]

    def table(title: str, values, fmt: str) -> None:
        lines.append(title)
        lines.append(f"{'layer':<{width}} {'θ':>7} {'clip %':>8}{ts}")
        for layer in d.layers:
            row = "".join(f"{values(layer)[T]:{fmt}}" for T in d.timesteps)
            lines.append(f"{layer.name:<{width}} {layer.threshold:>7.3g} "
                         f"{_pct(layer.clipped):>8}{row}")
        lines.append("")

    table("Gap std, (SNN rate − ANN activation)/θ:", lambda layer: layer.gap_std, ">8.3f")
    table("Gap mean (negative: the SNN fires too little):", lambda layer: layer.gap_mean, "+8.3f")
    table("Silent %: active in the ANN, no spike by T:",
          lambda layer: {T: 100 * v for T, v in layer.silent.items()}, ">8.1f")
    floors = [f"{layer.name} {layer.floor:.3f} (L = {layer.levels})" for layer in d.layers
              if layer.floor is not None]
    if floors:
        lines.append("Floor (gap std at T = L, no quantization error left): " + ", ".join(floors))
    compounding = {T: d.layers[i].name for T, i in d.compounds_from.items() if i is not None}
    if compounding:
        lines.append("The error compounds (gap std > the first layer's + "
                     f"{COMPOUNDING} θ in every deeper layer) from: " +
                     ", ".join(f"T={T}: {name}" for T, name in compounding.items()))
    else:
        lines.append("The gap std does not compound with depth at any T measured.")
    worst = max(d.layers, key=lambda layer: layer.clipped)
    if worst.clipped > 0.01 and d.current.percentile is None and not d.current.given:
        lines.append(f"Clipping: {_pct(worst.clipped)} % of {worst.name}'s inputs exceed θ = λ; "
                     "the trained ANN clips them too, so this costs the conversion nothing.")
    elif worst.clipped > 0.01:
        lines.append(f"Clipping: {_pct(worst.clipped)} % of {worst.name}'s inputs exceed θ "
                     "(a higher percentile lowers it, at a coarser rate resolution θ/T).")
    lines += ["", _recommendation(d)]
    return "\n".join(lines)


def _within(setting: Setting, t_max: int) -> str:
    T = setting.timesteps_within
    return f"T = {T}" if T is not None else f"no T ≤ {t_max}"


def _recommendation(d: Diagnosis) -> str:
    cur, rec = d.current, d.recommended
    text = (f"Recommendation (the best mean accuracy over the T measured among "
            f"{len(d.candidates)} settings, on the validation images): {rec.describe()}; "
            f"within {POINTS:g} point of the ANN from "
            f"{_within(rec, d.timesteps[-1])} (current setting: "
            f"{_within(cur, d.timesteps[-1])}).")
    if rec == cur:
        return text + " The current setting is already the best candidate."
    effect = ", ".join(f"T={T}: {rec.accuracy[T]:.1f} % (now {cur.accuracy[T]:.1f})"
                       for T in d.timesteps[:4])
    return text + (f" Measured effect: {effect}. Chosen and measured on the same validation "
                   "images: confirm on test images.")
