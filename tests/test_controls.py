"""Controls for claims about time: blind to order, shuffled in time, told the frame index."""

from __future__ import annotations

import pytest
import torch

from lab import controls
from lab.core import data
from lab.core.config import ConfigError
from lab.events.order_gap import OrderGap


def _split(x: torch.Tensor, y: torch.Tensor, n_test: int) -> data.Split:
    """Recordings `[N, T, ...]` into train / validation / test (stratified validation)."""
    whole = data.Split(x[n_test:], y[n_test:], x[:n_test], y[:n_test], "toy")
    return data.with_validation(whole, seed=0)


def _clock_task(n: int, timesteps: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """One blip on a blank 2×2 sensor; class 1 when it comes in the first half: solvable only
    by reading the frame index (the multiset of frames is the same in both classes)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    t = torch.randint(0, timesteps // 2, (n,), generator=g) + (1 - y) * (timesteps // 2)
    x = torch.zeros(n, timesteps, 1, 2, 2)
    x[torch.arange(n), t] = 1.0
    return x, y


def test_shuffle_time_permutes_each_recording_its_own_way_and_is_seeded():
    x = torch.arange(4 * 6 * 3, dtype=torch.float32).reshape(4, 6, 3)
    s = controls.shuffle_time(x, seed=0)
    assert s.shape == x.shape
    for original, shuffled in zip(x, s, strict=True):  # frames move whole, none lost
        assert sorted(map(tuple, shuffled.tolist())) == sorted(map(tuple, original.tolist()))
    orders = [tuple((shuffled[:, 0] - original[0, 0]).div(3).long().tolist())
              for original, shuffled in zip(x, s, strict=True)]
    assert len(set(orders)) > 1 and any(o != tuple(range(6)) for o in orders)
    assert torch.equal(s, controls.shuffle_time(x, seed=0))
    assert not torch.equal(s, controls.shuffle_time(x, seed=1))


def test_shuffled_split_shuffles_every_part_and_keeps_labels():
    x, y = _clock_task(100)
    split = _split(x, y, 20)
    shuffled = controls.shuffled_split(split, seed=3)
    for a, b in ((split.x_train, shuffled.x_train), (split.x_val, shuffled.x_val),
                 (split.x_test, shuffled.x_test)):
        assert not torch.equal(a, b)
        torch.testing.assert_close(a.sum(1), b.sum(1))  # same frames, other order
    assert torch.equal(split.y_train, shuffled.y_train) and torch.equal(split.y_test,
                                                                        shuffled.y_test)


def test_memoryless_model_cannot_see_order_and_the_clock_model_can():
    torch.manual_seed(0)
    x = torch.rand(5, 8, 2, 3, 3)
    blind = controls.FrameModel((2, 3, 3), 2, hidden=16)
    torch.testing.assert_close(blind(controls.shuffle_time(x, 1)), blind(x))
    clock = controls.FrameModel((2, 3, 3), 2, hidden=16, timesteps=8)
    assert not torch.allclose(clock(controls.shuffle_time(x, 1)), clock(x))
    assert clock(x).shape == (5, 2)


def test_controls_on_a_clock_task_and_a_frame_task():
    """The frame-index control reads a clock the memoryless one cannot; both solve a task whose
    class shows in single frames."""
    x, y = _clock_task(600)
    split = _split(x, y, 150)
    config = controls.Config(epochs=15, lr=1e-2)
    assert controls.frame_index(split, config).test > 95
    blind = controls.memoryless(split, config)
    assert 35 < blind.test < 65 and 35 < blind.validation < 65
    per_frame = _split(x * (1 + y.view(-1, 1, 1, 1, 1)), y, 150)  # class 1: a brighter blip
    assert controls.memoryless(per_frame, config).test > 95


def test_controls_are_at_chance_on_the_order_task_where_order_decides():
    split = OrderGap(gap_min=1, gap_max=6).split(600, seed=0)
    config = controls.Config(epochs=6, lr=3e-3)
    assert abs(controls.memoryless(split, config).test - 50) <= 12


def test_shuffled_control_trains_the_callers_model_on_shuffled_frames():
    x, y = _clock_task(100)
    split = _split(x, y, 20)
    seen: list[data.Split] = []

    def fit(s: data.Split) -> controls.Accuracy:
        seen.append(s)
        return controls.Accuracy(50.0, 48.0)

    assert controls.shuffled(split, fit, seed=2) == controls.Accuracy(50.0, 48.0)
    assert torch.equal(seen[0].x_test, controls.shuffled_split(split, 2).x_test)


def test_order_needed_is_a_paired_interval_above_zero():
    assert controls.order_needed([99.0, 100.0, 98.5], [51.0, 49.0, 50.5])
    assert not controls.order_needed([90.0, 91.0, 89.0], [90.5, 89.0, 90.0])
    label = controls.order_label([90.0, 91.0, 89.0], [90.5, 89.0, 90.0])
    assert label.startswith("order not needed: reference − shuffled") and "n = 3" in label
    assert controls.order_label([99.0, 100.0], [50.0, 52.0]).startswith("order needed")
    with pytest.raises(ValueError, match="at least 2 matched seeds"):
        controls.order_needed([99.0], [50.0])
    with pytest.raises(ValueError, match="one a and one b per seed"):
        controls.order_needed([99.0, 98.0], [50.0])


@pytest.mark.parametrize(("field", "value"), [("epochs", 0), ("hidden", 0), ("lr", 0.0),
                                              ("batch_size", 0)])
def test_bad_control_config_names_the_field(field, value):
    with pytest.raises(ConfigError, match=f"^{field} must be"):
        controls.Config(**{field: value})


def test_frame_index_model_refuses_other_lengths():
    model = controls.FrameModel((1, 2, 2), 2, hidden=4, timesteps=8)
    with pytest.raises(ValueError, match="timesteps must be 8"):
        model(torch.zeros(3, 6, 1, 2, 2))
    with pytest.raises(ValueError, match="x must be recordings"):
        controls.shuffle_time(torch.zeros(5), seed=0)
