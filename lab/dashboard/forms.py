"""Launch forms built from a method's `Config` dataclass: the very object the CLI builds.

Widgets follow the field's default type (as the CLI's flags do); a `str` field validated with
`one_of` becomes a menu of its choices, read back from the ConfigError it raises on a probe
value. Errors are the Config's own messages, each shown next to the field it names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import panel as pn
import param

from ..core.config import ConfigError

_PROBE = "\x00not a choice"


@dataclass(frozen=True)
class FieldSpec:
    """One Config field as a form sees it."""

    name: str
    kind: type
    default: Any
    choices: tuple[str, ...] | None = None


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc]


def choices_of(config_cls: type, name: str) -> tuple[str, ...] | None:
    """The values `config_cls` accepts for str field `name`, if it checks them with `one_of`."""
    prefix = f"{name} must be one of "
    try:
        config_cls(**{name: _PROBE})
    except ConfigError as err:
        message = str(err)
        if message.startswith(prefix) and ", got " in message:
            return tuple(message[len(prefix):].rsplit(", got ", 1)[0].split(", "))
    except Exception:  # noqa: BLE001  (a probe only: any other failure means "free text")
        return None
    return None


def field_specs(config_cls: type) -> list[FieldSpec]:
    """The form's fields, in the dataclass's order."""
    specs = []
    for field in dataclasses.fields(config_cls):
        default = _default(field)
        kind = type(default)
        choices = choices_of(config_cls, field.name) if kind is str else None
        specs.append(FieldSpec(field.name, kind, default, choices))
    return specs


def field_of(message: str, names: list[str]) -> str:
    """The field a ConfigError message names (it starts with it), or '' for the whole form."""
    first = message.split(" ", 1)[0]
    return first if first in names else ""


def validate(config_cls: type, values: dict[str, Any]) -> tuple[Any | None, dict[str, str]]:
    """`(config, {})` when `config_cls(**values)` is valid, else `(None, {field: message})`.

    Each field is also checked alone against the defaults, so every bad field is reported at
    once, not only the first one `__post_init__` meets; '' keys an error that names no field.
    """
    try:
        return config_cls(**values), {}
    except (ConfigError, TypeError, ValueError) as err:
        whole = str(err)
    names = list(values)
    defaults = {f.name: _default(f) for f in dataclasses.fields(config_cls)}
    errors: dict[str, str] = {}
    for name, value in values.items():
        if value is None or (value == "" and not isinstance(defaults[name], str)):
            errors[name] = f"{name} needs a value (default: {defaults[name]})"
            continue
        try:
            config_cls(**{**defaults, name: value})
        except (ConfigError, TypeError, ValueError) as err:
            if field_of(str(err), names) in (name, ""):  # not a clash with another default
                errors[name] = str(err)
    errors.setdefault(field_of(whole, names), whole)  # a check across fields, if any
    return None, errors


def _widget(spec: FieldSpec) -> pn.widgets.Widget:
    label = spec.name.replace("_", " ")
    tip = f"--{spec.name.replace('_', '-')} on the command line; default {spec.default!r}"
    common = {"label": label, "value": spec.default, "description": tip, "width": 190,
              "css_classes": [f"field-{spec.name}"]}
    if spec.kind is bool:
        return pn.widgets.Checkbox(label=label, value=spec.default, width=190, margin=(28, 10),
                                   css_classes=[f"field-{spec.name}"])
    if spec.kind is int:
        return pn.widgets.IntInput(**common)
    if spec.kind is float:
        return pn.widgets.FloatInput(**common, format="0[.]0[00000]")
    if spec.choices:
        return pn.widgets.Select(**common, options=list(spec.choices))
    return pn.widgets.TextInput(**common)


class ConfigForm(pn.viewable.Viewer):
    """Widgets for every field of a Config; `config` is the validated object or None."""

    config = param.Parameter(default=None, doc="the valid Config, or None while invalid")
    errors = param.Dict(default={}, doc="field name ('' for the whole form) → message")

    def __init__(self, config_cls: type, **params: Any) -> None:
        super().__init__(**params)
        self.config_cls = config_cls
        self.specs = field_specs(config_cls)
        self.widgets = {s.name: _widget(s) for s in self.specs}
        self._messages = {s.name: pn.pane.HTML("", visible=False, width=190, margin=(0, 10),
                                               css_classes=["field-error", f"error-{s.name}"],
                                               styles={"color": "#c62828", "font-size": "12px"})
                          for s in self.specs}
        self._form_message = pn.pane.Alert("", alert_type="danger", visible=False)
        for w in self.widgets.values():
            w.param.watch(lambda _: self.validate(), "value")
        self.validate()

    @property
    def values(self) -> dict[str, Any]:
        return {name: w.value for name, w in self.widgets.items()}

    def set(self, **values: Any) -> None:
        """Set widget values by field name (as a user would type them)."""
        for name, value in values.items():
            self.widgets[name].value = value

    def reset(self) -> None:
        self.set(**{s.name: s.default for s in self.specs})

    def validate(self) -> Any | None:
        """Build the Config from the widgets; show each error next to its field."""
        self.config, self.errors = validate(self.config_cls, self.values)
        for name, pane in self._messages.items():
            pane.object = _escape(self.errors.get(name, ""))
            pane.visible = name in self.errors
        self._form_message.object = self.errors.get("", "")
        self._form_message.visible = "" in self.errors
        return self.config

    def __panel__(self) -> pn.viewable.Viewable:
        cells = [pn.Column(self.widgets[s.name], self._messages[s.name], margin=0)
                 for s in self.specs]
        return pn.Column(pn.FlexBox(*cells, gap="4px 0"), self._form_message,
                         sizing_mode="stretch_width")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
