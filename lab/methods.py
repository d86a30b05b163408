"""The methods the lab runs, by CLI name, each imported only when first asked for.

`METHODS` maps a name to its module; `method(name)` imports it; `summary(name)` is the first
line of its docstring, read from the source without importing it (so the command line's help
needs no torch). A method module has a frozen dataclass `Config` and
`run(config, progress) -> dict` (`lab.registry` runs one into the results store).

Example:
    >>> summary("bptt")
    'Surrogate-gradient BPTT: the reference baseline.'
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from .core.config import ConfigError

METHODS: dict[str, str] = {
    "bptt": "lab.bptt",
    "conversion": "lab.conversion",
    "ttl-bptt": "lab.ttl_bptt",
    "noise-single-step": "lab.noise_training",
    "streaming": "lab.streaming",
}


def method(name: str) -> ModuleType:
    """The module implementing method `name`; ConfigError naming the methods for another name."""
    if not isinstance(name, str) or name not in METHODS:  # a spec file's `method = [...]` too
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {name!r}")
    return importlib.import_module(METHODS[name])


def summary(name: str) -> str:
    """The first line of method `name`'s module docstring, without importing the module."""
    if name not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {name!r}")
    origin = importlib.util.find_spec(METHODS[name]).origin
    doc = ast.get_docstring(ast.parse(Path(origin).read_text(encoding="utf-8"))) or ""
    return doc.splitlines()[0] if doc else name
