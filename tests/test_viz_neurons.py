"""The neuron figures of notebook 01: what they draw agrees with `simulate` and the theory."""

from __future__ import annotations

import pytest
import torch

from lab.core.neurons import NeuronParams, simulate
from lab.viz import neurons as viz


def trace(fig, name: str):
    (found,) = [t for t in fig.data if t.name == name]
    return found


@pytest.mark.parametrize("current, threshold, timesteps", [(0.3, 1.0, 16), (0.77, 0.5, 9)])
def test_membrane_figure_marks_every_spike_of_simulate(current, threshold, timesteps):
    fig = viz.membrane_figure(current, threshold=threshold, timesteps=timesteps)
    out = simulate(torch.full((timesteps,), current, dtype=torch.float64),
                   NeuronParams(threshold))
    spikes = trace(fig, "spikes")
    assert len(spikes.x) == int(out.spikes.sum()) > 0
    assert list(spikes.x) == [float(t + 1) for t in torch.nonzero(out.spikes).flatten()]
    assert all(v >= threshold for v in spikes.y)  # each marker sits where v crossed θ
    assert trace(fig, "residual v[T]").y[0] == pytest.approx(float(out.v_final), abs=1e-4)


def test_membrane_figure_threshold_line_and_sawtooth():
    fig = viz.membrane_figure(0.45, threshold=0.8, timesteps=12, v_init=0.5)
    assert set(trace(fig, "threshold θ").y) == {0.8}
    v = trace(fig, "v").y
    assert v[0] == pytest.approx(0.4)  # v[0] = 0.5·θ
    drops = [before - after for before, after in zip(v[1::2], v[2::2], strict=True)]
    assert {round(d, 3) for d in drops} == {0.0, 0.8}  # reset by subtraction removes exactly θ
    assert sum(round(d, 3) == 0.8 for d in drops) == len(trace(fig, "spikes").x)


def test_membrane_figure_reset_to_zero_drops_to_zero():
    fig = viz.membrane_figure(0.4, reset="zero", timesteps=16)
    v = trace(fig, "v").y
    fired = [after for before, after in zip(v[1::2], v[2::2], strict=True) if before >= 1.0]
    assert fired and set(fired) == {0.0}


@pytest.mark.parametrize("profile", viz.PROFILES)
def test_title_states_the_rate_identity_with_zero_loss_for_if_subtract(profile):
    assert "lost (0.000)" in viz.membrane_figure(0.6, profile=profile).layout.title.text


@pytest.mark.parametrize("kwargs", [{"reset": "zero"}, {"beta": 0.8}])
def test_title_shows_the_loss_of_a_zero_reset_or_a_leak(kwargs):
    assert "lost (0.000)" not in viz.membrane_figure(0.4, **kwargs).layout.title.text


@pytest.mark.parametrize("timesteps", [1, 7, 16])
def test_input_current_profiles_keep_the_mean(timesteps):
    for profile in viz.PROFILES:
        drive = viz.input_current(0.3, timesteps, profile)
        assert drive.shape == (timesteps,)
        assert float(drive.mean()) == pytest.approx(0.3, abs=1e-12)
    early = viz.input_current(0.3, 16, "early")
    assert early[:8].min() > early[8:].max()
    assert torch.equal(viz.input_current(0.3, 16, "late"), early.flip(0))


def test_early_input_leaves_a_negative_residual_and_more_spikes():
    constant = viz.membrane_figure(0.3, profile="constant")
    early = viz.membrane_figure(0.3, profile="early")
    assert trace(early, "residual v[T]").y[0] < 0 <= trace(constant, "residual v[T]").y[0]
    assert len(trace(early, "spikes").x) > len(trace(constant, "spikes").x)


@pytest.mark.parametrize("threshold, timesteps", [(1.0, 4), (1.0, 8), (0.6, 5)])
def test_staircase_steps_are_threshold_over_timesteps(threshold, timesteps):
    fig = viz.staircase_figure(threshold, timesteps)
    levels = sorted(set(trace(fig, "SNN rate θ·Σs/T").y))
    step = threshold / timesteps
    assert levels == pytest.approx([k * step for k in range(timesteps + 1)], abs=1e-4)
    assert f"θ/T = {step:.4g}" in fig.layout.title.text
    ann = trace(fig, "ANN clip(z, 0, θ)").y
    assert min(ann) == 0 and max(ann) == pytest.approx(threshold)


