"""Residual noise against its baselines over model seeds, paired (docs/methods.md §1, §6).

The arms, all on one architecture, data split and epoch count:

    qcfs            QCFS at L levels: one network, read at every T ≤ T_max
    residual-noise  QCFS trained with the residual error as noise, the same L
    qcfs L=T        QCFS with L = T: one network per latency T (exact at T = 1)
    TB v0=0, TB v0=θ/2   threshold balancing (optional)

`grids` gives the sweep grids (`lab.sweep.make(METHOD, grid, seeds)`); `run_here` runs them
one after another in this process (a notebook, `benchmarks/conversion.py --quick`). The
functions below read the finished runs back (`lab.core.results.Run`, a `Finished`, or anything
with `config`, `metrics`, `curves`) and compare arms over the seeds both have; `per_layer`
summarises a per-layer curve (the gap) over seeds. Nothing here chooses anything: the numbers
are the test set's, reported whatever their sign.

Example (digits, depth 4, 2 seeds, 1 epoch: 8 runs, minutes on 2 cores, so not run as a
doctest; `tests/test_conversion_depth.py` runs `run_here` on a smaller grid):
    >>> base = {"epochs": 1, "batch_norm": True, "timesteps": 4}
    >>> runs = run_here(grids(base, [4]), 2)                                  # doctest: +SKIP
    >>> diff = paired(values(runs, 4, NOISE, 2), values(runs, 4, QCFS, 2))  # doctest: +SKIP
    >>> std = per_layer(runs, 4, QCFS, 2)  # gap std per layer over seeds   # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core import stats
from ..core.config import ConfigError, as_dict, spec
from .experiment import Config
from .experiment import run as run_one

METHOD = "conversion"
COMPARED_TIMESTEPS = (1, 2, 4)
QCFS, NOISE, QCFS_LT = "qcfs", "residual-noise", "qcfs L=T"


class StoredRun(Protocol):
    config: dict[str, Any]
    metrics: dict[str, Any]
    curves: dict[str, list[float]]


def grids(base: Mapping[str, Any], depths: Sequence[int],
          timesteps: Sequence[int] = COMPARED_TIMESTEPS,
          threshold_balancing: bool | Sequence[float] = False) -> list[dict[str, tuple]]:
    """The sweep grids of the comparison, each over `depths`, sharing the fields of `base`.

    QCFS with L = T at T = L is the QCFS(L) network itself (the same training), so it is not
    trained twice: `by_seed` reads that arm at T = L from the QCFS(L) run. `timesteps=()`
    leaves the L = T arm out (QCFS(L) and residual noise only). `threshold_balancing`: True
    adds it from v[0] = 0 and θ/2; a sequence, from those v_init (units of θ).
    """
    shared = {name: (value,) for name, value in base.items()}
    levels = base.get("levels", spec(Config, "levels").default)
    found = [{**shared, "depth": tuple(depths), "variant": (QCFS, NOISE)}]
    per_latency = tuple(T for T in timesteps if T != levels)
    if per_latency:
        found.append({**shared, "depth": tuple(depths), "variant": (QCFS,),
                      "levels_equal_timesteps": (True,), "timesteps": per_latency})
    if threshold_balancing:
        starts = (0.0, 0.5) if threshold_balancing is True else tuple(threshold_balancing)
        found.append({**shared, "depth": tuple(depths), "variant": ("threshold-balancing",),
                      "v_init": starts})
    return found


@dataclass
class Finished:
    """One finished run, as `run_here` keeps it: its config (a dict), metrics and curves, and
    (with `keep_models`) the trained ANN and its SNN."""

    config: dict[str, Any]
    metrics: dict[str, Any]
    curves: dict[str, list[float]]
    models: dict[str, Any] = field(default_factory=dict)


def run_here(found: Sequence[Mapping[str, tuple]], seeds: int, keep_models: bool = False,
             first_seed: int = 0) -> list[Finished]:
    """Every config of the grids `found` (model seeds first_seed..first_seed+seeds−1, 0..seeds−1
    by default), one after another in this
    process: no results store, no cluster to start (on 2 shared cores a Dask cluster's start
    alone took 10–20 s of a minute). The configs are validated, all of them, before any runs."""
    configs = configs_of(found, seeds, first_seed)
    runs = []
    for config in configs:
        result = run_one(config)
        runs.append(Finished(as_dict(config), result["metrics"], result["curves"],
                             result["models"] if keep_models else {}))
    return runs


def configs_of(found: Sequence[Mapping[str, tuple]], seeds: int, first_seed: int = 0
               ) -> list[Config]:
    """One `Config` per combination of each grid's values (the first field varying slowest) and
    model seed (innermost), as `lab.sweep.make(METHOD, grid, seeds, first_seed).configs()` gives
    them; each Config validates itself, so a bad value raises ConfigError before anything runs."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"seeds must be an integer ≥ 1, got {seeds!r}")
    return [Config(**dict(zip(grid, values, strict=True)), seed=seed) for grid in found
            for values in itertools.product(*grid.values())
            for seed in range(first_seed, first_seed + seeds)]


