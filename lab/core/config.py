"""Configuration is data: frozen dataclasses, validated when built, shared by CLI and dashboard."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch


class ConfigError(ValueError):
    """A configuration value outside its valid range; the message names the parameter."""


def require(ok: bool, name: str, valid: str, value: Any) -> None:
    """Raise ConfigError('name must be VALID, got VALUE') unless `ok`."""
    if not ok:
        raise ConfigError(f"{name} must be {valid}, got {value!r}")


def one_of(name: str, value: Any, choices: tuple) -> None:
    require(value in choices, name, f"one of {', '.join(map(str, choices))}", value)


def positive(name: str, value: float, integer: bool = True) -> None:
    require(value > 0, name, "≥ 1" if integer else "> 0", value)


def check_common(config: Any) -> None:
    """Checks of the fields that every method's config shares."""
    from .data import DATASETS

    for name in ("timesteps", "epochs", "batch_size"):
        if hasattr(config, name):
            positive(name, getattr(config, name))
    if hasattr(config, "dataset"):
        one_of("dataset", config.dataset, DATASETS)
    if hasattr(config, "lr"):
        positive("lr", config.lr, integer=False)
    if hasattr(config, "threshold"):
        positive("threshold", config.threshold, integer=False)
    if hasattr(config, "seed"):
        require(config.seed >= 0, "seed", "≥ 0", config.seed)
    if hasattr(config, "device"):
        one_of("device", config.device, ("auto", "cpu", "cuda"))
        require(config.device != "cuda" or torch.cuda.is_available(), "device",
                "'cpu' or 'auto' on a machine without CUDA", config.device)


def as_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def resolve_device(name: str) -> torch.device:
    """'auto' → CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