def test_staircase_residual_stays_in_zero_threshold_for_if_inputs_in_range():
    fig = viz.staircase_figure(1.0, 8)
    z, v = trace(fig, "residual v[T]").x, trace(fig, "residual v[T]").y
    inside = [vi for zi, vi in zip(z, v, strict=True) if 0 <= zi <= 1]
    assert inside and all(0 <= vi < 1 for vi in inside)
    assert max(v) > 1  # z > θ: one spike per step cannot keep up, v[T] grows


@pytest.mark.parametrize("beta, reset", [(0.9, "subtract"), (1.0, "zero")])
def test_staircase_levels_are_multiples_of_the_step_for_any_neuron(beta, reset):
    levels = set(trace(viz.staircase_figure(1.0, 8, beta=beta, reset=reset),
                       "SNN rate θ·Σs/T").y)
    assert all(abs(level * 8 - round(level * 8)) < 1e-3 for level in levels)


def test_rate_curve_half_threshold_start_rounds_to_nearest():
    z = torch.rand(2000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = 1.4 * z - 0.2
    threshold, timesteps = 0.7, 6
    rate, v_final = viz.rate_curve(z * threshold, threshold, timesteps, v_init=0.5)
    expected = threshold / timesteps * torch.floor(z.clamp(0, 1) * timesteps + 0.5)
    assert torch.allclose(rate, expected)
    floor_rate, _ = viz.rate_curve(z * threshold, threshold, timesteps)
    assert torch.allclose(floor_rate, threshold / timesteps
                          * torch.floor(z * timesteps).clamp(0, timesteps))
    assert v_final.shape == z.shape


def test_rate_identity_figure_puts_corrected_points_on_the_diagonal():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(50, generator=g, dtype=torch.float64)
    residual = 0.1 * torch.randn(50, generator=g, dtype=torch.float64)
    fig = viz.rate_identity_figure(z, z - residual, residual)
    corrected = trace(fig, "rate vs z − residual")
    assert corrected.x == pytest.approx(corrected.y, abs=2e-4)
    assert "< 1e-9" in fig.layout.title.text
    off = viz.rate_identity_figure(z, z, residual)
    assert "< 1e-9" not in off.layout.title.text


@pytest.mark.parametrize("kwargs, name", [
    ({"threshold": 0.0}, "threshold"), ({"beta": 1.5}, "beta"), ({"reset": "hard"}, "reset"),
    ({"timesteps": 0}, "timesteps"), ({"profile": "random"}, "profile"),
])
def test_membrane_figure_rejects_bad_input_naming_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        viz.membrane_figure(**kwargs)


def test_staircase_rejects_bad_input_naming_the_parameter():
    with pytest.raises(ValueError, match="points"):
        viz.staircase_figure(points=1)
    with pytest.raises(ValueError, match="timesteps"):
        viz.staircase_figure(timesteps=0)


def test_figures_are_deterministic():
    assert viz.membrane_figure(0.5, profile="late").to_json() == viz.membrane_figure(
        0.5, profile="late").to_json()
    assert viz.staircase_figure(v_init=0.5).to_json() == viz.staircase_figure(
        v_init=0.5).to_json()


def test_every_figure_has_the_lab_look_and_a_one_line_description():
    from lab.core import theme

    z = torch.linspace(-0.5, 1.5, 20, dtype=torch.float64)
    for fig in (viz.membrane_figure(0.3), viz.staircase_figure(timesteps=4),
                viz.rate_identity_figure(z, z.clamp(0, 1), 0 * z)):
        assert fig.layout.template.layout.colorway == \
            theme.pio.templates[theme.TEMPLATE].layout.colorway
        text = theme.description(fig)
        assert text and "\n" not in text and len(text) <= 95  # fits under a 530 px figure
        assert fig.layout.title.subtitle.text == text
        # no information by colour alone: every trace differs from the others in its dash,
        # marker or kind, not only in its colour
        marks = [(t.type, t.to_plotly_json().get("mode"),
                  t.to_plotly_json().get("line", {}).get("dash"),
                  t.to_plotly_json().get("marker", {}).get("symbol"),
                  t.to_plotly_json().get("line", {}).get("shape")) for t in fig.data]
        assert len(set(marks)) == len(marks), marks