def arm(config: Mapping[str, Any]) -> str:
    """The arm a run belongs to, from its config."""
    if config["variant"] == "threshold-balancing":
        return "TB v0=0" if config["v_init"] == 0 else "TB v0=θ/2"
    if config.get("levels_equal_timesteps"):
        return f"{config['variant']} L=T"
    return config["variant"]


def by_seed(runs: Iterable[StoredRun], depth: int, name: str, timesteps: int
          ) -> dict[int, StoredRun]:
    """seed → the run of arm `name` at `depth` that is read at T (L = T arms: trained for T;
    at T = L that is the QCFS(L) run)."""
    found = {}
    for run in runs:
        c = run.config
        if c["depth"] != depth:
            continue
        if name.endswith(" L=T"):
            same_run = c["variant"] == name[:-4] and (
                (c.get("levels_equal_timesteps") and c["timesteps"] == timesteps)
                or (not c.get("levels_equal_timesteps") and c["levels"] == timesteps))
        else:
            same_run = arm(c) == name
        if same_run:
            found.setdefault(c["seed"], run)  # newest first (the store's order): keep the first
    return found


def values(runs: Iterable[StoredRun], depth: int, name: str, timesteps: int,
           metric: str = "accuracy_T{T}") -> dict[int, float]:
    """seed → `metric` (its `{T}` filled in) of arm `name` at `depth`, read at T."""
    key = metric.format(T=timesteps)
    return {seed: float(run.metrics[key])
            for seed, run in by_seed(runs, depth, name, timesteps).items()
            if run.metrics.get(key) is not None}


def deepest_gap_std(runs: Iterable[StoredRun], depth: int, name: str, timesteps: int
                    ) -> dict[int, float]:
    """seed → the gap std (units of θ) of the last hidden layer at T, on the test images."""
    curve = f"gap_std_per_layer_T{timesteps}"
    return {seed: float(run.curves[curve][-1])
            for seed, run in by_seed(runs, depth, name, timesteps).items() if curve in run.curves}


def per_layer(runs: Iterable[StoredRun], depth: int, name: str, timesteps: int,
              curve: str = "gap_std_per_layer_T{T}") -> list[stats.Summary]:
    """Per layer, the mean over seeds with its 95% interval of `curve` (its `{T}` filled in) of
    arm `name` at `depth`, read at T: by default the gap std (units of θ, test images)."""
    key = curve.format(T=timesteps)
    found = [run.curves[key] for run in by_seed(runs, depth, name, timesteps).values()
             if key in run.curves]
    return [stats.summary(column) for column in zip(*found, strict=True)]


def paired(a: Mapping[int, float], b: Mapping[int, float]) -> stats.Paired:
    """a − b over the seeds both have (`stats.paired`); a ValueError if they share none."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError("the two arms share no finished seed")
    return stats.paired([a[s] for s in seeds], [b[s] for s in seeds])


def ratio_of_means(a: Mapping[int, float], b: Mapping[int, float]) -> float:
    """mean(a) / mean(b) over the seeds both have (NaN when they share none or b's mean is 0)."""
    seeds = sorted(set(a) & set(b))
    low = sum(b[s] for s in seeds)
    return sum(a[s] for s in seeds) / low if seeds and low else float("nan")
