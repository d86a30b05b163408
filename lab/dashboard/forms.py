"""Launch forms built from a method's `Config` dataclass: the very object the CLI builds.

Each field's widget, choices and valid range come from what the Config declares with
`lab.core.config.setting(...)` (read with `specs`): a field with choices is a menu, a bool a
checkbox, a number a text box that the field reads itself (`FieldSpec.read`, as the CLI's flags
and a sweep's grid are read), so '2.5' for an integer or 'nan' is refused with the field's valid
range instead of being rounded or passed on. A field declared without `setting(...)` falls back
to its default's type, with no choices or range. Errors are `FieldError`s, each shown next to
the field it carries.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

import panel as pn
import param

from ..core.config import ConfigError, FieldError, FieldSpec, specs


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc]


def field_specs(config_cls: type) -> list[FieldSpec]:
    """Every field of `config_cls` in the dataclass's order: the spec it declares, or (declared
    without `setting(...)`) one with its default's type and no choices or range."""
    declared = {s.name: s for s in specs(config_cls)}
    return [declared.get(f.name) or FieldSpec(f.name, type(_default(f)), _default(f))
            for f in dataclasses.fields(config_cls)]


def validate(config_cls: type, values: dict[str, Any]) -> tuple[Any | None, dict[str, str]]:
    """`(config, {})` when `values` (as typed, or already typed) make a valid `config_cls`,
    else `(None, {field: message})`.

    Each field reads its own value (`FieldSpec.read`: its type, then its range), so every bad
    field is reported at once; then the Config is built, and a check across fields is shown next
    to the field its `FieldError` names ('' keys an error that names no field of the form).
    """
    fields = {s.name: s for s in field_specs(config_cls)}
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in values.items():
        try:
            parsed[name] = fields[name].read(value) if name in fields else value
        except FieldError as err:
            errors[name] = str(err)
    if errors:
        return None, errors
    try:
        return config_cls(**parsed), {}
    except FieldError as err:
        return None, {err.field if err.field in fields else "": str(err)}
    except (ConfigError, TypeError, ValueError) as err:
        return None, {"": str(err)}


def command_line(method: str, config_cls: type, values: dict[str, Any]) -> str:
    """The `python -m lab run` line that builds `values` (e.g. a stored run's config) as a
    `config_cls` of `method`: every field of the Config that `values` holds, in the Config's
    order, so the line means the same run even after a default changes.

    A bool is `--flag` / `--no-flag` (the CLI's BooleanOptionalAction); a value starting with
    '-' is written `--flag=-1` (argparse would read `-1` alone as an option).

    For example `command_line("bptt", bptt.Config, {"timesteps": 4, "lr": 0.001})` is
    `python -m lab run bptt --timesteps 4 --lr 0.001`.
    """
    words = ["python", "-m", "lab", "run", method]
    for spec in field_specs(config_cls):
        if spec.name not in values:
            continue
        flag, value = "--" + spec.name.replace("_", "-"), values[spec.name]
        if isinstance(value, bool):
            words.append(flag if value else "--no-" + flag[2:])
            continue
        text = repr(value) if isinstance(value, float) else str(value)
        words += [f"{flag}={text}"] if text.startswith("-") else [flag, text]
    return shlex.join(words)


def tooltip(spec: FieldSpec) -> str:
    """The valid range, the reason for the field, its flag and its default."""
    reason = f" — {spec.help}" if spec.help else ""
    return (f"{spec.valid()}{reason}. --{spec.name.replace('_', '-')} on the command line; "
            f"default {spec.default!r}")


def _typed_in(spec: FieldSpec) -> bool:
    """Whether the field's widget is a text box (numbers and free text), not a menu or box."""
    return spec.kind is not bool and not spec.choices


def _widget(spec: FieldSpec) -> pn.widgets.Widget:
    label = spec.name.replace("_", " ")
    css = [f"field-{spec.name}"]
    if spec.kind is bool:
        return pn.widgets.Checkbox(label=label, value=spec.default, width=190, margin=(28, 10),
                                   css_classes=css)
    common = {"label": label, "description": tooltip(spec), "width": 190, "css_classes": css}
    if spec.choices:
        return pn.widgets.Select(**common, value=spec.default, options=list(spec.choices))
    return pn.widgets.TextInput(**common, value=str(spec.default), placeholder=spec.valid())


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
        """What the widgets hold: text for numbers, as typed."""
        return {name: w.value for name, w in self.widgets.items()}

    def set(self, **values: Any) -> None:
        """Set widget values by field name (numbers as a user would type them, or as numbers)."""
        by_name = {s.name: s for s in self.specs}
        for name, value in values.items():
            typed = _typed_in(by_name[name]) and not isinstance(value, str)
            self.widgets[name].value = ("" if value is None else str(value)) if typed else value

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
