"""Lesson 07's exercise checks: each passes on its solution, and gives a hint (never an exception) otherwise."""
import math

import pytest
import torch

from spade_lib.landscapes import Landscapes
from spade_lib.encoder import StyleEncoder
from spade_lib.exercises import lesson07, show_solution


def hint_given(result):
    return not result and "Hint" in repr(result)


# Exercise 1 -----------------------------------------------------------------------------------------------------

def test_layers_solution_passes():
    assert lesson07.check_encoder_layers(lesson07.SOLUTIONS[1])


def test_layers_solution_agrees_with_the_official_counts():
    assert [lesson07.SOLUTIONS[1](s) for s in (256, 128, 64)] == [6, 5, 4]


@pytest.mark.parametrize("wrong", [
    lambda size: None,  # the stub
    lambda size: 6,  # the official count everywhere
    lambda size: round(math.log2(size)),  # down to 1x1
    lambda size: round(math.log2(size / 4)) + 1,  # off by one
    lambda size: math.log2(size / 4) + 0.5,  # not a whole number
    lambda size: "six",  # not a number
    lambda size: 1 / 0,  # raises
], ids=["none", "always-6", "to-1x1", "off-by-one", "float", "string", "raises"])
def test_layers_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson07.check_encoder_layers(wrong))


def test_layers_check_takes_none_itself():
    assert hint_given(lesson07.check_encoder_layers(None))


# Exercise 2 -----------------------------------------------------------------------------------------------------

def test_reparam_solution_passes():
    assert lesson07.check_reparam_gradients(lesson07.SOLUTIONS[2])


def test_reparam_solution_is_what_autograd_says():
    mu, logvar, eps = torch.randn(5), torch.randn(5), torch.randn(5)
    mu_leaf, logvar_leaf = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    (mu_leaf + eps * torch.exp(0.5 * logvar_leaf)).sum().backward()
    d_mu, d_logvar = lesson07.SOLUTIONS[2](mu, logvar, eps)
    torch.testing.assert_close(d_mu, mu_leaf.grad)
    torch.testing.assert_close(d_logvar, logvar_leaf.grad)


@pytest.mark.parametrize("wrong", [
    lambda mu, logvar, eps: None,  # the stub
    lambda mu, logvar, eps: (torch.ones_like(mu), eps * torch.exp(0.5 * logvar)),  # no 1/2
    lambda mu, logvar, eps: (torch.ones_like(mu), 0.5 * torch.exp(0.5 * logvar)),  # no eps
    lambda mu, logvar, eps: (torch.zeros_like(mu), 0.5 * eps * torch.exp(0.5 * logvar)),  # d_mu = 0
    lambda mu, logvar, eps: (torch.ones_like(mu), torch.zeros_like(mu)),  # "no gradient through the noise"
    lambda mu, logvar, eps: torch.ones_like(mu),  # not a pair
    lambda mu, logvar, eps: (1.0, 0.5),  # numbers, not tensors
    lambda mu, logvar, eps: 1 / 0,  # raises
], ids=["none", "no-half", "no-eps", "zero-mu", "zero-logvar", "not-a-pair", "floats", "raises"])
def test_reparam_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson07.check_reparam_gradients(wrong))


def test_reparam_check_takes_none_itself():
    assert hint_given(lesson07.check_reparam_gradients(None))


# Exercise 3 -----------------------------------------------------------------------------------------------------

def test_kl_solution_passes():
    assert lesson07.check_kl_per_dimension(lesson07.SOLUTIONS[3])


def per_element(mu, logvar):
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp())


@pytest.mark.parametrize("wrong", [
    lambda mu, logvar: None,  # the stub
    lambda mu, logvar: per_element(mu, logvar).sum(),  # one number
    per_element,  # not summed over the batch
    lambda mu, logvar: -per_element(mu, logvar).sum(0),  # sign
    lambda mu, logvar: per_element(mu, logvar).mean(0),  # mean over the batch
    lambda mu, logvar: per_element(mu, logvar).sum(1),  # summed over the wrong dimension
    lambda mu, logvar: [1.0, 2.0],  # not a tensor
    lambda mu, logvar: 1 / 0,  # raises
], ids=["none", "scalar", "per-element", "sign", "mean", "wrong-dim", "list", "raises"])
def test_kl_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson07.check_kl_per_dimension(wrong))


def test_kl_check_takes_none_itself():
    assert hint_given(lesson07.check_kl_per_dimension(None))


# Exercise 4 and the solutions -----------------------------------------------------------------------------------

def test_style_or_layout_solution_returns_two_distances():
    encoder = StyleEncoder(input_size=32, ndf=4, z_dim=8).eval()
    between_styles, between_layouts = lesson07.SOLUTIONS[4](encoder, Landscapes(size=32), ("day", "night"),
                                                            (0, 1, 2))
    assert between_styles > 0 and between_layouts > 0


@pytest.mark.parametrize("number", sorted(lesson07.SOLUTIONS))
def test_show_solution_prints_source(number, capsys):
    show_solution(7, number)
    assert "def _solution_" in capsys.readouterr().out
