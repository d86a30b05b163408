"""The lab's spiking networks as NIR graphs, and back: into the lab, snnTorch and SpikingJelly.

NIR (the Neuromorphic Intermediate Representation, package `nir` 1.0.8) states neurons in
continuous time and leaves the step to each simulator; the lab's neuron is one discrete step:

    v[t] = β·v[t-1] + I[t];   s[t] = H(v[t] − θ), H(0) = 1;   v[t] ← v[t] − θ·s[t]

`export_nir` writes it as the forward Euler step at dt (default 1e-4 s, kept in the graph's
metadata with the convention's name):

    IF  (β = 1)  nir.IF(r, v_threshold = θ, v_reset = 0): dv/dt = R·I, one step adds r·dt·I[t].
                 `convention` picks how r states that this is I[t], for the simulator that will
                 read the file: 'lab' and 'spikingjelly' r = 1/dt (NIR's own terms, which
                 SpikingJelly requires), 'snntorch' r = 1 (snnTorch asserts it, its dt fixed).
                 `import_nir` reads either.
    LIF (β < 1)  nir.LIF(τ = dt/(1 − β), r = τ/dt, v_leak = 0, v_threshold = θ, v_reset = 0):
                 Euler of τ·dv/dt = (v_leak − v) + R·I gives v[t] = (1 − dt/τ)·v[t-1] +
                 (dt·R/τ)·I[t] = β·v[t-1] + I[t], the same in every convention. τ and r are
                 float64, so 1 − dt/τ rounds to the same float32 β.

A residual block, y = h(branch(x) + shortcut(x)), is written as NIR says a sum: both paths end
in edges into the node of h, a neuron, which adds its inputs.

What NIR 1.0.8 cannot say goes into each neuron node's metadata; the lab's `import_nir` honours
it, other importers ignore it (the runners' `as_lab` gives it to them where they have a
parameter for it):

    reset         'subtract' or 'zero'. NIR's IF and LIF reset to v_reset (here 0); NIR has no
                  reset by subtraction (proposals NIR #63, #137 are open).
    v_init        v[0] in units of θ. NIR nodes have no initial state; elsewhere v[0] = 0.
    scale_output  the neuron emits θ·s (converted networks). θ is folded into the next weight
                  layer, W' = θ·W, stored in float64, where the product of two float32 numbers
                  is exact: the lab's import divides it out exactly (W = W'/θ) and simulates the
                  same float32 arithmetic as the original, spike for spike. An identity
                  shortcut after such a neuron is the weight θ·I.

Refused, naming the layer: a neuron with a floor (v_min), a scaled neuron with per-neuron θ or
no weight layer after it, and any layer but Linear, Conv2d, AvgPool2d, Flatten, Dropout,
Identity, SpikingNeuron and ResidualBlock (a ReLU or QCFS ANN, MaxPool). The streaming SNN is
refused as a whole: every synapse delays spikes by K steps, its input edges hold a frame for K
steps and its neurons floor v at v_min·θ — no NIR 1.0.8 node floors a potential.
"""

from .errors import CONVENTIONS, DT, SKIPPED, Convention, ExportError
from .read import import_nir, node_order
from .runner import Runner, agreement, run_spikes
from .snntorch import SnnTorchRunner, to_snntorch
from .spikingjelly import SpikingJellyRunner, to_spikingjelly
from .write import export_nir, export_run

__all__ = ["CONVENTIONS", "DT", "SKIPPED", "Convention", "ExportError", "Runner",
           "SnnTorchRunner", "SpikingJellyRunner", "agreement", "export_nir", "export_run",
           "import_nir", "node_order", "run_spikes", "to_snntorch", "to_spikingjelly"]
