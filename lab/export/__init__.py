"""The lab's spiking networks as NIR graphs, and back: into the lab and into snnTorch.

NIR (the Neuromorphic Intermediate Representation, package `nir` 1.0.8) states neurons in
continuous time; the lab's neuron is one discrete step (METHODS.md §0):

    v[t] = β·v[t-1] + I[t];   s[t] = H(v[t] − θ), H(0) = 1;   v[t] ← v[t] − θ·s[t]

`export_nir` writes it with this discretisation, the one snnTorch's importer reads back:

    IF  (β = 1)  nir.IF(r = 1, v_threshold = θ, v_reset = 0). dv/dt = R·I, with a step's input
                 the charge it delivers: one step adds r·I[t] = I[t].
    LIF (β < 1)  nir.LIF(τ = dt/(1 − β), r = τ/dt, v_leak = 0, v_threshold = θ, v_reset = 0).
                 Forward Euler of τ·dv/dt = (v_leak − v) + R·I over one step dt gives
                 v[t] = (1 − dt/τ)·v[t-1] + (dt·R/τ)·I[t] = β·v[t-1] + I[t]; dt = 1e-4 s
                 (snnTorch's), kept in the graph's metadata. τ and r are float64, so 1 − dt/τ
                 rounds to the same float32 β.

What NIR 1.0.8 cannot say goes into each neuron node's metadata; the lab's `import_nir` honours
it, other importers ignore it (snnTorch: see `SnnTorchRunner`):

    reset         'subtract' or 'zero'. NIR's IF and LIF reset to v_reset (here 0); NIR has no
                  reset by subtraction.
    v_init        v[0] in units of θ. NIR nodes have no initial state; elsewhere v[0] = 0.
    scale_output  the neuron emits θ·s (converted networks). θ is folded into the next weight
                  layer, W' = θ·W, stored in float64, where the product of two float32 numbers
                  is exact: the lab's import divides it out exactly (W = W'/θ) and simulates the
                  same float32 arithmetic as the original, spike for spike.

Refused, naming the layer: a neuron with a floor (v_min), a scaled neuron with per-neuron θ or
no weight layer after it, and any layer but Linear, Conv2d, AvgPool2d, Flatten, Dropout,
Identity and SpikingNeuron (a ReLU or QCFS ANN, MaxPool). The streaming SNN is refused as a
whole: every synapse delays spikes by K steps, its input edges hold a frame for K steps and its
neurons floor v at v_min·θ — no NIR 1.0.8 node floors a potential.
"""

from .errors import DT, SKIPPED, ExportError
from .read import chain, import_nir
from .snntorch import SnnTorchRunner, agreement, run_spikes, to_snntorch
from .write import export_nir, export_run

__all__ = ["DT", "SKIPPED", "ExportError", "SnnTorchRunner", "agreement", "chain", "export_nir",
           "export_run", "import_nir", "run_spikes", "to_snntorch"]
