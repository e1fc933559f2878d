"""Exercise checks for the lessons: ``check(...)`` prints a clear pass or a hint; solutions stay out of sight.

Each lesson has a module here (``lesson00.py``, ``lesson01.py``, ...) with one ``check_*`` function per exercise
and a ``SOLUTIONS`` dict of functions. A student who is stuck calls ``show_solution(lesson, number)``, which
prints the solution's source: it is available, but never inline in the lesson.
"""
import importlib
import inspect

import torch


class Result:
    """What a check returns: it prints as a one-line verdict and is truthy when the answer passed."""

    def __init__(self, passed: bool, message: str):
        self.passed, self.message = passed, message

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return ("✅ " if self.passed else "❌ ") + self.message


def passed(message: str = "correct!") -> Result:
    return Result(True, message)


def hint(message: str) -> Result:
    return Result(False, "not yet. Hint: " + message)


def call_student(function, *args, call: str = "your function"):
    """Run a student's function: ``(output, None)``, or ``(None, a hint saying what went wrong)``. Never raises.

    Every check calls the student's code through here, so that a wrong answer always gets a hint, never a traceback.
    ``call`` names the call in that hint, e.g. ``"count_statistics('batch', (8, 64, 32, 32), 1)"``, so that the
    student knows which case failed."""
    if not callable(function):
        return None, hint(f"pass your function itself (without calling it), got {type(function).__name__}.")
    try:
        return function(*args), None
    except Exception as error:  # the student's code: report, never raise
        return None, hint(f"{call} raised {type(error).__name__}: {error}")


def compare_tensors(answer, expected, what: str, atol=1e-5, rtol=1e-4) -> Result:
    """Compare a student's tensor with the expected one and say how they differ (type, shape, values)."""
    if not isinstance(answer, torch.Tensor):
        return hint(f"{what} should be a torch.Tensor, got {type(answer).__name__}.")
    if answer.shape != expected.shape:
        return hint(f"{what} should have shape {tuple(expected.shape)}, yours has {tuple(answer.shape)}.")
    if not torch.allclose(answer.double(), expected.double(), atol=atol, rtol=rtol):
        worst = (answer.double() - expected.double()).abs().max().item()
        return hint(f"{what} has the right shape but wrong values (largest difference {worst:.3g}).")
    return passed(f"{what} matches.")


def show_solution(lesson: int, number: int) -> None:
    """Print the solution of exercise ``number`` of lesson ``lesson`` (try first!)."""
    module = importlib.import_module(f"{__name__}.lesson{lesson:02d}")
    solutions = getattr(module, "SOLUTIONS", {})
    if number not in solutions:
        raise ValueError(f"lesson {lesson:02d} has solutions for exercises {sorted(solutions)}, not {number}")
    print(inspect.getsource(solutions[number]))
