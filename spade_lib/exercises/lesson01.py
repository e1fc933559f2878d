"""Exercise checks for lesson 01, batch normalization and its cousins (``notebooks/01_batch_norm.ipynb``).

1. how many statistics each normalization computes, over how many values (easy)
2. how many batches running statistics take to warm up (easy)
3. fold an eval-mode batch norm into the convolution before it (medium)
4. does layer norm wash the label map away too? (open, no check)

    from spade_lib.exercises.lesson01 import check_count_statistics
    check_count_statistics(count_statistics)  # prints ✅ or ❌ with a hint
    spade_lib.exercises.show_solution(1, 1)   # only when stuck

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import Result, call_student, hint, passed

# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: how many statistics, over how many values


COUNT_CASES = [  # (kind, shape, groups)
    ("batch", (8, 64, 32, 32), 1),
    ("instance", (8, 64, 32, 32), 1),
    ("layer", (8, 64, 32, 32), 1),
    ("group", (8, 64, 32, 32), 32),
    ("group", (2, 6, 5, 7), 3),  # H != W
    ("batch", (1, 3, 4, 4), 1),  # batch size 1: as many values as instance norm
    ("group", (4, 12, 8, 8), 1),  # one group: layer norm
    ("group", (4, 12, 8, 8), 12),  # one channel per group: instance norm
]
COUNT_RULES = {
    "batch": "one mean per channel, over N·H·W values",
    "instance": "one mean per image and channel, over H·W values",
    "layer": "one mean per image, over C·H·W values",
    "group": "one mean per image and group, over (C/G)·H·W values",
}


def expected_count_statistics(kind, shape, groups=1):
    n, c, h, w = shape
    return {"batch": (c, n * h * w), "instance": (n * c, h * w), "layer": (n, c * h * w),
            "group": (n * groups, c // groups * h * w)}[kind]


def check_count_statistics(count_statistics) -> Result:
    """Exercise 1: ``count_statistics(kind, shape, groups)`` returns (number of means, values per mean)."""
    for kind, shape, groups in COUNT_CASES:
        case = f"count_statistics({kind!r}, {shape}, {groups})"
        answer, problem = call_student(count_statistics, kind, tuple(shape), groups, call=case)
        if problem is not None:
            return problem
        if answer is None:
            return hint("return a pair of ints (means, values per mean). Batch norm: "
                        + COUNT_RULES["batch"] + ".")
        try:
            answer = tuple(int(a) for a in answer)
        except (TypeError, ValueError):
            return hint(f"{case} should be a pair of ints, got {answer!r}")
        expected = expected_count_statistics(kind, shape, groups)
        if answer == expected:
            continue
        if answer == expected[::-1]:
            return hint(f"{case} gave {answer}: that is (values per mean, means). Return the number of means first.")
        if len(answer) == 2 and answer[0] * answer[1] != math.prod(shape):
            return hint(f"{case} should be {expected}, got {answer}. Every value of the tensor belongs to exactly "
                        f"one group, so means x values per mean = N·C·H·W = {math.prod(shape)}.")
        return hint(f"{case} should be {expected}, got {answer}. {kind} norm: {COUNT_RULES[kind]}.")
    return passed("right for all four normalizations. Note that batch norm at batch size 1 averages as few "
                  "values as instance norm.")


def solution_count_statistics(kind, shape, groups=1):
    n, c, h, w = shape
    if kind == "batch":
        return c, n * h * w  # one mean per channel, over the batch and the pixels
    if kind == "instance":
        return n * c, h * w  # one per image and channel, over the pixels
    if kind == "layer":
        return n, c * h * w  # one per image, over channels and pixels
    if kind == "group":
        return n * groups, (c // groups) * h * w  # one per image and group of c // groups channels
    raise ValueError(f"unknown kind {kind!r}")


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: how long running statistics take to warm up


WARMUP_CASES = [(0.1, 0.1), (0.1, 0.01), (0.01, 0.01), (0.5, 0.001), (0.9, 0.05), (0.3, 0.5)]  # (momentum, tol)


def expected_warmup_steps(momentum, tolerance):
    steps, error = 0, 1.0
    while error > tolerance:
        error *= 1.0 - momentum
        steps += 1
    return steps


def check_warmup_steps(warmup_steps) -> Result:
    """Exercise 2: ``warmup_steps(momentum, tolerance)``: the smallest k with (1 - momentum)**k <= tolerance."""
    for momentum, tolerance in WARMUP_CASES:
        case = f"warmup_steps({momentum}, {tolerance})"
        answer, problem = call_student(warmup_steps, momentum, tolerance, call=case)
        if problem is not None:
            return problem
        if answer is None:
            return hint("return an int k. Solve (1 - m)**k <= tolerance for k with logarithms (careful: log(1 - m) "
                        "is negative), or count batches in a loop.")
        expected = expected_warmup_steps(momentum, tolerance)
        if isinstance(answer, float) and not answer.is_integer():
            return hint(f"{case} gave {answer:.3f}: the number of batches is an int. Round up (math.ceil): "
                        f"after {math.floor(answer)} batches the error is still above the tolerance.")
        try:
            answer = int(answer)
        except (TypeError, ValueError):
            return hint(f"{case} should be an int, got {answer!r}")
        if answer == expected:
            continue
        if answer == expected - 1:
            return hint(f"{case} should be {expected}, got {answer}: after {answer} batches the error is "
                        f"{(1 - momentum) ** answer:.4f} > {tolerance}. Round up, not down.")
        if momentum != 0.5 and answer == expected_warmup_steps(1.0 - momentum, tolerance):
            return hint(f"{case} should be {expected}, got {answer}: PyTorch's momentum is the weight of the *new* "
                        f"batch, so the old error is multiplied by (1 - m) each batch, not by m.")
        return hint(f"{case} should be {expected}, got {answer}. k = ceil(log(tolerance) / log(1 - m)).")
    return passed("right: with the default momentum 0.1, 22 batches leave 10% of the initial error, 44 leave 1%.")


def solution_warmup_steps(momentum, tolerance):
    # the error is multiplied by (1 - m) per batch: (1 - m)**k <= tol  <=>  k >= log(tol) / log(1 - m)
    k = math.ceil(math.log(tolerance) / math.log(1.0 - momentum))
    while (1.0 - momentum) ** k > tolerance:  # guard against rounding in the logarithms
        k += 1
    return k


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3: fold an eval-mode batch norm into the convolution before it


# Trained networks have channels whose variance is almost 0; there sqrt(running_var + eps) and sqrt(running_var)
# differ by a factor of 3 at the default eps = 1e-5, so every case below catches a fold without eps.
DEAD_CHANNEL_VARIANCE = 1e-6


def make_conv_bn(seed, in_channels, out_channels, bias, stride, padding, eps):
    """A convolution and a batch norm with random weights and running statistics (as after training)."""
    g = torch.Generator().manual_seed(seed)
    conv = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=padding, bias=bias)
    bn = nn.BatchNorm2d(out_channels, eps=eps)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * 0.3)
        if bias:
            conv.bias.copy_(torch.randn(out_channels, generator=g))
        bn.weight.copy_(torch.rand(out_channels, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(out_channels, generator=g))
        bn.running_mean.copy_(torch.randn(out_channels, generator=g))
        bn.running_var.copy_(torch.rand(out_channels, generator=g) * 2 + 0.01)
        bn.running_var[0] = DEAD_CHANNEL_VARIANCE  # a channel that went silent in training: eps keeps it finite
    return conv, bn.eval()


FOLD_CASES = [  # (in, out, bias, stride, padding, eps)
    (3, 8, True, 1, 1, 1e-5),
    (4, 6, False, 2, 0, 1e-5),  # conv without bias, as before a batch norm in most networks
    (5, 5, True, 1, 1, 0.1),  # a large eps: forgetting it shows
]


def folded_reference(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return conv.weight * scale[:, None, None, None], (bias - bn.running_mean) * scale + bn.bias


def check_fold_batch_norm(fold_batch_norm) -> Result:
    """Exercise 3: ``fold_batch_norm(conv, bn)`` returns (weight, bias) of one convolution equal to bn(conv(x)) in
    eval mode."""
    for seed, (cin, cout, bias, stride, padding, eps) in enumerate(FOLD_CASES):
        conv, bn = make_conv_bn(seed, cin, cout, bias, stride, padding, eps)
        case = f"conv {cin}->{cout} (bias={bias}, stride={stride}), batch norm eps={eps}"
        with torch.no_grad():
            answer, problem = call_student(fold_batch_norm, copy.deepcopy(conv), copy.deepcopy(bn),
                                           call=f"{case}: fold_batch_norm")
        if problem is not None:
            return problem
        if answer is None:
            return hint("return a pair (weight, bias). In eval mode bn(z) = gamma * (z - running_mean) / "
                        "sqrt(running_var + eps) + beta, one scale per output channel: scale the conv's weight and "
                        "fold everything else into the bias.")
        if not (isinstance(answer, (tuple, list)) and len(answer) == 2
                and all(isinstance(a, torch.Tensor) for a in answer)):
            return hint(f"return a pair of tensors (weight, bias), got {type(answer).__name__}")
        weight, new_bias = (a.detach() for a in answer)
        if weight.shape != conv.weight.shape or new_bias.shape != (cout,):
            return hint(f"{case}: weight should have the conv's shape {tuple(conv.weight.shape)} and bias "
                        f"({cout},); got {tuple(weight.shape)} and {tuple(new_bias.shape)}")
        x = torch.randn(2, cin, 9, 9, generator=torch.Generator().manual_seed(100 + seed))
        with torch.no_grad():
            expected = bn(conv(x))
            got = F.conv2d(x, weight, new_bias, conv.stride, conv.padding)
        if torch.allclose(got, expected, atol=1e-4, rtol=1e-4):
            continue
        ref_weight, ref_bias = folded_reference(conv, bn)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        if torch.allclose(weight, ref_weight, atol=1e-5, rtol=1e-4):
            if bias and torch.allclose(new_bias, ref_bias - conv.bias * scale, atol=1e-4, rtol=1e-4):
                return hint(f"{case}: the weight is right but the conv's own bias is missing: it passes through "
                            f"the batch norm too, (conv.bias - running_mean) * scale + beta.")
            return hint(f"{case}: the weight is right, the bias is not. The bias is "
                        f"(conv.bias - running_mean) * scale + beta, with scale = gamma / sqrt(running_var + eps).")
        no_eps = conv.weight * (bn.weight / torch.sqrt(bn.running_var))[:, None, None, None]
        if torch.allclose(weight, no_eps, atol=1e-5, rtol=1e-4):
            return hint(f"{case}: don't forget eps: scale = gamma / sqrt(running_var + eps).")
        no_sqrt = conv.weight * (bn.weight / (bn.running_var + bn.eps))[:, None, None, None]
        if torch.allclose(weight, no_sqrt, atol=1e-5, rtol=1e-4):
            return hint(f"{case}: divide by the standard deviation, sqrt(running_var + eps), not the variance.")
        if cin == cout and torch.allclose(weight, conv.weight * scale[None, :, None, None], atol=1e-5, rtol=1e-4):
            return hint(f"{case}: the scale belongs to the *output* channels: weight * scale[:, None, None, None] "
                        f"(the conv weight is (C_out, C_in, k, k)).")
        return hint(f"{case}: the folded convolution differs from bn(conv(x)) by up to "
                    f"{(got - expected).abs().max():.3g}. scale = gamma / sqrt(running_var + eps); "
                    f"weight' = weight * scale per output channel; bias' = (bias - running_mean) * scale + beta.")
    return passed("conv + eval-mode batch norm = one convolution. Inference libraries do this for you.")


def solution_fold_batch_norm(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,): eval-mode batch norm is z * scale + shift
    weight = conv.weight * scale[:, None, None, None]  # scale each output channel's kernel
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return weight, (bias - bn.running_mean) * scale + bn.bias


SOLUTIONS = {1: solution_count_statistics, 2: solution_warmup_steps, 3: solution_fold_batch_norm}
