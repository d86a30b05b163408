"""The checks a student runs in the course notebooks, and the tool that writes student versions.

Each check runs the student's code against the lab's own implementation and returns a
`Feedback` that the notebook shows: "✓ …" when it is right; "not solved yet: …" while the
student's function still raises NotImplementedError (the stub nbgrader leaves in the student
version); otherwise what is wrong and a hint — never a bare False.

    check_if_loop(fn)             fn(current [T, B], params) -> (spikes [T, B], v[T] [B])
    check_rate_identity(fn)       fn(current [T, B], v_init [B], v_final [B]) -> rate [B]
    check_rate_encoding(fn)       fn(x [B, ...], timesteps, generator) -> spikes [T, B, ...]
    check_surrogate_gradient(fn)  fn(x, alpha) -> dS/dx, the arctan surrogate's derivative
    check_qcfs(fn)                fn(z, threshold, levels) -> QCFS(z) (notebook 02)
    check_expected_spike(fn)      fn(current, threshold, v_init, noise_std) -> E[s] (03)
    check_truncated_rollout(fn)   fn(current [T, B], params, K) -> spikes, v cut every K (04)
    check_first_steps(fn)         fn(graph, rollout) -> {node: first step seeing frame 0} (05)
    check_rewrite(fn)             fn(model) -> the same function, written so it converts (06)
    check_prediction(name, fn)    fn() -> the number predicted before running the experiment

A prediction's common wrong answers (`Prediction.wrong`, such as 8 here) get a sentence of
their own on what they overlooked, before the hint.

`make_student(src, dst)` writes the student version of an instructor notebook with nbgrader's
preprocessors; `python -m lab.exercises notebooks build/student` does every notebook with
exercises (`make student`).

Example:
    >>> check_prediction("if_spike_count", lambda: 7).status
    'solved'
    >>> check_prediction("if_spike_count", lambda: 12)
    ✗ you predicted 12: that is too high.
    Hint: count the charge: how much comes in over 16 steps, and how much does each spike take away?
"""

from .code import check_if_loop, check_rate_encoding, check_rate_identity, check_surrogate_gradient
from .feedback import PREFIX, Feedback, Status
from .methods import (
    check_expected_spike,
    check_first_steps,
    check_qcfs,
    check_rewrite,
    check_truncated_rollout,
)
from .predictions import PREDICTIONS, Prediction, check_prediction
from .student import has_exercises, main, make_student, make_students

__all__ = ["PREDICTIONS", "PREFIX", "Feedback", "Prediction", "Status", "check_expected_spike",
           "check_first_steps", "check_if_loop", "check_prediction", "check_qcfs",
           "check_rate_encoding", "check_rate_identity", "check_rewrite",
           "check_surrogate_gradient", "check_truncated_rollout", "has_exercises", "main",
           "make_student", "make_students"]
