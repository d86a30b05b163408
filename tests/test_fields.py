"""One parser: each config field reads and checks its own text, for the CLI, a sweep's grid and
the dashboard's form alike; its errors carry the field as data. And the vectorised t-interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from lab import bptt, cli, ttl_bptt
from lab.core import config as cfg
from lab.core import stats
from lab.core.config import ConfigError, FieldError
from lab.core.results import ResultsStore, StoreError
from lab.dashboard.forms import validate
from lab.sweep import make


def through_cli(field: str, text: str) -> object:
    """The value `python -m lab run bptt --<field> <text>` builds its Config with, or the error
    line it prints (parsing by argparse's type, then the Config's check, as `cli._run`)."""
    flag = "--" + field.replace("_", "-")
    try:
        args = cli._parser().parse_args(cli._negative_values(["run", "bptt", flag, text]))
    except SystemExit:
        return "refused"
    fields = {s.name: getattr(args, s.name) for s in cfg.specs(bptt.Config)}
    try:
        return getattr(bptt.Config(**fields), field)
    except FieldError as err:
        return ("refused", err.field)


def through_sweep(field: str, text: str) -> object:
    try:
        return make("bptt", {field: [text]}, seeds=1).configs()[0].__dict__[field]
    except FieldError as err:
        return ("refused", err.field)


def through_form(field: str, text: str) -> object:
    config, errors = validate(bptt.Config, {field: text})
    return getattr(config, field) if config is not None else ("refused", *errors)


@pytest.mark.parametrize(("field", "text", "value"), [
    ("timesteps", "6", 6), ("timesteps", " +6 ", 6), ("timesteps", "2.5", None),
    ("timesteps", "1e3", None), ("timesteps", "abc", None), ("timesteps", "0", None),
    ("timesteps", "2000", None), ("lr", "1e-3", 0.001), ("lr", "2", 2.0), ("lr", "nan", None),
    ("lr", "inf", None), ("lr", "-1", None), ("seed", "4294967296", None),
    ("dataset", "digits", "digits"), ("dataset", "cifar", None), ("device", "cpu", "cpu"),
])
def test_the_cli_the_sweep_and_the_form_read_a_text_alike(field, text, value):
    cli_value, sweep_value, form_value = (f(field, text) for f in (through_cli, through_sweep,
                                                                   through_form))
    if value is not None:
        assert cli_value == sweep_value == form_value == value
        assert type(cli_value) is type(sweep_value) is type(form_value) is type(value)
    else:  # refused by all three, each naming the field (argparse exits for text, not a number)
        assert sweep_value == form_value == ("refused", field)
        assert cli_value in ("refused", ("refused", field))


def test_a_field_parses_then_checks_and_its_error_carries_the_field():
    spec = cfg.spec(bptt.Config, "timesteps")
    assert spec.parse(" 12 ") == 12 and spec.read("12") == 12
    assert spec.parse("0") == 0  # parse reads the type only; read also checks the range
    with pytest.raises(FieldError) as caught:
        spec.read("0")
    err = caught.value
    assert (err.field, err.value, err.valid) == ("timesteps", 0, spec.valid())
    assert isinstance(err, ConfigError)
    with pytest.raises(FieldError) as caught:
        spec.parse("2.5")
    assert (caught.value.field, caught.value.value) == ("timesteps", "2.5")
    with pytest.raises(FieldError, match="timesteps needs a value"):
        spec.parse("  ")
    lr = cfg.spec(bptt.Config, "lr")
    assert lr.parse(1) == 1.0 and type(lr.parse(1)) is float
    with pytest.raises(FieldError):
        lr.read(True)  # a bool is not a number


@pytest.mark.parametrize(("text", "value"), [("true", True), ("Yes", True), (" off ", False),
                                             ("0", False)])
def test_a_bool_field_reads_its_words(text, value):
    spec = cfg.FieldSpec("flag", bool, False)
    assert spec.read(text) is value
    with pytest.raises(FieldError):
        spec.read("maybe")


def test_a_cross_field_error_names_its_field_as_data():
    with pytest.raises(FieldError) as caught:
        ttl_bptt.Config(timesteps=4, truncation_length=8)
    assert caught.value.field == "truncation_length" and caught.value.value == 8


@dataclass(frozen=True)
class Clash:
    """A Config whose cross-field error's message does not start with the field it names."""

    low: int = cfg.setting(1, low=0, high=10)
    high: int = cfg.setting(2, low=0, high=10)

    def __post_init__(self) -> None:
        cfg.validate(self)
        if self.high < self.low:
            raise FieldError("high", self.high, f"≥ low ({self.low})",
                             "the upper end lies below the lower one")


def test_the_form_places_an_error_by_its_field_not_by_its_text():
    config, errors = validate(Clash, {"low": "5", "high": "3"})
    assert config is None and errors == {"high": "the upper end lies below the lower one"}
    config, errors = validate(Clash, {"low": "x", "high": "11"})
    assert set(errors) == {"low", "high"}  # every field's own error at once
    assert validate(Clash, {"low": "3", "high": "5"}) == (Clash(3, 5), {})


def test_sweep_spec_errors_carry_their_field():
    with pytest.raises(FieldError) as caught:
        make("bptt", {"epochs": ["two"]}, seeds=1)
    assert caught.value.field == "epochs"
    with pytest.raises(FieldError) as caught:
        make("bptt", {"nonsense": ["1"]}, seeds=1)
    assert caught.value.field == "nonsense"
    with pytest.raises(FieldError) as caught:
        make("bptt", {"epochs": [1]}, seeds=0)
    assert caught.value.field == "seeds"


def test_an_unusable_results_path_is_a_store_error_and_one_cli_line(tmp_path, capsys):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(StoreError, match="not a usable SQLite database"):
        ResultsStore(folder)
    assert cli.main(["results", "--results", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: results path") and "\n" not in err


def test_half_widths_are_summary_intervals_column_by_column():
    rng = np.random.default_rng(0)
    values = rng.normal(90.0, 2.0, size=(5, 4))
    values[:, 2] = 88.0  # identical: the interval is that one value
    widths = stats.half_widths(values)
    for j in range(values.shape[1]):
        s = stats.summary(values[:, j])
        assert widths[j] == pytest.approx((s.ci_high - s.ci_low) / 2, rel=1e-9, abs=1e-12)
    assert widths[2] == 0.0
    assert all(math.isnan(w) for w in stats.half_widths(values[:1]))  # n = 1: unknown, as summary
    with pytest.raises(ValueError, match="seeds, columns"):
        stats.half_widths(values[0])
