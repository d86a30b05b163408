"""What a sweep runs: a method, a grid of its config fields, and model seeds 0..N−1.

A grid value is read by its field (`FieldSpec.read`: the declared type and range, as the CLI's
flags and the dashboard's form read theirs), and every `Config` of the grid is built — so
validated — before anything starts: a bad field or value
stops the sweep with one `ConfigError` line. The same sweep is written on the command line,

    --grid variant=qcfs,residual-noise --grid epochs=3 --seeds 5

or as a TOML file given to `--spec`:

    method = "conversion"
    seeds = 5
    [grid]
    variant = ["qcfs", "residual-noise"]
    epochs = 3
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import budget, registry
from ..core import config as cfg
from ..core.config import ConfigError, FieldError

MAX_SEEDS = 1000
MAX_RUNS = 10_000  # grid points × seeds of one sweep: checked before any Config is built


@dataclass(frozen=True)
class Spec:
    """Every combination of `grid`'s values for `method`, each run with `seeds` model seeds
    from `first_seed` on (0..seeds−1 by default)."""

    method: str
    grid: Mapping[str, tuple[Any, ...]]
    seeds: int
    first_seed: int = 0  # the dashboard launches "this config, seeds 3, 4, 5"

    @property
    def seed_values(self) -> range:
        return range(self.first_seed, self.first_seed + self.seeds)

    @property
    def size(self) -> int:
        """How many runs: the product of the fields' value counts × seeds (nothing built)."""
        return math.prod(len(v) for v in self.grid.values()) * self.seeds

    def points(self) -> list[dict[str, Any]]:
        """The grid's combinations, the first field varying slowest."""
        names = list(self.grid)
        return [dict(zip(names, values, strict=True))
                for values in itertools.product(*self.grid.values())]

    def configs(self) -> list[Any]:
        """One validated `Config` per point and seed, seeds innermost."""
        config_cls = registry.method(self.method).Config
        return [config_cls(**point, seed=seed) for point in self.points()
                for seed in self.seed_values]

    def as_dict(self) -> dict[str, Any]:
        """The spec as stored with the sweep: method, grid (field → list), seeds (and the first
        seed when it is not 0); `make(**spec.as_dict())` builds it again."""
        return {"method": self.method, "grid": {k: list(v) for k, v in self.grid.items()},
                "seeds": self.seeds, **({"first_seed": self.first_seed} if self.first_seed
                                        else {})}


def make(method: str, grid: Mapping[str, Any], seeds: int, first_seed: int = 0) -> Spec:
    """A checked `Spec`: known method and fields, values of each field's type, at most
    MAX_RUNS runs (counted before any Config is built), every Config valid and within the
    memory limit (`budget.check`), 1 ≤ seeds ≤ MAX_SEEDS. Raises ConfigError naming the first
    problem."""
    config_cls = registry.method(method).Config
    _check_seeds(seeds)
    _check_size({k: len(v) if isinstance(v, list | tuple) else 1 for k, v in grid.items()},
                seeds, distinct=False)
    parsed = {}
    for name, values in grid.items():
        if name == "seed":
            raise FieldError("seed", values, "--seeds N, not a grid value",
                             "seed is not a grid field: --seeds N runs model seeds 0..N−1")
        field = cfg.spec(config_cls, name)
        values = values if isinstance(values, list | tuple) else [values]
        if not values:
            raise FieldError(name, values, "at least one value",
                             f"{name} needs at least one value in the grid")
        parsed[name] = tuple(dict.fromkeys(field.read(v) for v in values))  # once each
    if isinstance(first_seed, bool) or not isinstance(first_seed, int) or first_seed < 0:
        raise FieldError("first_seed", first_seed, "an integer ≥ 0")
    _check_size({k: len(v) for k, v in parsed.items()}, seeds)
    spec = Spec(method, parsed, seeds, first_seed)
    # One Config per point validates it (the first bad value raises here); the seed only sets
    # `seed`, so the last seed's is checked once. A form re-checks on every edit: this is cheap.
    points = spec.points()
    configs = [config_cls(**point, seed=first_seed) for point in points]
    config_cls(**points[-1], seed=first_seed + seeds - 1)
    _check_data(configs)
    _check_memory(method, configs)
    return spec


