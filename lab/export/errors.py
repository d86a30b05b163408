"""What the lab and NIR share: the time step, the conventions, and the error naming what
cannot be said."""

from __future__ import annotations

from typing import Literal, get_args

from torch import nn

DT = 1e-4  # s per step: snnTorch's and SpikingJelly's default, so their importers read β back
SKIPPED = (nn.Dropout, nn.Identity)  # no-ops at inference

Convention = Literal["lab", "spikingjelly", "snntorch"]
CONVENTIONS: tuple[Convention, ...] = get_args(Convention)
# How a step's input enters an IF neuron, per convention (LIF is the same in all three):
#   lab, spikingjelly  r = 1/dt: forward Euler of dv/dt = R·I over dt adds r·dt·I = I (NIR's
#                      own terms; SpikingJelly's importer requires it)
#   snntorch           r = 1: the step's input is the charge it delivers (snnTorch's importer
#                      asserts r == 1 and hard-codes dt)
IF_R = {"lab": "1/dt", "spikingjelly": "1/dt", "snntorch": "1"}


class ExportError(ValueError):
    """A network, layer or node that the other side cannot express; the message names it."""


def check_convention(convention: str) -> Convention:
    """`convention`, or ValueError naming the valid ones."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(CONVENTIONS)}, "
                         f"got {convention!r}")
    return convention  # type: ignore[return-value]
