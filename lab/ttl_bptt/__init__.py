"""Temporally-truncated local BPTT (TTL-BPTT): BPTT cut in time and in depth.

Guo et al. 2023 (Front. Neurosci. 17:1047008). Two knobs:

- truncation length K: the T steps are cut into segments of K; after each segment the loss
  L_k = CE((1/K)·Σ_{t∈segment} y[t], label) is back-propagated within the segment, the
  weights are updated, and the membrane potentials v carry on into the next segment detached;
- block size: the network's weight layers are cut into blocks of `block_size` layers; every
  block but the last gets a small local classifier (average pooling + linear) with its own loss,
  and every block's input is detached, so no gradient crosses a block boundary.

The autograd graph then holds K steps of one block instead of T steps of the whole network.
K = T with one block (block_size = depth) is exactly the BPTT baseline of `lab.bptt` (same
gradients, tested), given the same encoding: `lab.bptt` defaults to 'direct', this module to
'rate' (its notebook's setting), so a comparison passes one encoding to both
(`benchmarks/ttl_bptt.py` passes `lab.bptt`'s).

Two things differ between TTL and BPTT besides the gradient, and a fair comparison handles both:

- updates: TTL steps the optimizer once per segment, T/K times per batch where BPTT steps once,
  so one learning rate is not fair to both. The lab tunes the learning rate of every
  configuration, BPTT (K = T) included, on a small grid by validation accuracy
  (`Fit.val_accuracy`; `benchmarks/ttl_bptt.py`), rather than equalising optimizer steps,
  which would change the algorithm (the paper updates after every segment).
- loss scale: `final_loss` is the loss the optimizer saw, for TTL the mean over segments of a
  K-step readout's loss. `full_sequence_loss` is the cross-entropy of the rate readout over all
  T on the training set after training: the same quantity for every K and for `lab.bptt`.

The package, one idea a module: `blocks` (the network cut into blocks, local classifiers),
`step` (the truncated, local training step and its measured cost), `experiment` (Config,
data, fit, the costs against full BPTT, `run`).
"""

from .blocks import LocalNet, depth, layers, local_classifier, spiking_model
from .experiment import (
    EVENT_SETS,
    LOADABLE,
    Config,
    Fit,
    build,
    fit,
    grid,
    load,
    networks,
    order_task,
    run,
    step_costs,
    time_first,
)
from .step import State, forget_between_segments, forward_segment, local_loss, step_cost, ttl_step

__all__ = [
    "EVENT_SETS", "LOADABLE", "Config", "Fit", "LocalNet", "State", "build", "depth", "fit",
    "forget_between_segments", "forward_segment", "grid", "layers", "load", "local_classifier",
    "local_loss", "networks", "order_task", "run", "spiking_model", "step_cost", "step_costs",
    "time_first", "ttl_step",
]
