"""Exercise checks of lessons 04 (generator) and 05 (discriminator): each passes on its solution, returns a hint
(a falsy Result) on wrong answers, on the unfilled stub (None) and on a function that raises, and never raises."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from spade_lib.exercises import Result, lesson04, lesson05, show_solution
from spade_lib.generator import SPADEResBlock

CHECKS = [
    (lesson04.check_start_grid, lesson04.solution_start_grid),
    (lesson04.check_resblock_params, lesson04.solution_resblock_params),
    (lesson04.check_generator_forward, lesson04.solution_generator_forward),
    (lesson05.check_receptive_field, lesson05.solution_receptive_field),
    (lesson05.check_feature_sides, lesson05.solution_feature_sides),
    (lesson05.check_input_box, lesson05.solution_input_box),
]
IDS = [check.__name__ for check, _ in CHECKS]


def stub(*args):
    return None  # what the notebook's unfilled exercise cell returns


def broken(*args):
    raise NotImplementedError("fill me in")


@pytest.mark.parametrize("check, solution", CHECKS, ids=IDS)
def test_the_solution_passes(check, solution):
    result = check(solution)
    assert isinstance(result, Result) and result, result
    assert repr(result).startswith("✅")


@pytest.mark.parametrize("check, solution", CHECKS, ids=IDS)
@pytest.mark.parametrize("answer", [stub, broken, lambda *args: "nonsense"], ids=["stub", "raises", "nonsense"])
def test_unfilled_or_broken_answers_get_a_hint_not_an_exception(check, solution, answer):
    result = check(answer)
    assert isinstance(result, Result) and not result
    assert repr(result).startswith("❌ not yet. Hint: ")


@pytest.mark.parametrize("lesson, numbers", [(4, [1, 2, 3]), (5, [1, 2, 3])])
def test_solutions_are_listed_and_shown(lesson, numbers, capsys):
    module = {4: lesson04, 5: lesson05}[lesson]
    assert sorted(module.SOLUTIONS) == numbers
    for number in numbers:
        show_solution(lesson, number)
        assert "def solution_" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------------
# Lesson 04: typical mistakes get a hint that names them


def test_start_grid_hints():
    swapped = lesson04.check_start_grid(lambda w, a, u: lesson04.solution_start_grid(w, a, u)[::-1])
    assert not swapped and "(sw, sh)" in swapped.message
    always_normal = lesson04.check_start_grid(lambda w, a, u: (round(w // 32 / a), w // 32))
    assert not always_normal and "upsamplings" in always_normal.message
    no_aspect = lesson04.check_start_grid(lambda w, a, u: lesson04.solution_start_grid(w, 1.0, u))
    assert not no_aspect and "aspect_ratio" in no_aspect.message


def test_expected_start_grid_is_the_library_one():
    from spade_lib.generator import SPADEGenerator

    for width, aspect_ratio, upsampling in lesson04.START_GRID_CASES:
        G = SPADEGenerator(4, width=width, aspect_ratio=aspect_ratio, upsampling=upsampling, ngf=2, spade_hidden=2)
        assert (G.sh, G.sw) == lesson04.expected_start_grid(width, aspect_ratio, upsampling)


def test_resblock_params_hints():
    def no_shortcut(fin, fout, label_channels, hidden=128):
        return lesson04.solution_resblock_params(fout, fout, label_channels, hidden) if fin == fout else \
            lesson04.solution_resblock_params(fin, fin, label_channels, hidden) - 1
    assert not lesson04.check_resblock_params(no_shortcut)

    def convs_only(fin, fout, label_channels, hidden=128):
        m = min(fin, fout)
        return 9 * fin * m + m + 9 * m * fout + fout + (fin * fout if fin != fout else 0)
    result = lesson04.check_resblock_params(convs_only)
    assert not result and "SPADE layer" in result.message

    def shortcut_with_bias(fin, fout, label_channels, hidden=128):
        return lesson04.solution_resblock_params(fin, fout, label_channels, hidden) + (fout if fin != fout else 0)
    result = lesson04.check_resblock_params(shortcut_with_bias)
    assert not result and "no bias" in result.message


def test_resblock_params_counts_learned_parameters_not_spectral_norm_buffers():
    block = SPADEResBlock(16, 8, 5, hidden=16)
    assert lesson04.library_resblock_params(16, 8, 5, 16) == sum(p.numel() for p in block.parameters())
    assert lesson04.solution_resblock_params(16, 8, 5, 16) == sum(p.numel() for p in block.parameters())


def test_generator_forward_hints():
    def no_tanh(G, segmap):
        return torch.atanh(lesson04.solution_generator_forward(G, segmap).clamp(-0.999999, 0.999999))
    result = lesson04.check_generator_forward(no_tanh)
    assert not result and "tanh" in result.message

    def never_more(G, segmap):
        x = G.fc(F.interpolate(segmap, size=(G.sh, G.sw)))
        x = G.G_middle_1(G.G_middle_0(G.up(G.head_0(x, segmap)), segmap), segmap)
        for name in ["up_0", "up_1", "up_2", "up_3"]:
            x = getattr(G, name)(G.up(x), segmap)
        return torch.tanh(G.conv_img(F.leaky_relu(x, 0.2)))
    result = lesson04.check_generator_forward(never_more)
    assert not result and "upsamplings" in result.message

    def no_lrelu(G, segmap):
        x = G.fc(F.interpolate(segmap, size=(G.sh, G.sw)))
        x = G.head_0(x, segmap)
        x = G.G_middle_0(G.up(x), segmap)
        if G.upsampling == "more":
            x = G.up(x)
        x = G.G_middle_1(x, segmap)
        for name in ["up_0", "up_1", "up_2", "up_3"]:
            x = getattr(G, name)(G.up(x), segmap)
        return torch.tanh(G.conv_img(x))
    assert not lesson04.check_generator_forward(no_lrelu)


def test_generator_forward_check_leaves_no_trace_between_calls():
    """The check compares against a copy, so a correct answer passes even though training-mode spectral norm
    changes its state on every call."""
    assert lesson04.check_generator_forward(lesson04.solution_generator_forward)
    assert lesson04.check_generator_forward(lesson04.solution_generator_forward)


# ---------------------------------------------------------------------------------------------------------------
# Lesson 05


def test_receptive_field_matches_the_gradient_support_of_a_conv_stack():
    """The expected answers are real: the gradient of one output pixel of a PatchGAN-like stack (no norm)
    is non-zero on exactly the box that the formulas give."""
    kernels, strides, paddings = [4, 4, 4, 4, 4], [2, 2, 2, 1, 1], [2, 2, 2, 2, 2]
    torch.manual_seed(0)
    layers = []
    for k, s, p in zip(kernels, strides, paddings):
        layers += [nn.Conv2d(1, 1, k, s, p), nn.LeakyReLU(0.2)]
    with torch.no_grad():
        for layer in layers[::2]:
            layer.weight.uniform_(0.5, 1.0)  # positive: no cancellation inside the box
    stack = nn.Sequential(*layers)
    x = torch.randn(1, 1, 256, 256, dtype=torch.float64, requires_grad=True)
    out = stack.double()(x)
    assert out.shape[-1] == 35
    out[0, 0, 17, 17].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()[:, 0]
    first, last = lesson05.expected_input_box(17, kernels, strides, paddings)
    assert (rows.min().item(), rows.max().item()) == (first, last) == (90, 159)
    assert lesson05.expected_receptive_field(kernels, strides) == last - first + 1 == 70


def test_expected_feature_sides_are_the_library_ones():
    for size, n_layers in lesson05.FEATURE_SIDES_CASES:
        assert lesson05.library_feature_sides(size, n_layers) == lesson05.expected_feature_sides(size, n_layers)
    assert lesson05.expected_feature_sides(256, 4) == [129, 65, 33, 34, 35]
    assert lesson05.expected_feature_sides(128, 4) == [65, 33, 17, 18, 19]


def test_feature_sides_hints():
    result = lesson05.check_feature_sides(lambda size, n: [size // 2 ** (k + 1) for k in range(n - 1)] + [size // 8] * 2)
    assert not result and "+ 1" in result.message
    result = lesson05.check_feature_sides(lambda size, n: lesson05.solution_feature_sides(size, n)[:-1])
    assert not result and "sides" in result.message


def test_receptive_field_and_box_hints():
    result = lesson05.check_receptive_field(lambda k, s: 1 + sum(x - 1 for x in k))
    assert not result and "stride" in result.message
    result = lesson05.check_input_box(lambda o, k, s, p: (0, 69))
    assert not result and "shifted" in result.message
    result = lesson05.check_input_box(lambda o, k, s, p: (lambda b: (b[0], b[1] + 1))(
        lesson05.solution_input_box(o, k, s, p)))
    assert not result and "inclusive" in result.message


@pytest.mark.parametrize("check, solution", CHECKS, ids=IDS)
def test_checks_call_the_answer_through_call_student(check, solution):
    """One exercise style in every lesson (issue 12): the hint names the error, and something that is not a
    function gets the hint to pass the function itself."""
    raised = check(broken)
    assert not raised and "raised NotImplementedError: fill me in" in raised.message
    not_callable = check(42)
    assert not not_callable and "pass your function itself" in not_callable.message


def test_generator_forward_that_raises_gets_the_start_grid_reminder():
    result = lesson04.check_generator_forward(broken)
    assert not result and "upsampling='normal'" in result.message and "(G.sh, G.sw)" in result.message
