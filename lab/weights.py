"""A run's trained networks, kept next to the results store, and rebuilt from them.

    <folder of the results file>/weights/<store id>/run-<id>/<network>.safetensors  the tensors
    <folder of the results file>/weights/<store id>/run-<id>/model.json             how to rebuild

The store id (`ResultsStore.store_id`, random, made with the store) keeps two stores in one
folder, or a store deleted and made again, from sharing `run-1`; the manifest repeats it and the
run's start time, and every load checks both against the run's row, refusing a mismatch.

safetensors holds tensors only, so loading a file cannot execute code. `model.json` names the
method, its config, and the input shape (one sample at one step) and class count;
`load_model` asks the method's module for its untrained networks,
`networks(config, input_shape, num_classes)`, and loads the tensors into them strictly. The
run's row links to its folder through its id (`folder`); the store's schema is unchanged.
Networks by name: `snn` (every method: the spiking network to simulate), `ann` (conversion and
streaming), `single_step` (noise training's T = 1 network). What is not a tensor comes from the
config, not the run: the residual-noise σ a conversion ANN last trained with (training only; the
run's curves hold it) is not kept.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import methods
from .core import config as cfg
from .core.results import ResultsStore
from .version import __version__

MANIFEST = "model.json"


class WeightsError(ValueError):
    """A run's weights are missing, corrupt or do not fit its network; the message names it."""


def folder(store: ResultsStore | str | os.PathLike, run_id: int) -> Path:
    """Where the weights of run `run_id` of `store` (or the store at that path) live."""
    store = _opened(store)
    return store.path.parent / "weights" / (store.store_id or "unknown-store") / f"run-{run_id}"


def _legacy_folder(store: ResultsStore, run_id: int) -> Path:
    """Where lab versions before the store id kept a run's weights, shared by every store of
    the folder."""
    return store.path.parent / "weights" / f"run-{run_id}"


def _opened(store: ResultsStore | str | os.PathLike | None) -> ResultsStore:
    """`store`, or the store at that path opened read-only (weights only read it)."""
    return store if isinstance(store, ResultsStore) else ResultsStore(store, readonly=True)


def save(store: ResultsStore | str | os.PathLike, run_id: int, method: str, config: Any,
         networks: dict[str, nn.Module], architecture: dict[str, Any]) -> Path:
    """Write `networks` (name → module) of a run and the manifest; returns the folder.

    `architecture` holds `input_shape` and `num_classes`. The manifest names the store (its id)
    and the run's start time, so a load can tell these weights are that row's. The folder
    appears whole or not at all: it is written under another name and renamed.
    """
    store = _opened(store)
    started_at = store.get(run_id).started_at
    target = folder(store, run_id)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name, module in networks.items():
        tensors = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
        save_file(tensors, partial / f"{name}.safetensors",
                  metadata={"run": str(run_id), "method": method, "network": name})
    manifest = {"run": run_id, "store": store.store_id, "started_at": started_at,
                "method": method, "config": cfg.as_dict(config),
                "architecture": {"input_shape": [int(n) for n in architecture["input_shape"]],
                                 "num_classes": int(architecture["num_classes"])},
                "networks": sorted(networks), "version": __version__}
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=1))
    if target.exists():
        shutil.rmtree(target)
    os.replace(partial, target)
    return target


def manifest(run_id: int, store: ResultsStore | str | os.PathLike | None = None
             ) -> dict[str, Any]:
    """The manifest of run `run_id`; WeightsError naming the run if it has none, or if the
    manifest was written for another store or another run of this id (a store made again)."""
    store = _opened(store)
    try:
        run = store.get(run_id)
    except KeyError:
        raise WeightsError(f"run {run_id} is not in {store.path}") from None
    path = folder(store, run_id) / MANIFEST
    if not path.exists():
        legacy = _legacy_folder(store, run_id) / MANIFEST
        if legacy.exists():
            raise WeightsError(f"run {run_id}: its weights are not kept under this store's id; "
                               f"{legacy.parent} was written by an older lab version that "
                               "shared one folder among every store here, so it cannot be "
                               "told to be this run's: run it again")
        raise WeightsError(f"run {run_id} ({run.method}, {run.status}) has no saved weights: "
                           f"{path} is missing")
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise WeightsError(f"run {run_id}: {path} is unreadable: {err}") from err
    if not isinstance(info, dict):
        raise WeightsError(f"{path}: not a table of fields; this file was not written by the "
                           "lab as it is")
    if (info.get("store"), info.get("started_at")) != (store.store_id, run.started_at):
        raise WeightsError(f"run {run_id}: {path} was written for another run {run_id} (another "
                           f"results store, or an earlier one at {store.path}): refused")
    return _checked(info, path, run.method)


