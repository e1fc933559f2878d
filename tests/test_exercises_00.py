"""Lesson 00's exercise checks pass the solutions and give hints (never exceptions) for wrong answers."""
import torch

from spade_lib.exercises import lesson00 as ex


def test_solutions_pass():
    assert ex.check_sky_fraction(ex.solution_sky_fraction())
    assert ex.check_one_hot(ex.solution_one_hot)
    assert ex.check_edges(ex.solution_edges)


def test_wrong_answers_get_hints():
    assert not ex.check_sky_fraction(None)
    assert "percentage" in repr(ex.check_sky_fraction(100 * ex.solution_sky_fraction()))
    assert not ex.check_sky_fraction("a lot")
    assert not ex.check_one_hot(lambda label, k: None)
    assert "last dimension" in repr(ex.check_one_hot(lambda label, k: ex.solution_one_hot(label, k).permute(1, 2, 0)))
    assert not ex.check_one_hot(lambda label, k: 1 / 0)
    one_sided = lambda inst: torch.nn.functional.pad((inst[:, 1:] != inst[:, :-1]).float(), (1, 0))  # noqa: E731
    assert "BOTH" in repr(ex.check_edges(one_sided))
    assert not ex.check_edges(lambda inst: None)


def test_show_solution_prints_source(capsys):
    from spade_lib.exercises import show_solution

    show_solution(0, 2)
    assert "def solution_one_hot" in capsys.readouterr().out


def test_checks_call_the_answer_through_call_student():
    """One exercise style in every lesson (issue 12): a function that raises gets a hint with its error, and
    something that is not a function gets the hint to pass the function itself."""
    def boom(*args):
        raise RuntimeError("boom")

    for check in (ex.check_one_hot, ex.check_edges):
        raised = check(boom)
        assert not raised and "raised RuntimeError: boom" in repr(raised)
        not_callable = check(42)
        assert not not_callable and "pass your function itself" in repr(not_callable)
