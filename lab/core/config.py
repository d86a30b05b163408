"""Configuration is data: frozen dataclasses whose fields declare their choices and ranges.

A method's `Config` declares each field with `setting(default, ...)`: its unit, its allowed
choices or its closed range `[low, high]`, and a one-line reason. `validate(config)` checks every
declared field (finite, in range, one of the choices) and raises one `ConfigError` naming the
field and its valid range. The CLI, the dashboard's form, the notebooks and sweeps all build the
same object, so they refuse the same inputs with the same line; they read the choices and ranges
with `spec(config_cls, name)`, never from an error's text. Text typed for a field (a flag, a
sweep's grid value, a form's box) is read by that field: `FieldSpec.parse` makes it the field's
type, `FieldSpec.read` also checks it. A bad value raises `FieldError`, whose `field`, `value`
and `valid` say which field refused what, as data.

Example:
    >>> @dataclass(frozen=True)
    ... class C:
    ...     timesteps: int = setting(8, low=1, high=1024, unit="steps")
    ...     def __post_init__(self): validate(self)
    >>> try:
    ...     C(timesteps=0)
    ... except ConfigError as err:  # one line naming the field and its range
    ...     print(err)
    timesteps must be an integer in [1, 1024] (steps), got 0
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


class ConfigError(ValueError):
    """A configuration value outside its valid range; the message names the parameter."""


class FieldError(ConfigError):
    """Field `field` refused `value`; `valid` says what it accepts, in words.

    The message is `'<field> must be <valid>, got <value>'` unless another is given; callers
    read `field` (e.g. to show the error next to its box), never the message.
    """

    def __init__(self, field: str, value: Any, valid: str, message: str | None = None) -> None:
        super().__init__(message or f"{field} must be {valid}, got {value!r}")
        self.field, self.value, self.valid = field, value, valid


SEED_MAX = 2**32 - 1  # numpy's and scikit-learn's seeds are 32-bit


@dataclass(frozen=True)
class FieldSpec:
    """What a config field accepts: its type, choices or range, unit and help text."""

    name: str
    kind: type
    default: Any
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    unit: str = ""
    help: str = ""
    path: bool = False

    def valid(self) -> str:
        """The valid values in words, e.g. 'an integer in [1, 1024] (steps)'."""
        if self.path:
            text = "a folder path ('' when the dataset needs none)"
        elif not self.declared:
            text = _KIND_WORDS.get(self.kind, self.kind.__name__)
        elif self.choices is not None:
            text = f"one of {', '.join(map(str, self.choices))}"
        elif self.kind is bool:
            text = "true or false"
        else:
            noun = "an integer" if self.kind is int else "a finite number"
            text = f"{noun} in [{_num(self.low)}, {_num(self.high)}]"
        return f"{text} ({self.unit})" if self.unit else text

    @property
    def declared(self) -> bool:
        """Declared with `setting(...)` (choices, a range or a folder), not read off a default."""
        return self.path or self.choices is not None or self.low is not None or self.kind is bool

    def parse(self, value: Any) -> Any:
        """`value` as the field's type: text (a flag, a grid value, a form's box) is read, a
        value of another type passed on for `check`. Not range-checked: see `read`.

        Text for a number is stripped; an integer is written in digits ('2.5' and '1e3' are
        refused, never rounded); a bool is true/false, yes/no, on/off or 1/0. An int given for
        a float field becomes a float. Raises FieldError for no value, empty text for a number
        or bool, and text that is not one.
        """
        if value is None or (self.kind is not str and isinstance(value, str)
                             and not value.strip()):
            raise FieldError(self.name, value, self.valid(),
                             f"{self.name} needs a value: {self.valid()}; default {self.default}")
        if isinstance(value, str) and self.kind is not str:
            text = value.strip()
            if self.kind is bool and text.lower() in _TRUE + _FALSE:
                return text.lower() in _TRUE
            if self.kind is int and _INTEGER.fullmatch(text):
                return int(text)
            if self.kind is float:
                try:
                    return float(text)
                except ValueError:
                    pass
            raise FieldError(self.name, text, self.valid())
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    def read(self, value: Any) -> Any:
        """`parse` then `check`: the field's value from `value`, or FieldError."""
        value = self.parse(value)
        self.check(value)
        return value

    def check(self, value: Any) -> None:
        """Raise FieldError('name must be VALID, got VALUE') unless `value` is accepted (a
        field not declared with `setting` checks its type only)."""
        if not self.declared:
            ok = isinstance(value, self.kind) and not (self.kind is int
                                                       and isinstance(value, bool))
        elif self.path:

            ok = isinstance(value, str) and "\x00" not in value
        elif self.choices is not None:
            ok = value in self.choices
        elif self.kind is bool:
            ok = isinstance(value, bool)
        elif self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            ok = ok and self.low <= value <= self.high
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and (math.isfinite(value) or value in (self.low, self.high))
            ok = ok and self.low <= value <= self.high
        if not ok:
            raise FieldError(self.name, value, self.valid())


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_INTEGER = re.compile(r"[+-]?\d+")
_KIND_WORDS = {int: "an integer", float: "a finite number", str: "text"}


