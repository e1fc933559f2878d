"""Lesson 10's exercise checks: each passes on its solution, and gives a hint (never an exception) otherwise."""
import pytest
import torch

from spade_lib import metrics
from spade_lib.exercises import lesson10, show_solution


def hint_given(result):
    return not result and "Hint" in repr(result)


# Exercise 1 -----------------------------------------------------------------------------------------------------

def test_class_accuracy_solution_passes():
    assert lesson10.check_class_accuracy(lesson10.SOLUTIONS[1])


def test_class_accuracy_solution_on_a_small_case():
    counts = torch.tensor([[8, 2, 0], [1, 1, 0], [0, 0, 0]])      # class 2 never labelled: left out
    assert lesson10.SOLUTIONS[1](counts) == pytest.approx((0.8 + 0.5) / 2)


def per_class(counts):
    c = counts.double()
    return c.diag() / c.sum(1)


@pytest.mark.parametrize("wrong", [
    lambda counts: None,  # the stub
    lambda counts: per_class(counts),  # no mean
    lambda counts: per_class(counts).mean(),  # NaN for an absent class
    lambda counts: per_class(counts).nan_to_num(0.0).mean(),  # absent classes count as 0
    lambda counts: (counts.double().diag() / counts.double().sum(0))[counts.sum(0) > 0].mean(),  # precision
    lambda counts: (counts.double().diag() / (counts.sum(0) + counts.sum(1) - counts.diag()))[
        (counts.sum(0) + counts.sum(1)) > 0].mean(),  # mIoU
    lambda counts: counts.double().diag().sum() / counts.sum(),  # pixel accuracy
    lambda counts: "high",  # not a number
    lambda counts: 1 / 0,  # raises
], ids=["none", "per-class", "nan", "absent-as-zero", "precision", "miou", "pixel-accuracy", "string", "raises"])
def test_class_accuracy_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson10.check_class_accuracy(wrong))


def test_class_accuracy_check_takes_none_itself():
    assert hint_given(lesson10.check_class_accuracy(None))


# Exercise 2 -----------------------------------------------------------------------------------------------------

def test_frechet_diagonal_solution_passes():
    assert lesson10.check_frechet_diagonal(lesson10.SOLUTIONS[2])


def test_frechet_diagonal_solution_agrees_with_the_library_formula():
    # frechet_distance on samples estimates means and covariances; on many samples of diagonal Gaussians the
    # two agree closely
    torch.manual_seed(0)
    mu_a, mu_b = torch.tensor([0.0, 1.0]), torch.tensor([0.5, -1.0])
    var_a, var_b = torch.tensor([1.0, 0.25]), torch.tensor([4.0, 1.0])
    a = mu_a + var_a.sqrt() * torch.randn(200_000, 2)
    b = mu_b + var_b.sqrt() * torch.randn(200_000, 2)
    expected = lesson10.SOLUTIONS[2](mu_a.double(), var_a.double(), mu_b.double(), var_b.double())
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("wrong", [
    lambda ma, va, mb, vb: None,  # the stub
    lambda ma, va, mb, vb: float(((ma - mb) ** 2).sum() + ((va.sqrt() - vb.sqrt()) ** 2).sum()) ** 0.5,  # d
    lambda ma, va, mb, vb: float(((va.sqrt() - vb.sqrt()) ** 2).sum()),  # no means
    lambda ma, va, mb, vb: float(((ma - mb) ** 2).sum()),  # means only
    lambda ma, va, mb, vb: float(((ma - mb) ** 2).sum() + (va + vb - 2 * va * vb).sum()),  # no root
    lambda ma, va, mb, vb: float(((ma - mb) ** 2).sum() + ((va - vb) ** 2).sum()),  # variances
    lambda ma, va, mb, vb: (ma - mb) ** 2 + (va.sqrt() - vb.sqrt()) ** 2,  # not summed
    lambda ma, va, mb, vb: 1 / 0,  # raises
], ids=["none", "root", "no-means", "means-only", "no-sqrt", "variances", "not-summed", "raises"])
def test_frechet_diagonal_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson10.check_frechet_diagonal(wrong))


def test_frechet_diagonal_check_takes_none_itself():
    assert hint_given(lesson10.check_frechet_diagonal(None))


# Exercise 3 -----------------------------------------------------------------------------------------------------

def test_pairwise_solution_passes():
    assert lesson10.check_pairwise_l1(lesson10.SOLUTIONS[3])


def full_matrix(images):
    flat = images.flatten(1)
    return torch.cdist(flat, flat, p=1) / flat.shape[1] / 2


@pytest.mark.parametrize("wrong", [
    lambda images: None,  # the stub
    lambda images: float(torch.pdist(images.flatten(1), p=1).mean() / images[0].numel()),  # no / 2
    lambda images: float(full_matrix(images).mean()),  # the diagonal's zeros included
    lambda images: float(torch.pdist(images.flatten(1), p=1).mean() / 2),  # summed over pixels
    lambda images: full_matrix(images),  # the matrix
    lambda images: float(torch.pdist(images.flatten(1), p=2).mean() / images[0].numel() / 2),  # L2
    lambda images: 1 / 0,  # raises
], ids=["none", "no-half", "diagonal", "pixel-sum", "matrix", "l2", "raises"])
def test_pairwise_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson10.check_pairwise_l1(wrong))


def test_pairwise_check_takes_none_itself():
    assert hint_given(lesson10.check_pairwise_l1(None))


# Exercise 4 and the solutions -----------------------------------------------------------------------------------

def test_wrong_label_maps_solution_gives_a_report():
    segmenter = metrics.Segmenter(width=4).eval()
    sets = metrics.EvaluationSets.make(size=32, count=6, test_count=4)
    ceilings = {"features_b": metrics.feature_vectors(segmenter, sets.images["b"])}
    report = lesson10.SOLUTIONS[4](segmenter, sets, ceilings)
    assert set(report) >= {"alignment", "frechet", "two_sample_accuracy"}
    assert 0 <= report["alignment"]["miou"] <= 1 and 0 <= report["two_sample_accuracy"] <= 1


@pytest.mark.parametrize("number", sorted(lesson10.SOLUTIONS))
def test_show_solution_prints_source(number, capsys):
    show_solution(10, number)
    assert "def _solution_" in capsys.readouterr().out
