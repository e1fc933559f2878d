"""Lesson 12's exercise checks: each passes on its solution, and gives a hint (never an exception) otherwise."""
import pytest
import torch

from spade_lib import oasis
from spade_lib.exercises import lesson12, show_solution


def hint_given(result):
    return not result and "Hint" in repr(result)


# Exercise 1 -----------------------------------------------------------------------------------------------------

def test_class_weights_solution_passes():
    assert lesson12.check_class_weights(lesson12.SOLUTIONS[1])


def test_class_weights_solution_on_a_small_case():
    labels = torch.tensor([[[0, 0, 0, 1]]])              # 3 pixels of 0, 1 of 1, class 2 absent
    weights = lesson12.SOLUTIONS[1](labels, 3)
    torch.testing.assert_close(weights.float(), torch.tensor([4 / 6, 4 / 2, 0.0]))


def counts_of(labels, n):
    return torch.bincount(labels.flatten(), minlength=n).double()


@pytest.mark.parametrize("wrong", [
    lambda labels, n: None,  # the stub
    lambda labels, n: labels.numel() / counts_of(labels, n),  # inf for an absent class, no division by present
    lambda labels, n: counts_of(labels, n) / labels.numel(),  # frequencies
    lambda labels, n: torch.where(counts_of(labels, n) > 0, labels.numel() / counts_of(labels, n), 0.0),  # no /K
    lambda labels, n: torch.where(counts_of(labels, n) > 0, labels.numel() / (n * counts_of(labels, n)), 0.0),
    lambda labels, n: torch.ones(n),  # unweighted
    lambda labels, n: 1 / 0,  # raises
], ids=["none", "inf", "frequency", "no-present", "num-classes", "ones", "raises"])
def test_class_weights_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson12.check_class_weights(wrong))


# Exercise 2 -----------------------------------------------------------------------------------------------------

def test_mask_solution_passes():
    assert lesson12.check_label_mix_mask(lesson12.SOLUTIONS[2])


def test_mask_solution_is_the_library_rule():
    labels = torch.randint(0, 6, (2, 5, 5), generator=torch.Generator().manual_seed(0))
    library = oasis.label_mix_mask(labels, 6, generator=torch.Generator().manual_seed(3))
    coins = torch.randint(0, 2, (2, 6), generator=torch.Generator().manual_seed(3))  # the same draw
    assert torch.equal(lesson12.SOLUTIONS[2](labels, coins), library)


@pytest.mark.parametrize("wrong", [
    lambda labels, coins: None,  # the stub
    lambda labels, coins: coins.gather(1, labels.flatten(1)).view(labels.shape).float(),  # no channel axis
    lambda labels, coins: 1 - lesson12.SOLUTIONS[2](labels, coins),  # inverted
    lambda labels, coins: coins.gather(1, labels.flatten(1)).view(labels.shape[0], 1, *labels.shape[1:]),  # long
    lambda labels, coins: coins[0][labels][:, None].float(),  # the first image's coins for all
    lambda labels, coins: torch.ones(labels.shape[0], 1, *labels.shape[1:]),  # all real
    lambda labels, coins: 1 / 0,  # raises
], ids=["none", "no-channel", "inverted", "long", "first-image", "all-real", "raises"])
def test_mask_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson12.check_label_mix_mask(wrong))


# Exercise 3 -----------------------------------------------------------------------------------------------------

def test_ratio_solution_passes():
    assert lesson12.check_between_class_ratio(lesson12.SOLUTIONS[3])


def test_ratio_is_one_for_a_function_of_the_class_and_near_zero_for_noise():
    labels = torch.randint(0, 4, (2, 16, 16), generator=torch.Generator().manual_seed(1))
    of_class = torch.tensor([0.5, -2.0, 3.0, 1.0])[labels][:, None]           # (2, 1, 16, 16)
    noise = torch.randn(2, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    ratios = lesson12.between_class_ratio(torch.cat([of_class, noise], 1), labels, 4)
    assert ratios[0] == pytest.approx(1.0) and ratios[1] < 0.05


@pytest.mark.parametrize("wrong", [
    lambda f, l, n: None,  # the stub
    lambda f, l, n: lesson12.between_class_ratio(f, l, n).mean(),  # one number
    lambda f, l, n: 1 - lesson12.between_class_ratio(f, l, n),  # the within-class part
    lambda f, l, n: f.var((0, 2, 3)),  # the total variance
    lambda f, l, n: torch.zeros(f.shape[1]),  # zeros
    lambda f, l, n: 1 / 0,  # raises
], ids=["none", "mean", "within", "variance", "zeros", "raises"])
def test_ratio_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson12.check_between_class_ratio(wrong))


@pytest.mark.parametrize("check", [lesson12.check_class_weights, lesson12.check_label_mix_mask,
                                   lesson12.check_between_class_ratio])
def test_checks_take_none_itself(check):
    assert hint_given(check(None))


@pytest.mark.parametrize("number", sorted(lesson12.SOLUTIONS))
def test_show_solution_prints_source(number, capsys):
    show_solution(12, number)
    assert "def _solution_" in capsys.readouterr().out
