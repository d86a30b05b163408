"""Presets: a method's settings for a named experiment, one TOML file each in `presets/`.

A preset file names its `method`, a one-line `description` and a `[config]` table of field
values. On the command line, `python -m lab run METHOD --preset NAME` uses them as the flags'
defaults, so any flag given as well overrides its value; machine-specific fields (`data_dir`)
stay on the command line. Every value is checked against its field's declared range when the
preset is read, so a bad preset stops with one line naming the file and the field.

Example:
    >>> load("vgg16-cifar10").values["arch"]
    'vgg16'
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import methods
from .core.config import ConfigError, specs

FOLDER = Path(__file__).resolve().parents[1] / "presets"
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # a file name, never a path: no '/', no '..'



@dataclass(frozen=True)
class Preset:
    """One preset: the method it configures, what it is, and its field values."""

    name: str
    method: str
    description: str
    values: dict[str, Any]


def names(folder: Path = FOLDER) -> tuple[str, ...]:
    """The presets in `folder`, by file name without `.toml`, sorted."""
    return tuple(sorted(p.stem for p in folder.glob("*.toml")))


def load(name: str, folder: Path = FOLDER) -> Preset:
    """Read and check preset `name`; ConfigError naming the preset, the file or the field.

    `name` is a file of `folder` without `.toml` (a preset shared by someone else is data: a
    name that is a path, '../x' or '/etc/x', is refused, never read)."""
    path = folder / f"{name}.toml"
    if not NAME.fullmatch(str(name)) or path.resolve().parent != folder.resolve():
        raise ConfigError(f"preset must be the name of a file in {folder} (letters, digits, "
                          f"'-', '_' and '.', not a path), got {name!r}")
    if not path.is_file():
        raise ConfigError(f"preset must be one of {', '.join(names(folder)) or '(none)'}, "
                          f"got {name!r}")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"preset {path} is not valid TOML: {err}") from None
    method = table.get("method")
    if not isinstance(method, str) or method not in methods.METHODS:
        raise ConfigError(f"preset {path}: method must be one of {', '.join(methods.METHODS)}, "
                          f"got {method!r}")
    values = table.get("config", {})
    if not isinstance(values, dict):
        raise ConfigError(f"preset {path}: config must be a table ([config] with FIELD = value), "
                          f"got {type(values).__name__}")
    declared = {s.name: s for s in specs(methods.method(method).Config)}
    for field, value in values.items():
        if field not in declared:
            raise ConfigError(f"preset {path}: {field} is not a field of {method}'s config: "
                              f"fields are {', '.join(declared)}")
        spec = declared[field]
        if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
            values[field] = value = float(value)  # TOML's 8 for a float field
        try:
            spec.check(value)
        except ConfigError as err:
            raise ConfigError(f"preset {path}: {err}") from None
    return Preset(name, method, str(table.get("description", "")), values)
