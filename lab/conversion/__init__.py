"""ANN-to-SNN conversion at ultra-low latency: threshold balancing, QCFS and residual noise.

Every activation becomes a plain IF neuron (reset by subtraction, emitting θ·s). Summing its
equations over t = 1..T gives, per neuron, with the rate r = θ·Σs/T (docs/methods.md §1):

    r = mean(I) − (v[T] − v[0]) / T

While v[T] stays in [0, θ) the rate is the ANN's activation clipped and quantized; spikes that
arrive unevenly push v[T] out of [0, θ), and the spike count then misrepresents the input — the
residual error. The package, one idea a module:

    activations   the ANN's activations: clipped ReLU, QCFS, QCFS + residual noise
    graph         any traceable model (torch.fx) read into the lab's layout, or refused by name
    fold          BatchNorm folded into the Linear or Conv2d before it
    convert       ANN → SNN (layout, then folding BatchNorm)
    calibration   thresholds by percentile; the per-layer gap SNN − ANN; σ fitted to it
    residual      accuracy at every T and the residual potential per layer, from one run
    diagnosis     per layer and per T, where a converted network loses accuracy; what to change
    comparison    residual noise against QCFS(L) and QCFS(L = T) over seeds, paired
    cifar         CIFAR-10/100 (now registered datasets, read by lab.core.cifar)
    experiment    the method: Config, train the ANN, convert, measure, `run`
"""

from .activations import NOISE_KINDS, QCFS, ClippedReLU, ResidualNoise, floor_ste, qcfs
from .calibration import Gap, fit_noise, residual_gap, threshold_balance
from .convert import ACTIVATIONS, CONVERTIBLE, activation_layers, check_convertible, convert
from .diagnosis import Diagnosis, LayerDiagnosis, Setting, diagnose, evaluate
from .experiment import (
    CALIBRATION_SAMPLES,
    MECHANISM_TIMESTEPS,
    VARIANTS,
    Config,
    Outcome,
    activation,
    build_ann,
    experiment,
    networks,
    run,
    train_ann,
)
from .fold import fold_batch_norm, fold_layer
from .graph import Layout, NotConvertible, layout
from .residual import (
    HISTOGRAM_BINS,
    HISTOGRAM_RANGE,
    TIMESTEPS,
    LayerRecord,
    Simulation,
    histogram_edges,
    ideal_spike_count,
    simulate_accuracy,
)

__all__ = [
    "ACTIVATIONS", "CALIBRATION_SAMPLES", "CONVERTIBLE", "HISTOGRAM_BINS", "HISTOGRAM_RANGE",
    "MECHANISM_TIMESTEPS", "NOISE_KINDS", "QCFS", "TIMESTEPS", "VARIANTS", "ClippedReLU",
    "Config", "Diagnosis", "Gap", "LayerDiagnosis", "LayerRecord", "Layout", "NotConvertible",
    "Outcome", "ResidualNoise", "Setting", "Simulation", "activation", "activation_layers",
    "build_ann", "check_convertible", "convert", "diagnose", "evaluate", "experiment", "fit_noise",
    "floor_ste", "fold_batch_norm", "fold_layer", "histogram_edges", "ideal_spike_count",
    "layout", "networks", "qcfs", "residual_gap", "run", "simulate_accuracy",
    "threshold_balance", "train_ann",
]
