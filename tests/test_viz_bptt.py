"""The figures of notebook 02b draw what the lab computes: the encodings of `lab.core.encoding`
and the surrogate gradient of snnTorch's arctan surrogate."""

from __future__ import annotations

import math

import pytest
import torch

from lab.core import data, encoding
from lab.viz import bptt as viz


@pytest.fixture(scope="module")
def image():
    return data.load("digits", seed=0).x_test[0]


def trace(fig, name: str):
    (found,) = [t for t in fig.data if t.name == name]
    return found


def test_encoded_is_lab_core_encoding_one_row_per_pixel(image):
    x = viz.encoded(image, 12, "rate", seed=3)
    assert x.shape == (64, 12)
    assert torch.equal(x.T, encoding.encode(image.reshape(1, -1).double(), 12, "rate", 3)[:, 0])


def test_direct_code_reproduces_the_image_exactly(image):
    fig = viz.encoding_figure(image, timesteps=5, encoding="direct")
    assert "= 0.000 per pixel" in fig.layout.title.text
    assert trace(fig, "mean over T steps").z == trace(fig, "image").z


@pytest.mark.parametrize("timesteps", [1, 16])
def test_rate_code_is_binary_and_its_error_falls_with_t(image, timesteps):
    fig = viz.encoding_figure(image, timesteps=timesteps, encoding="rate")
    rows = trace(fig, "input over time").z
    assert len(rows) == 64 and len(rows[0]) == timesteps
    assert {v for row in rows for v in row} <= {0.0, 1.0}


def test_rate_code_error_shrinks_like_one_over_root_t(image):
    def error(T):
        x = viz.encoded(image, T, "rate", seed=0)
        return float((x.mean(1) - image.flatten().double()).abs().mean())
    assert error(256) < error(4) / 3


@pytest.mark.parametrize("alpha", [0.5, 2.0, 5.0])
def test_surrogate_gradient_is_the_arctan_derivative(alpha):
    c = viz.surrogate_curves(alpha)
    formula = alpha / 2 / (1 + (math.pi / 2 * alpha * c["x"]) ** 2)
    assert torch.allclose(c["grad"].double(), formula, rtol=1e-5)
    assert float(c["grad"].max()) == pytest.approx(alpha / 2)
    assert float(c["smooth"][200]) == pytest.approx(0.5) and float(c["x"][200]) == 0.0
    assert torch.equal(c["step"], (c["x"] >= 0).double())


def test_surrogate_figure_traces_and_bad_alpha():
    fig = viz.surrogate_figure(3.0)
    assert max(trace(fig, "dS/dx (backward)").y) == pytest.approx(1.5)
    assert set(trace(fig, "true dH/dx = 0").y) == {0.0}
    with pytest.raises(ValueError, match="alpha"):
        viz.surrogate_curves(0.0)


def test_accuracy_figure_one_line_per_run():
    fig = viz.accuracy_figure({"a": [10.0, 80.0, 85.0], "b": [12.0, 70.0]})
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[0].x) == [1, 2, 3] and list(fig.data[1].y) == [12.0, 70.0]
