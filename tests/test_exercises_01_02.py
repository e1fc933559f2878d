"""Exercise checks of lessons 01 (batch norm and its cousins) and 02 (conditional normalization): each passes on its
solution, returns a hint (a falsy Result) on the unfilled stub (None), on a function that raises, on nonsense and on
typical wrong answers, and never raises."""
import math

import pytest
import torch

from spade_lib.exercises import Result, lesson01, lesson02, show_solution

CHECKS = [
    (lesson01.check_count_statistics, lesson01.solution_count_statistics),
    (lesson01.check_warmup_steps, lesson01.solution_warmup_steps),
    (lesson01.check_fold_batch_norm, lesson01.solution_fold_batch_norm),
    (lesson02.check_conditional_instance_norm, lesson02.solution_conditional_instance_norm),
    (lesson02.check_best_affine, lesson02.solution_best_affine),
    (lesson02.check_regional_adain, lesson02.solution_regional_adain),
]
IDS = [check.__name__ for check, _ in CHECKS]


def stub(*args, **kwargs):
    return None  # what the notebook's unfilled exercise cell returns


def broken(*args, **kwargs):
    raise NotImplementedError("fill me in")


def nonsense(*args, **kwargs):
    return "nonsense"


def assert_hint(result, *words):
    assert isinstance(result, Result) and not result, result
    text = repr(result)
    assert text.startswith("❌ not yet. Hint: "), text
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"


@pytest.mark.parametrize("check, solution", CHECKS, ids=IDS)
def test_the_solution_passes(check, solution):
    result = check(solution)
    assert isinstance(result, Result) and result, result
    assert repr(result).startswith("✅")


@pytest.mark.parametrize("check, solution", CHECKS, ids=IDS)
@pytest.mark.parametrize("answer", [stub, broken, nonsense], ids=["stub", "raises", "nonsense"])
def test_unfilled_or_broken_answers_get_a_hint_not_an_exception(check, solution, answer):
    assert_hint(check(answer))


@pytest.mark.parametrize("lesson, module", [(1, lesson01), (2, lesson02)])
def test_solutions_are_listed_and_shown(lesson, module, capsys):
    assert sorted(module.SOLUTIONS) == [1, 2, 3]
    for number in module.SOLUTIONS:
        show_solution(lesson, number)
        assert "def solution_" in capsys.readouterr().out


def test_solutions_agree_with_the_library():
    """The references the checks use are the real thing: torch's layers."""
    x = torch.randn(3, 6, 5, 4)
    conv, bn = lesson01.make_conv_bn(0, 6, 4, True, 1, 1, 1e-5)
    weight, bias = lesson01.solution_fold_batch_norm(conv, bn)
    with torch.no_grad():
        # float32 rounding: channel 0 is scaled by ~300 (its running variance is almost 0)
        torch.testing.assert_close(torch.nn.functional.conv2d(x, weight, bias, padding=1), bn(conv(x)),
                                   rtol=1e-5, atol=1e-4)
    norm = lesson02.solution_conditional_instance_norm(x, torch.zeros(3, dtype=torch.long), torch.ones(1, 6),
                                                       torch.zeros(1, 6))
    torch.testing.assert_close(norm, torch.nn.functional.instance_norm(x))


# ---------------------------------------------------------------------------------------------------------------
# Typical wrong answers get the hint written for them.


def test_count_statistics_hints():
    def swapped(kind, shape, groups=1):
        return lesson01.solution_count_statistics(kind, shape, groups)[::-1]

    def batch_as_instance(kind, shape, groups=1):
        n, c, h, w = shape
        return (n * c, h * w) if kind == "batch" else lesson01.solution_count_statistics(kind, shape, groups)

    assert_hint(lesson01.check_count_statistics(swapped), "values per mean, means")
    assert_hint(lesson01.check_count_statistics(batch_as_instance), "N·H·W")


def test_warmup_steps_hints():
    def rounded_down(momentum, tolerance):
        return math.floor(math.log(tolerance) / math.log(1 - momentum))

    def momentum_reversed(momentum, tolerance):
        return lesson01.solution_warmup_steps(1 - momentum, tolerance)

    def not_rounded(momentum, tolerance):
        return math.log(tolerance) / math.log(1 - momentum)

    assert_hint(lesson01.check_warmup_steps(rounded_down), "Round up")
    assert_hint(lesson01.check_warmup_steps(momentum_reversed), "weight of the *new*")
    assert_hint(lesson01.check_warmup_steps(not_rounded), "math.ceil")


def test_fold_batch_norm_hints():
    def no_eps(conv, bn):
        scale = bn.weight / torch.sqrt(bn.running_var)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        return conv.weight * scale[:, None, None, None], (bias - bn.running_mean) * scale + bn.bias

    def ignores_conv_bias(conv, bn):
        weight, _ = lesson01.solution_fold_batch_norm(conv, bn)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        return weight, bn.bias - bn.running_mean * scale

    def variance_not_std(conv, bn):
        scale = bn.weight / (bn.running_var + bn.eps)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        return conv.weight * scale[:, None, None, None], (bias - bn.running_mean) * scale + bn.bias

    assert_hint(lesson01.check_fold_batch_norm(no_eps), "eps")
    assert_hint(lesson01.check_fold_batch_norm(ignores_conv_bias), "conv's own bias")
    assert_hint(lesson01.check_fold_batch_norm(variance_not_std), "standard deviation")


