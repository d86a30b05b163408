"""What the lab and NIR share: the time step and the error naming what cannot be said."""

from __future__ import annotations

from torch import nn

DT = 1e-4  # s per step for nir.LIF: snnTorch's, so its importer reads β back
SKIPPED = (nn.Dropout, nn.Identity)  # no-ops at inference


class ExportError(ValueError):
    """A network, layer or node that the other side cannot express; the message names it."""