def _num(x: float | None) -> str:
    if x is None:
        return "?"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def setting(default: Any, *, choices: tuple[Any, ...] | None = None, low: float | None = None,
            high: float | None = None, unit: str = "", help: str = "", path: bool = False) -> Any:
    """A dataclass field with its valid values declared as data (see `spec`).

    Numbers need both bounds (use ±math.inf only where an infinite value means something, e.g.
    'no floor'); strings need `choices`, or `path=True` for a folder.
    """
    kind = type(default)
    if kind in (int, float) and choices is None and (low is None or high is None):
        raise TypeError("numeric settings need both low and high")
    if kind is str and choices is None and not path:
        raise TypeError("string settings need choices (or path=True)")
    meta = {"choices": tuple(choices) if choices is not None else None, "low": low,
            "high": high, "unit": unit, "help": help, "path": path}
    return dataclasses.field(default=default, metadata={"lab": meta})


def specs(config_cls: type) -> list[FieldSpec]:
    """Every declared field of `config_cls`, in order."""
    out = []
    for f in dataclasses.fields(config_cls):
        meta = f.metadata.get("lab")
        if meta is not None:
            out.append(FieldSpec(f.name, type(f.default), f.default, **meta))
    return out


def spec(config_cls: type, name: str) -> FieldSpec:
    """The declared spec of field `name` of `config_cls`."""
    for s in specs(config_cls):
        if s.name == name:
            return s
    names = ", ".join(s.name for s in specs(config_cls))
    raise FieldError(name, name, f"one of {names}",
                     f"{name} is not a field of {config_cls.__name__}: fields are {names}")


def validate(config: Any) -> None:
    """Check every declared field of `config`; the first bad one raises ConfigError."""
    for s in specs(type(config)):
        s.check(getattr(config, s.name))
    if getattr(config, "device", None) == "cuda" and not _cuda_available():
        raise FieldError("device", "cuda", "'cpu' or 'auto' on a machine without CUDA",
                         "device must be 'cpu' or 'auto' on a machine without CUDA, got 'cuda'")


def require(ok: bool, name: str, valid: str, value: Any) -> None:
    """Raise FieldError('name must be VALID, got VALUE') unless `ok` (checks across fields:
    `name` is the field the error belongs to)."""
    if not ok:
        raise FieldError(name, value, valid)


def one_of(name: str, value: Any, choices: tuple) -> None:
    require(value in choices, name, f"one of {', '.join(map(str, choices))}", value)


def positive(name: str, value: float, integer: bool = True) -> None:
    require(value > 0, name, "≥ 1" if integer else "> 0", value)


# The fields every method shares, declared once.
def seed_setting() -> Any:
    return setting(0, low=0, high=SEED_MAX, help="model seed: initialisation, noise, shuffling")


def data_seed_setting() -> Any:
    return setting(0, low=0, high=SEED_MAX,
                   help="data seed: the train/validation/test split and generated data")


def epochs_setting(default: int) -> Any:
    return setting(default, low=1, high=1000, unit="passes over the training set")


def batch_size_setting(default: int = 32) -> Any:
    return setting(default, low=1, high=65536, unit="samples")


def lr_setting(default: float) -> Any:
    return setting(default, low=1e-6, high=10.0, help="Adam's learning rate")


def timesteps_setting(default: int, help: str = "") -> Any:
    return setting(default, low=1, high=1024, unit="steps", help=help)


def device_setting() -> Any:
    return setting("auto", choices=("auto", "cpu", "cuda"), help="auto: CUDA when present")


def threshold_setting(default: float = 1.0) -> Any:
    return setting(default, low=1e-3, high=1e3, unit="θ, membrane units")


def data_dir_setting() -> Any:
    return setting("", path=True, help="folder of the files of a dataset read from disk: "
                   "nmnist (holding NMNIST/Train, NMNIST/Test: tonic's layout), dvsgesture "
                   "(holding DVSGesture/ibmGestureTrain, ibmGestureTest: tonic's), "
                   "cifar10/cifar100 (holding cifar-10-batches-py/ or cifar-100-python/)")


def as_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def resolve_device(name: str) -> torch.device:
    """'auto' → CUDA when present, else CPU."""
    import torch  # here: `python -m lab --help` reads configs without torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