def fold_with_scale(scale_of):
    """A fold of batch norm into the conv before it, with the per-channel scale computed by ``scale_of(bn)``."""
    def fold(conv, bn):
        scale = scale_of(bn)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        return conv.weight * scale[:, None, None, None], (bias - bn.running_mean) * scale + bn.bias
    return fold


@pytest.mark.parametrize("case", range(len(lesson01.FOLD_CASES)))
def test_fold_batch_norm_needs_eps_in_every_case(case, monkeypatch):
    """Issue 11: an answer without eps in the scale must fail, also where eps is the default 1e-5 (before, only
    the eps = 0.1 case caught it). The right answer passes each case on its own."""
    monkeypatch.setattr(lesson01, "FOLD_CASES", [lesson01.FOLD_CASES[case]])
    assert lesson01.check_fold_batch_norm(lesson01.solution_fold_batch_norm)
    no_eps = fold_with_scale(lambda bn: bn.weight / torch.sqrt(bn.running_var))
    assert_hint(lesson01.check_fold_batch_norm(no_eps), "eps")


def test_fold_batch_norm_without_eps_in_the_weight_only_fails():
    def eps_in_bias_only(conv, bn):
        weight, _ = fold_with_scale(lambda bn: bn.weight / torch.sqrt(bn.running_var))(conv, bn)
        return weight, lesson01.solution_fold_batch_norm(conv, bn)[1]

    assert_hint(lesson01.check_fold_batch_norm(eps_in_bias_only))
    fixed_eps = fold_with_scale(lambda bn: bn.weight / torch.sqrt(bn.running_var + 1e-5))  # not bn.eps
    assert_hint(lesson01.check_fold_batch_norm(fixed_eps))


def test_conditional_instance_norm_hints():
    def batch_statistics(x, y, gamma, beta, eps=1e-5):
        x_hat = (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(x.var((0, 2, 3), keepdim=True, correction=0) + eps)
        return gamma[y][:, :, None, None] * x_hat + beta[y][:, :, None, None]

    def row_zero(x, y, gamma, beta, eps=1e-5):
        return lesson02.solution_conditional_instance_norm(x, torch.zeros_like(y), gamma, beta, eps)

    assert_hint(lesson02.check_conditional_instance_norm(batch_statistics), "conditional *batch* norm")
    assert_hint(lesson02.check_conditional_instance_norm(row_zero), "gamma[y]")


def test_best_affine_hints():
    def std_ratio(x, target):  # AdaIN's answer: matches statistics, not pixels
        gamma = target.std((2, 3), correction=0) / x.std((2, 3), correction=0)
        return gamma, target.mean((2, 3)) - gamma * x.mean((2, 3))

    def beta_zero(x, target):
        gamma, _ = lesson02.solution_best_affine(x, target)
        return gamma, torch.zeros_like(gamma)

    def keepdim(x, target):  # (N, C, 1, 1) is accepted
        gamma, beta = lesson02.solution_best_affine(x, target)
        return gamma[..., None, None], beta[..., None, None]

    assert_hint(lesson02.check_best_affine(std_ratio), "AdaIN's answer")
    assert_hint(lesson02.check_best_affine(beta_zero), "gamma is right")
    assert lesson02.check_best_affine(keepdim)


def test_regional_adain_hints():
    def whole_image(content, style, content_labels, style_labels, num_classes, eps=1e-5):
        zeros_c, zeros_s = torch.zeros_like(content_labels), torch.zeros_like(style_labels)
        return lesson02.solution_regional_adain(content, style, zeros_c, zeros_s, 1, eps)

    def missing_class_zeroed(content, style, content_labels, style_labels, num_classes, eps=1e-5):
        out = lesson02.solution_regional_adain(content, style, content_labels, style_labels, num_classes, eps)
        return torch.where((content_labels == 2)[:, None], torch.zeros_like(out), out)

    assert_hint(lesson02.check_regional_adain(whole_image), "plain AdaIN")
    assert_hint(lesson02.check_regional_adain(missing_class_zeroed), "stay as they are")


@pytest.mark.parametrize("check, solution", CHECKS, ids=IDS)
def test_checks_call_the_answer_through_call_student(check, solution):
    """One exercise style in every lesson (issue 12): the hint names the failing call and the error, and something
    that is not a function gets the hint to pass the function itself."""
    raised = check(broken)
    assert not raised and "raised NotImplementedError: fill me in" in repr(raised)
    not_callable = check(42)
    assert not not_callable and "pass your function itself" in repr(not_callable)


def test_a_raising_case_is_named():
    def breaks_on_groups(kind, shape, groups=1):
        if kind == "group":
            raise ZeroDivisionError("no groups")
        return lesson01.solution_count_statistics(kind, shape, groups)

    assert_hint(lesson01.check_count_statistics(breaks_on_groups), "count_statistics('group', (8, 64, 32, 32), 32)",
                "ZeroDivisionError")