def of_config(method: str, config: Any, seeds: int = 1) -> Spec:
    """A sweep of one configuration: `config` (already valid) with `seeds` model seeds from its
    own seed on — what the dashboard's Launch submits."""
    _check_seeds(seeds)
    fields = {k: (v,) for k, v in cfg.as_dict(config).items() if k != "seed"}
    spec = Spec(method, fields, seeds, config.seed)
    _check_data(spec.configs())  # a seed past the field's range raises here
    _check_memory(method, [config])
    return spec


def _check_size(counts: Mapping[str, int], seeds: int, distinct: bool = True) -> None:
    """ConfigError unless the grid's points × seeds ≤ MAX_RUNS (`counts`: values per field;
    not yet `distinct`, a field alone may not list more than MAX_RUNS values)."""
    if not distinct:
        for name, count in counts.items():
            if count > MAX_RUNS:
                raise FieldError(name, f"{count:,} values", f"at most {MAX_RUNS:,} values",
                                 f"{name} lists {count:,} values in the grid; a sweep runs at "
                                 f"most {MAX_RUNS:,} runs")
        return
    points = math.prod(counts.values())
    if points * seeds > MAX_RUNS:
        sizes = " × ".join(f"{n} {name}" for name, n in counts.items()) or "1"
        raise FieldError("grid", points * seeds, f"at most {MAX_RUNS:,} runs",
                         f"the sweep is {points:,} grid points ({sizes}) × {seeds} seeds = "
                         f"{points * seeds:,} runs; at most {MAX_RUNS:,} runs per sweep: use "
                         "fewer values or seeds, or split it")


def _check_memory(method: str, configs: Sequence[Any]) -> None:
    """Each config within the memory limit (`budget.check`), or its one-line ConfigError."""
    for config in configs:
        budget.check(method, config)


def _check_data(configs: Sequence[Any]) -> None:
    """Real dataset files present for every config (`registry.check_data`), each folder once:
    a sweep over missing files is refused before any run starts."""
    seen = set()
    for config in configs:
        where = tuple(getattr(config, k, None) for k in ("dataset", "data_dir", "download"))
        if where not in seen:
            seen.add(where)
            registry.check_data(config)


def _check_seeds(seeds: Any) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise FieldError("seeds", seeds, f"an integer in [1, {MAX_SEEDS}] (model seeds 0..N−1)")


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """`["epochs=1,2", "variant=qcfs"]` → `{"epochs": ["1", "2"], "variant": ["qcfs"]}`."""
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name or not values.strip():
            raise ConfigError(f"--grid takes FIELD=V1,V2,..., got {item!r}")
        if name in grid:
            raise ConfigError(f"{name} is given twice in --grid; list its values once: "
                              f"{name}=V1,V2")
        grid[name] = [v.strip() for v in values.split(",")]
    return grid


def load(path: str | Path) -> dict[str, Any]:
    """The `method`, `grid` and `seeds` of a TOML spec file (each optional), unchecked."""
    try:
        with open(path, "rb") as file:
            content = tomllib.load(file)
    except OSError as err:
        raise ConfigError(f"spec file {path} cannot be read: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"spec file {path} is not valid TOML: {err}") from err
    unknown = sorted(set(content) - {"method", "grid", "seeds"})
    if unknown:
        raise ConfigError(f"spec file {path} may set method, grid and seeds, got {unknown[0]!r}")
    if not isinstance(content.get("grid", {}), dict):
        raise ConfigError(f"spec file {path}: grid must be a table, [grid] with FIELD = [values]")
    return content


def key(config: Mapping[str, Any]) -> str:
    """A run's identity in the store: its config (seed included) as sorted JSON."""
    return json.dumps(dict(config), sort_keys=True)
