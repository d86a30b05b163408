"""What a check returns (`Feedback`) and the helpers every check uses to say what is wrong."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from torch import Tensor

Status = Literal["solved", "unsolved", "wrong"]
PREFIX: dict[Status, str] = {"solved": "✓ ", "unsolved": "not solved yet: ", "wrong": "✗ "}


@dataclass(frozen=True)
class Feedback:
    """The result of a check: its status and what to tell the student (shown as its repr)."""

    status: Status
    message: str

    def __bool__(self) -> bool:
        return self.status == "solved"

    def __repr__(self) -> str:
        return PREFIX[self.status] + self.message


class _Stop(Exception):
    """Ends a check early with its feedback."""

    def __init__(self, feedback: Feedback) -> None:
        super().__init__(feedback.message)
        self.feedback = feedback


def _wrong(what: str, hint: str) -> _Stop:
    return _Stop(Feedback("wrong", f"{what}\nHint: {hint}"))


def _check(fn: Callable[..., Feedback]) -> Callable[..., Feedback]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Feedback:
        try:
            return fn(*args, **kwargs)
        except _Stop as stop:
            return stop.feedback
    return run


def _call(fn: Callable[..., Any], *args: Any, hint: str, todo: str = "your code") -> Any:
    """fn(*args), turning NotImplementedError into 'not solved yet' and other errors into a hint."""
    name = getattr(fn, "__name__", "your function")
    try:
        return fn(*args)
    except NotImplementedError:
        raise _Stop(Feedback("unsolved", f"{name} still raises NotImplementedError. Replace "
                             f"`raise NotImplementedError()` with {todo}, run that cell, "
                             "then run this one again.")) from None
    except Exception as error:  # the student's bug, reported with a hint instead of a traceback
        raise _wrong(f"{name} raised {type(error).__name__}: {error}", hint) from None


def _tensor(value: Any, what: str, shape: tuple[int, ...]) -> Tensor:
    if not isinstance(value, Tensor):
        raise _wrong(f"{what} should be a torch tensor, got {type(value).__name__}.",
                     "build it with torch operations on the input tensor (torch.stack, …).")
    if tuple(value.shape) != shape:
        raise _wrong(f"{what} should have shape {list(shape)}, got {list(value.shape)}.",
                     "time is the first axis: [T, B] for spikes, [B] for one value per neuron.")
    return value.detach().double()


def _list(t: Tensor) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in t.tolist()) + "]"
