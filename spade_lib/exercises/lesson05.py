"""Exercises of lesson 05 (the multi-scale PatchGAN discriminator): checks that print a pass or a hint, and
hidden solutions.

    from spade_lib.exercises.lesson05 import check_receptive_field
    check_receptive_field(receptive_field)    # prints ✅ or ❌ with a hint
    spade_lib.exercises.show_solution(5, 1)   # only when stuck
"""
import math

import torch
import torch.nn.functional as F

from . import Result, compare_tensors, hint, passed

# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: the receptive field of a stack of convolutions


RECEPTIVE_FIELD_CASES = [  # (kernel_sizes, strides, receptive field)
    ([4, 4, 4, 4, 4], [2, 2, 2, 1, 1], 70),  # SPADE's PatchGAN (n_layers = 4)
    ([3, 3, 3], [1, 1, 1], 7),  # three 3x3 convs see 7 x 7
    ([3, 3], [2, 2], 7),  # the second conv's taps are 2 input pixels apart
    ([7], [1], 7),
    ([4, 4, 4, 4], [2, 2, 1, 1], 34),  # one layer fewer
    ([4, 4, 4, 4, 4, 4], [2, 2, 2, 2, 1, 1], 142),  # one layer more
]


def expected_receptive_field(kernel_sizes, strides):
    field, jump = 1, 1
    for k, s in zip(kernel_sizes, strides):
        field += (k - 1) * jump
        jump *= s
    return field


def check_receptive_field(receptive_field) -> Result:
    """Exercise 1: ``receptive_field(kernel_sizes, strides)`` returns the side of the input patch that one output
    pixel of the stack sees (first layer first)."""
    for kernels, strides, expected in RECEPTIVE_FIELD_CASES:
        case = f"receptive_field({kernels}, {strides})"
        try:
            answer = receptive_field(list(kernels), list(strides))
        except Exception as error:
            return hint(f"{case} raised {type(error).__name__}: {error}")
        if answer is None:
            return hint("return an int. Walk the layers first to last, keeping the field r (start 1) and the "
                        "jump j (distance in input pixels between neighbouring taps, start 1): r += (k - 1) * j, "
                        "then j *= s.")
        if answer == expected:
            continue
        if answer == 1 + sum(k - 1 for k in kernels):
            return hint(f"{case} should be {expected}, got {answer}: after a stride-2 layer, neighbouring taps of "
                        f"the next kernel are 2 input pixels apart. Multiply (k - 1) by the product of the "
                        f"strides *before* the layer.")
        jumps_after = 1 + sum((k - 1) * math.prod(strides[:i + 1]) for i, k in enumerate(kernels))
        if answer == jumps_after:
            return hint(f"{case} should be {expected}, got {answer}: use the product of the strides of the "
                        f"layers *before* this one, not including its own stride.")
        return hint(f"{case} should be {expected}, got {answer}. r = 1 + sum over layers of (k_l - 1) * "
                    f"(s_1 * ... * s_(l-1)).")
    return passed("right on all cases: SPADE's PatchGAN judges 70 x 70 patches.")


def solution_receptive_field(kernel_sizes, strides):
    field, jump = 1, 1  # one output pixel; the distance (in input pixels) between neighbouring taps
    for k, s in zip(kernel_sizes, strides):
        field += (k - 1) * jump  # a k-tap kernel spans k - 1 more taps of the layer below
        jump *= s
    return field


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: spectral normalization, one training step of it


def spectral_norm_case(seed):
    """A spectral-normed conv whose stored u, v are random (not yet converged), and the weight torch uses."""
    torch.manual_seed(seed)
    conv = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Conv2d(6, 10, 3))
    sn = conv.parametrizations.weight[0]
    with torch.no_grad():
        sn._u.copy_(F.normalize(torch.randn_like(sn._u), dim=0))
        sn._v.copy_(F.normalize(torch.randn_like(sn._v), dim=0))
    weight, u, v = conv.parametrizations.weight.original.detach().clone(), sn._u.clone(), sn._v.clone()
    with torch.no_grad():
        expected = conv.weight  # training mode: one power iteration, then W / sigma
    return weight, u, v, expected


