"""Lesson 03's exercise checks: each passes on its solution, and gives a hint (never an exception) otherwise."""
import pytest
import torch
import torch.nn.functional as F

from spade_lib.exercises import lesson03, show_solution
from spade_lib.norms import find_regions


def hint_given(result):
    return not result and "Hint" in repr(result)


def no_bias_tables(spade):
    gamma, beta = lesson03.SOLUTIONS[2](spade)
    return gamma - spade.mlp_gamma.bias.detach(), beta - spade.mlp_beta.bias.detach()


def centre_tap_tables(spade):
    shared, k = spade.mlp_shared[0], spade.kernel_size
    with torch.no_grad():
        h = torch.relu(shared.bias + shared.weight[:, :, k // 2, k // 2].t())
        return (spade.mlp_gamma.bias + h @ spade.mlp_gamma.weight[:, :, k // 2, k // 2].t(),
                spade.mlp_beta.bias + h @ spade.mlp_beta.weight[:, :, k // 2, k // 2].t())


def no_shared_bias_tables(spade):
    shared = spade.mlp_shared[0]
    with torch.no_grad():
        h = torch.relu(shared.weight.sum((2, 3)).t())
        return (spade.mlp_gamma.bias + h @ spade.mlp_gamma.weight.sum((2, 3)).t(),
                spade.mlp_beta.bias + h @ spade.mlp_beta.weight.sum((2, 3)).t())


def no_relu_tables(spade):
    shared = spade.mlp_shared[0]
    with torch.no_grad():
        h = shared.bias + shared.weight.sum((2, 3)).t()
        return (spade.mlp_gamma.bias + h @ spade.mlp_gamma.weight.sum((2, 3)).t(),
                spade.mlp_beta.bias + h @ spade.mlp_beta.weight.sum((2, 3)).t())


def mixed_only(labels, kernel_size):
    return find_regions(labels, None, kernel_size).mixed


def band_without_border(labels, kernel_size):
    window = 2 * kernel_size - 1
    ids = labels[:, None].float()
    largest = F.max_pool2d(ids, window, stride=1, padding=window // 2)
    return (largest != -F.max_pool2d(-ids, window, stride=1, padding=window // 2))[:, 0]


def stub(*args):
    return None


def raises(*args):
    raise RuntimeError("boom")


SOLVED = [(lesson03.check_spade_params, 1), (lesson03.check_clade_tables, 2), (lesson03.check_band, 3)]


@pytest.mark.parametrize("check, number", SOLVED, ids=["params", "clade-tables", "band"])
def test_solution_passes(check, number):
    assert check(lesson03.SOLUTIONS[number])


@pytest.mark.parametrize("check", [c for c, _ in SOLVED], ids=["params", "clade-tables", "band"])
@pytest.mark.parametrize("answer", [None, stub, raises, 42], ids=["none", "stub", "raises", "not-callable"])
def test_no_answer_gets_a_hint(check, answer):
    assert hint_given(check(answer))


@pytest.mark.parametrize("wrong, words", [
    (lambda c, L, h, k: k * k * L * h + 2 * k * k * h * c, "biases"),
    (lambda c, L, h, k: lesson03.SOLUTIONS[1](c, L, h, k) + 2 * c, "no parameters"),
    (lambda c, L, h, k: k * k * L * h + h + k * k * h * c + c, "convolution each"),
    (lambda c, L, h, k: 2 * (k * k * h * c + c), "mlp_shared"),
    (lambda c, L, h, k: k * L * h + h + 2 * (k * h * c + c), "k * k"),
    (lambda c, L, h, k: "many", "number"),
    (lambda c, L, h, k: lesson03.SOLUTIONS[1](c, L, h, k) + 1, "should be"),
], ids=["no-bias", "norm-params", "gamma-only", "no-shared", "k-not-k2", "string", "off-by-one"])
def test_spade_params_wrong_answers(wrong, words):
    result = lesson03.check_spade_params(wrong)
    assert hint_given(result) and words in repr(result)


@pytest.mark.parametrize("wrong, words", [
    (lambda s: tuple(reversed(lesson03.SOLUTIONS[2](s))), "swapped"),
    (lambda s: tuple(1 + t for t in lesson03.SOLUTIONS[2](s)), "1 + gamma"),
    (centre_tap_tables, "all k x k taps"),
    (no_relu_tables, "ReLU"),
    (no_bias_tables, "biases"),
    (no_shared_bias_tables, "b_s"),
    (lambda s: tuple(t.t() for t in lesson03.SOLUTIONS[2](s)), "transpose"),
    (lambda s: lesson03.SOLUTIONS[2](s)[0], "pair"),
    (lambda s: (lesson03.SOLUTIONS[2](s)[0], torch.zeros_like(lesson03.SOLUTIONS[2](s)[1])), "beta is not"),
], ids=["swapped", "scale", "centre-tap", "no-relu", "no-bias", "no-shared-bias", "transposed", "one-tensor",
        "beta-wrong"])
def test_clade_tables_wrong_answers(wrong, words):
    result = lesson03.check_clade_tables(wrong)
    assert hint_given(result) and words in repr(result)


@pytest.mark.parametrize("wrong, words", [
    (mixed_only, "(2k-1)"),
    (band_without_border, "border"),
    (lambda labels, k: torch.ones_like(labels, dtype=torch.bool), "too many"),
    (lambda labels, k: lesson03.SOLUTIONS[3](labels, k)[0], "shape"),
], ids=["mixed", "no-border", "everything", "first-image"])
def test_band_wrong_answers(wrong, words):
    result = lesson03.check_band(wrong)
    assert hint_given(result) and words in repr(result)


def test_band_accepts_a_float_mask():
    assert lesson03.check_band(lambda labels, k: lesson03.SOLUTIONS[3](labels, k).float())


def test_open_exercise_solution_runs(capsys):
    g = torch.Generator().manual_seed(0)
    blobs = F.interpolate(torch.randn(1, 5, 6, 6, generator=g), size=(256, 256), mode="bicubic").argmax(1)
    fractions = lesson03.SOLUTIONS[4](blobs)
    assert set(fractions) == {8, 16, 32, 64, 128, 256}
    assert fractions[8] == 1.0 and 0 < fractions[256] < fractions[32] <= 1
    assert "band" in capsys.readouterr().out


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_solutions_can_be_shown(number, capsys):
    show_solution(3, number)
    assert "def _solution_" in capsys.readouterr().out
