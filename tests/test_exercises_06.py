"""Lesson 06's exercise checks: each passes on its solution, and gives a hint (never an exception) otherwise."""
import pytest
import torch

from spade_lib.discriminator import MultiscaleDiscriminator
from spade_lib.encoder import StyleEncoder
from spade_lib.exercises import lesson06, show_solution
from spade_lib.generator import SPADEGenerator
from spade_lib.labels import one_hot
from spade_lib.losses import VGG19Features, VGGLoss

CLASSES, SIZE = 4, 32


def hint_given(result):
    return not result and "Hint" in repr(result)


# Exercise 1 -----------------------------------------------------------------------------------------------------

def test_hinge_solution_passes():
    assert lesson06.check_hinge_d(lesson06.SOLUTIONS[1])


@pytest.mark.parametrize("wrong", [
    lambda real, fake: None,  # the stub
    lambda real, fake: torch.relu(1 - real).mean(),  # real half only
    lambda real, fake: torch.relu(1 + real).mean() + torch.relu(1 - fake).mean(),  # real and fake swapped
    lambda real, fake: torch.relu(1 - real) + torch.relu(1 + fake),  # no mean
    lambda real, fake: 1 / 0,  # raises
], ids=["none", "real-only", "swapped", "no-mean", "raises"])
def test_hinge_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson06.check_hinge_d(wrong))


def test_hinge_check_takes_none_itself():
    assert hint_given(lesson06.check_hinge_d(None))


# Exercise 2 -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, ok", [("B", True), (" b ", True), ("A", False), ("C", False), ("D", False),
                                        (None, False), ("E", False), (2, False)])
def test_mystery_answers(answer, ok):
    result = lesson06.check_mystery(answer)
    assert bool(result) == ok
    if not ok:
        assert hint_given(result)


def test_the_mystery_bug_is_the_one_the_answer_names():
    """B (z detached): kl reaches the encoder, the generator's other terms do not; every term reaches G as usual."""
    torch.manual_seed(0)
    nets = {"generator": SPADEGenerator(CLASSES, width=SIZE, ngf=8, use_vae=True, z_dim=8, spade_hidden=8),
            "encoder": StyleEncoder(input_size=SIZE, ndf=8, z_dim=8),
            "discriminator": MultiscaleDiscriminator(CLASSES + 3, ndf=8),
            "vgg": VGGLoss(weights=VGG19Features().state_dict())}
    segmap = one_hot(torch.randint(0, CLASSES, (2, SIZE, SIZE)), CLASSES)
    real = (torch.rand(2, 3, SIZE, SIZE) * 2 - 1).requires_grad_()
    terms = lesson06.mystery_step(nets, segmap, real)
    assert set(terms) == {"gan", "feat", "vgg", "kl", "d_fake", "d_real"}

    def reaches(name, part):
        params = list(part.parameters()) if isinstance(part, torch.nn.Module) else [part]
        grads = torch.autograd.grad(terms[name], params, retain_graph=True, allow_unused=True)
        return any(g is not None and g.abs().sum() > 0 for g in grads)

    assert reaches("kl", nets["encoder"])
    for name in ("gan", "feat", "vgg"):
        assert not reaches(name, nets["encoder"])
        assert reaches(name, nets["generator"])
    assert not reaches("vgg", real) and not reaches("feat", real)
    assert not reaches("d_fake", nets["generator"])


# Exercise 3 -----------------------------------------------------------------------------------------------------

def test_gradients_solution_passes():
    assert lesson06.check_generator_gradients(lesson06.SOLUTIONS[3])


def test_gradients_at_minus_four_are_the_documented_ones():
    gradients = lesson06.SOLUTIONS[3](-4.0)
    assert gradients["least_squares"] == pytest.approx(-10.0)
    assert gradients["hinge"] == pytest.approx(-1.0) and gradients["wasserstein"] == pytest.approx(-1.0)
    assert gradients["bce"] == pytest.approx(-torch.sigmoid(torch.tensor(4.0)).item())


def _negated(score):
    return {kind: -value for kind, value in lesson06.SOLUTIONS[3](score).items()}


def _discriminator_side(score):
    out = {}
    for kind, loss in lesson06.GAN_LOSSES.items():
        x = torch.tensor([score], requires_grad=True)
        loss(x, False, True).backward()
        out[kind] = x.grad.item()
    return out


def _accumulated(score):  # one shared leaf: gradients pile up from kind to kind
    x = torch.tensor([score], requires_grad=True)
    out = {}
    for kind, loss in lesson06.GAN_LOSSES.items():
        loss(x, True, False).backward()
        out[kind] = x.grad.item()
    return out


@pytest.mark.parametrize("wrong", [
    lambda score: None, _negated, _discriminator_side, _accumulated,
    lambda score: {"hinge": -1.0},  # missing kinds
    lambda score: [1, 2, 3, 4],  # not a dict
    lambda score: {kind: torch.ones(3) for kind in lesson06.GAN_LOSSES},  # tensors of several values
    lambda score: {kind: -1.0 for kind in lesson06.GAN_LOSSES},  # hard-coded
], ids=["none", "negated", "d-side", "accumulated", "missing", "list", "tensors", "hard-coded"])
def test_gradients_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson06.check_generator_gradients(wrong))


def test_gradients_check_takes_none_itself():
    assert hint_given(lesson06.check_generator_gradients(None))


# Exercise 4 and the solutions -----------------------------------------------------------------------------------

def test_r1_solution_trains_the_discriminator_only():
    torch.manual_seed(0)
    discriminator = MultiscaleDiscriminator(CLASSES + 3, ndf=8)
    segmap = one_hot(torch.randint(0, CLASSES, (2, SIZE, SIZE)), CLASSES)
    penalty = lesson06.SOLUTIONS[4](discriminator, segmap, torch.rand(2, 3, SIZE, SIZE) * 2 - 1)
    assert penalty.dim() == 0 and penalty.item() >= 0
    penalty.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in discriminator.parameters())


@pytest.mark.parametrize("number", sorted(lesson06.SOLUTIONS))
def test_show_solution_prints_source(number, capsys):
    show_solution(6, number)
    assert "def _solution_" in capsys.readouterr().out


def test_a_function_that_raises_is_reported_with_its_error():
    def broken(*args):
        raise RuntimeError("shapes do not match")

    for check in (lesson06.check_hinge_d, lesson06.check_generator_gradients):
        result = check(broken)
        assert not result and "RuntimeError: shapes do not match" in repr(result)