MAX_INPUT = 2**16  # values in one input sample (the lab's largest is 3×32×32 = 3,072)
MAX_CLASSES = 10_000


def _checked(info: dict[str, Any], path: Path, method: str) -> dict[str, Any]:
    """`info` if every field a load reads is what `save` writes, else WeightsError naming the
    file and the field: a manifest from someone else is data, and its shape decides how much
    memory the network it builds takes."""

    def refuse(what: str) -> WeightsError:
        return WeightsError(f"{path}: {what}; this file was not written by the lab as it is")

    if info.get("method") != method:
        raise refuse(f"method is {info.get('method')!r}, but its run's row says {method!r}")
    if not isinstance(info.get("config"), dict):
        raise refuse("config must be a table of field values")
    networks = info.get("networks")
    if not (isinstance(networks, list) and networks
            and all(isinstance(n, str) and n.isidentifier() for n in networks)):
        raise refuse("networks must be a list of network names (snn, ann, single_step)")
    arch = info.get("architecture")
    shape = arch.get("input_shape") if isinstance(arch, dict) else None
    if not (isinstance(shape, list) and 1 <= len(shape) <= 4
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
            and math.prod(shape) <= MAX_INPUT):
        raise refuse(f"architecture.input_shape must be 1 to 4 positive integers of at most "
                     f"{MAX_INPUT:,} values in all, got {shape!r}")
    classes = arch.get("num_classes")
    if not (isinstance(classes, int) and not isinstance(classes, bool)
            and 2 <= classes <= MAX_CLASSES):
        raise refuse(f"architecture.num_classes must be an integer in [2, {MAX_CLASSES:,}], "
                     f"got {classes!r}")
    return info


def load_model(run_id: int, store: ResultsStore | str | os.PathLike | None = None,
               network: str = "snn") -> nn.Module:
    """Run `run_id`'s trained `network`, rebuilt and in eval mode, ready to simulate.

    `store`: a ResultsStore or its path (default: the lab's store). WeightsError, naming the
    run, when the run, its manifest or its weights file is missing, corrupt or does not fit.
    """
    store = _opened(store)
    info = manifest(run_id, store)
    if network not in info["networks"]:
        raise WeightsError(f"run {run_id} kept no network {network!r}; it kept "
                           f"{', '.join(info['networks'])}")
    module = methods.method(info["method"])
    arch = info["architecture"]
    try:
        with torch.random.fork_rng(devices=[]):  # building draws initial weights: not ours
            net = module.networks(_config(module.Config, info["config"]),
                                  tuple(arch["input_shape"]), arch["num_classes"])[network]
    except (TypeError, ValueError) as err:  # ConfigError too: a value the Config refuses
        raise WeightsError(f"{folder(store, run_id) / MANIFEST}: its config and architecture "
                           f"build no {info['method']} network: {err}") from None
    path = folder(store, run_id) / f"{network}.safetensors"
    if not path.exists():
        raise WeightsError(f"run {run_id}: weights file {path} is missing")
    try:
        tensors = load_file(path)
    except Exception as err:  # safetensors raises its own error type for a bad header
        raise WeightsError(f"run {run_id}: weights file {path} is corrupt: {err}") from err
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        reason = str(err).splitlines()[0]
        raise WeightsError(f"run {run_id}: weights file {path} does not fit the network its "
                           f"config builds: {reason}") from err
    return net.eval()


def _config(config_cls: type, values: dict[str, Any]) -> Any:
    """The method's Config from stored values, on the CPU; fields added since take defaults."""
    known = {f.name for f in dataclasses.fields(config_cls)}
    values = {k: v for k, v in values.items() if k in known}
    if "device" in known:
        values["device"] = "cpu"
    return config_cls(**values)
