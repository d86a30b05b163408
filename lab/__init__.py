"""Spike Lab: an interactive teaching lab for spiking neural networks."""

from __future__ import annotations

from typing import Any

from .version import __version__

__all__ = ["__version__", "export_nir", "load_model"]


def __getattr__(name: str) -> Any:
    """`lab.export_nir` and `lab.load_model`, imported on first use (they pull in torch and
    NIR, which `python -m lab --help` and the event tools do not need)."""
    if name == "export_nir":
        from .export import export_nir

        return export_nir
    if name == "load_model":
        from .weights import load_model

        return load_model
    raise AttributeError(f"module 'lab' has no attribute {name!r}")