def check_spectral_normalize(spectral_normalize) -> Result:
    """Exercise 2: ``spectral_normalize(weight, u, v)`` returns weight / sigma as torch computes it in training:
    one power iteration from the stored u (out,) and v (in*k*k,), then sigma = u^T W v."""
    for seed in (0, 1):
        weight, u, v, expected = spectral_norm_case(seed)
        try:
            answer = spectral_normalize(weight.clone(), u.clone(), v.clone())
        except Exception as error:
            return hint(f"your function raised {type(error).__name__}: {error}. Reshape the (out, in, k, k) weight "
                        f"to an (out, in*k*k) matrix first.")
        if answer is None:
            return hint("return weight / sigma (same shape as weight). W = weight.reshape(out, -1); "
                        "u = normalize(W v); v = normalize(W^T u); sigma = u . (W v).")
        if not isinstance(answer, torch.Tensor):
            return hint(f"return a tensor, got {type(answer).__name__}")
        answer = answer.detach()
        result = compare_tensors(answer, expected, "weight / sigma", atol=1e-6, rtol=1e-5)
        if result:
            continue
        if answer.shape == expected.shape:
            matrix = weight.reshape(weight.shape[0], -1)
            exact = weight / torch.linalg.matrix_norm(matrix, 2)
            if torch.allclose(answer, exact, atol=1e-6, rtol=1e-5):
                return hint("that divides by the exact largest singular value. Torch does not compute an SVD: it "
                            "estimates sigma with one power iteration from the stored u and v, so the answer "
                            "differs a little while u and v have not converged.")
            if torch.allclose(answer, weight / (u @ matrix @ v), atol=1e-6, rtol=1e-5):
                return hint("do the power iteration before estimating sigma: u = normalize(W v), "
                            "v = normalize(W^T u), then sigma = u . (W v).")
            v_first = F.normalize(matrix.t() @ u, dim=0)
            u_second = F.normalize(matrix @ v_first, dim=0)
            if torch.allclose(answer, weight / (u_second @ matrix @ v_first), atol=1e-6, rtol=1e-5):
                return hint("torch updates u first, from the stored v: u = normalize(W v), then "
                            "v = normalize(W^T u).")
        return result
    return passed("weight / sigma matches torch's spectral_norm in training mode.")


def solution_spectral_normalize(weight, u, v):
    matrix = weight.reshape(weight.shape[0], -1)  # (out, in*k*k)
    u = F.normalize(matrix @ v, dim=0)  # one power iteration, u first (torch's order)
    v = F.normalize(matrix.t() @ u, dim=0)
    sigma = u @ matrix @ v  # the estimate of the largest singular value
    return weight / sigma


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3: which input pixels one output pixel sees


INPUT_BOX_CASES = [  # (output index, kernel_sizes, strides, paddings)
    (17, [4, 4, 4, 4, 4], [2, 2, 2, 1, 1], [2, 2, 2, 2, 2]),  # centre of the 35 x 35 map of a 256 input
    (0, [4, 4, 4, 4, 4], [2, 2, 2, 1, 1], [2, 2, 2, 2, 2]),  # the corner: mostly padding
    (3, [3, 3, 3], [1, 1, 1], [1, 1, 1]),
    (5, [3, 3], [2, 2], [1, 1]),
    (2, [4, 4], [2, 2], [0, 0]),
]


def expected_input_box(o, kernel_sizes, strides, paddings):
    start, jump = 0, 1
    for k, s, p in zip(kernel_sizes, strides, paddings):
        start -= p * jump
        jump *= s
    field = expected_receptive_field(kernel_sizes, strides)
    return o * jump + start, o * jump + start + field - 1


def check_input_box(input_box) -> Result:
    """Exercise 3: ``input_box(o, kernel_sizes, strides, paddings)`` returns (first, last), the input indices
    (inclusive; negative or past the end means padding) that output index o of the stack sees, along one axis."""
    for o, kernels, strides, paddings in INPUT_BOX_CASES:
        case = f"input_box({o}, {kernels}, {strides}, {paddings})"
        try:
            answer = input_box(o, list(kernels), list(strides), list(paddings))
        except Exception as error:
            return hint(f"{case} raised {type(error).__name__}: {error}")
        expected = expected_input_box(o, kernels, strides, paddings)
        if answer is None:
            return hint("return (first, last). Output o of one conv reads inputs s*o - p ... s*o - p + k - 1; "
                        "go from the last layer back to the first, mapping first and last each time.")
        try:
            answer = tuple(int(a) for a in answer)
        except (TypeError, ValueError):
            return hint(f"{case} should be a pair of ints (first, last), got {answer!r}")
        if answer == expected:
            continue
        width = answer[1] - answer[0] + 1
        field = expected[1] - expected[0] + 1
        if width == field:
            return hint(f"{case} should be {expected}, got {answer}: the width ({field}) is right but the box is "
                        f"shifted. Each layer's padding p moves it by -p times the product of the strides "
                        f"before that layer.")
        if width == field + 1:
            return hint(f"{case} should be {expected}, got {answer}: 'last' is inclusive (last - first + 1 = "
                        f"the receptive field, {field}).")
        return hint(f"{case} should be {expected}, got {answer}.")
    return passed("right: output pixel 17 of the 35 x 35 prediction map sees input pixels 90 ... 159, a 70-pixel "
                  "patch.")


def solution_input_box(o, kernel_sizes, strides, paddings):
    first, last = o, o
    for k, s, p in reversed(list(zip(kernel_sizes, strides, paddings))):  # last layer first
        first, last = s * first - p, s * last - p + k - 1  # output i reads inputs s*i - p ... s*i - p + k - 1
    return first, last


SOLUTIONS = {1: solution_receptive_field, 2: solution_spectral_normalize, 3: solution_input_box}
