"""Exercise checks for lesson 05, the multi-scale PatchGAN discriminator (``notebooks/05_discriminator.ipynb``).

1. the receptive field of a stack of convolutions (easy)
2. the side of every output of a PatchGAN (easy)
3. which input pixels one output pixel sees (medium)
4. how much does a spectral-normed convolution really stretch? (open, no check)

    from spade_lib.exercises.lesson05 import check_receptive_field
    check_receptive_field(receptive_field)    # prints ✅ or ❌ with a hint
    spade_lib.exercises.show_solution(5, 1)   # only when stuck

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import math

import torch

from . import Result, call_student, hint, passed

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
        answer, problem = call_student(receptive_field, list(kernels), list(strides), call=case)
        if problem is not None:
            return problem
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
# Exercise 2: the side of every output of a PatchGAN


FEATURE_SIDES_CASES = [  # (input side, n_layers)
    (256, 4),  # 129, 65, 33, 34, 35
    (128, 4),  # the second scale: 65, 33, 17, 18, 19
    (64, 4),
    (100, 4),
    (256, 3),
    (256, 5),
]


def library_feature_sides(size, n_layers):
    """The sides of spade_lib's PatchDiscriminator outputs, from a real (tiny) forward pass."""
    from ..discriminator import PatchDiscriminator

    D = PatchDiscriminator(1, n_layers=n_layers, ndf=1).eval()
    with torch.no_grad():
        return [f.shape[-1] for f in D(torch.zeros(1, 1, size, size))]


def expected_feature_sides(size, n_layers):
    sides = []
    for stride in [2] * (n_layers - 1) + [1, 1]:
        size = (size + 2 * 2 - 4) // stride + 1
        sides.append(size)
    return sides


def check_feature_sides(feature_sides) -> Result:
    """Exercise 2: ``feature_sides(size, n_layers)`` returns the side of each of the n_layers + 1 outputs of a
    PatchGAN (kernel 4, padding 2; strides 2 for conv_in and all blocks but the last, which has 1; conv_out 1)."""
    for size, n_layers in FEATURE_SIDES_CASES:
        case = f"feature_sides({size}, {n_layers})"
        answer, problem = call_student(feature_sides, size, n_layers, call=case)
        if problem is not None:
            return problem
        expected = expected_feature_sides(size, n_layers)
        if answer is None:
            return hint("return a list of n_layers + 1 ints. A conv gives o = floor((i + 2p - k) / s) + 1; here "
                        "k = 4 and p = 2.")
        try:
            answer = [int(a) for a in answer]
        except (TypeError, ValueError):
            return hint(f"{case} should be a list of ints, got {answer!r}")
        if answer == expected:
            continue
        if len(answer) != len(expected):
            return hint(f"{case} should list {len(expected)} sides (conv_in, {n_layers - 1} blocks, conv_out), "
                        f"got {len(answer)}.")
        if answer[0] == size // 2:
            return hint(f"{case}: the first output is {expected[0]}, not {size // 2}. With k = 4 and p = 2, "
                        f"o = floor((i + 4 - 4) / s) + 1: do not forget the + 1.")
        if answer[-2:] == [answer[-3]] * 2:
            return hint(f"{case}: a stride-1 conv with k = 4 and p = 2 makes the map one pixel larger "
                        f"(o = i + 1), which is why 33 becomes 34 and 35.")
        return hint(f"{case} should be {expected}, got {answer}.")
    return passed("right: 256 gives 129, 65, 33, 34, 35, and the second scale (128) 65, 33, 17, 18, 19.")


def solution_feature_sides(size, n_layers=4):
    sides = []
    strides = [2] * (n_layers - 1) + [1, 1]  # conv_in and the blocks but the last: 2; the last block, conv_out: 1
    for s in strides:
        size = (size + 2 * 2 - 4) // s + 1  # o = floor((i + 2p - k) / s) + 1 with k = 4, p = 2
        sides.append(size)
    return sides


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
        answer, problem = call_student(input_box, o, list(kernels), list(strides), list(paddings), call=case)
        if problem is not None:
            return problem
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


SOLUTIONS = {1: solution_receptive_field, 2: solution_feature_sides, 3: solution_input_box}
