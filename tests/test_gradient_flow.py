"""Every loss term reaches the parameters it must train, and none that it must not (lesson 06).

A loss that silently sends no gradient still goes down on a plot while a network stops learning. Two public
GauGAN tutorials shipped such bugs: a style encoder run outside
the graph, and a perceptual loss called with swapped arguments. ``flow_problems`` lists every broken path of a
training step; the tests run it on the correct step (no problems) and on each buggy variant (caught).
"""
import pytest
import torch
import torch.nn.functional as F

from spade_lib import losses
from spade_lib.discriminator import MultiscaleDiscriminator
from spade_lib.encoder import StyleEncoder, reparameterize
from spade_lib.generator import SPADEGenerator
from spade_lib.labels import one_hot
from spade_lib.losses import (VGG19Features, VGGLoss, discriminator_loss_terms, generator_loss_terms,
                              split_fake_real)

CLASSES, SIZE, BATCH, Z_DIM = 4, 32, 2, 16


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return {
        "generator": SPADEGenerator(CLASSES, width=SIZE, ngf=8, use_vae=True, z_dim=Z_DIM, spade_hidden=16),
        "encoder": StyleEncoder(input_size=SIZE, ndf=8, z_dim=Z_DIM),
        "discriminator": MultiscaleDiscriminator(CLASSES + 3, ndf=8),
        "vgg": VGGLoss(weights=VGG19Features().state_dict()),  # random VGG19: no download needed
    }


def reached(loss, parts) -> set:
    """Names of the ``parts`` (modules or tensors) in which ``loss`` leaves a non-zero gradient."""
    for part in parts.values():
        for tensor in part.parameters() if isinstance(part, torch.nn.Module) else [part]:
            tensor.grad = None
    if loss.requires_grad:  # a loss cut off from every parameter has no graph at all
        loss.backward(retain_graph=True)
    return {name for name, part in parts.items()
            if any(t.grad is not None and t.grad.abs().sum() > 0
                   for t in (part.parameters() if isinstance(part, torch.nn.Module) else [part]))}


# Which parts each term must reach, and which it must not.
MUST_REACH = {"gan": {"generator", "encoder"}, "feat": {"generator", "encoder"}, "vgg": {"generator", "encoder"},
              "kl": {"encoder"}, "d_fake": {"discriminator"}, "d_real": {"discriminator"}}
MUST_NOT_REACH = {"gan": {"real image", "vgg"}, "feat": {"real image", "vgg"}, "vgg": {"real image", "vgg"},
                  "kl": {"generator", "discriminator"}, "d_fake": {"generator", "encoder"},
                  "d_real": {"generator", "encoder"}}


# The training step, written as the official code does it, with a switch for each known bug.
def encode(encoder, style_image, bug=None):
    if bug == "encoder under no_grad":
        with torch.no_grad():
            mu, logvar = encoder(style_image)
        return mu, logvar, reparameterize(mu, logvar)
    mu, logvar = encoder(style_image)
    z = reparameterize(mu, logvar)
    return mu, logvar, (z.detach() if bug == "z detached" else z)


class SwappedVGG(torch.nn.Module):
    """The public course bug: the perceptual loss called as vgg(real, fake)."""

    def __init__(self, vgg):
        super().__init__()
        self.vgg = vgg

    def forward(self, fake, real):
        return self.vgg(real, fake)


def loss_terms(nets, bug=None):
    """All six loss terms of one training step, and the parts whose gradients we inspect."""
    torch.manual_seed(1)
    segmap = one_hot(torch.randint(0, CLASSES, (BATCH, SIZE, SIZE)), CLASSES)
    real = (torch.rand(BATCH, 3, SIZE, SIZE) * 2 - 1).requires_grad_()
    style_image = real.detach()  # the encoder's own copy: any gradient in `real` comes from D or VGG
    generator, discriminator = nets["generator"], nets["discriminator"]

    mu, logvar, z = encode(nets["encoder"], style_image, bug)
    fake = generator(segmap, z)
    d_fake, d_real = split_fake_real(discriminator(torch.cat([segmap, segmap]), torch.cat([fake, real])))
    vgg = SwappedVGG(nets["vgg"]) if bug == "vgg arguments swapped" else nets["vgg"]
    terms = generator_loss_terms(d_fake, d_real, fake, real, mu, logvar, vgg=vgg)

    fake_for_d = fake if bug == "fake not detached for D" else fake.detach()
    d_fake, d_real = split_fake_real(discriminator(torch.cat([segmap, segmap]), torch.cat([fake_for_d, real])))
    terms.update(discriminator_loss_terms(d_fake, d_real))
    return terms, {**nets, "real image": real}


def flow_problems(terms, parts) -> list:
    """Every way in which a term's gradient goes where it must not, or not where it must."""
    problems = []
    for name, loss in terms.items():
        got = reached(loss, parts)
        problems += [f"{name} does not reach the {part}" for part in sorted(MUST_REACH[name] - got)]
        problems += [f"{name} reaches the {part}" for part in sorted(MUST_NOT_REACH[name] & got)]
    return problems


def test_every_term_reaches_what_it_must_and_nothing_else(nets):
    terms, parts = loss_terms(nets)
    assert set(terms) == set(MUST_REACH)
    assert flow_problems(terms, parts) == []


@pytest.mark.parametrize("bug, expected", [
    ("encoder under no_grad", ["gan does not reach the encoder", "feat does not reach the encoder",
                               "vgg does not reach the encoder", "kl does not reach the encoder"]),
    ("z detached", ["gan does not reach the encoder", "feat does not reach the encoder",
                    "vgg does not reach the encoder"]),
    ("vgg arguments swapped", ["vgg does not reach the generator", "vgg does not reach the encoder",
                               "vgg reaches the real image"]),
    ("fake not detached for D", ["d_fake reaches the generator", "d_fake reaches the encoder"]),
])
def test_the_check_catches_known_bugs(nets, bug, expected):
    terms, parts = loss_terms(nets, bug)
    assert set(flow_problems(terms, parts)) == set(expected)


def test_the_check_catches_feature_matching_without_detach(nets, monkeypatch):
    def feature_matching_without_detach(fake_outputs, real_outputs, weight=10.0):
        pairs = [(f, r) for fs, rs in zip(fake_outputs, real_outputs) for f, r in zip(fs[:-1], rs[:-1])]
        return sum(F.l1_loss(f, r) for f, r in pairs) * weight / len(fake_outputs)

    monkeypatch.setattr(losses, "feature_matching_loss", feature_matching_without_detach)
    terms, parts = loss_terms(nets)
    assert flow_problems(terms, parts) == ["feat reaches the real image"]


@pytest.mark.parametrize("swapped", [False, True])
def test_perceptual_gradient_goes_to_the_fake_only(nets, swapped):
    fake = torch.rand(1, 3, SIZE, SIZE).requires_grad_()
    real = torch.rand(1, 3, SIZE, SIZE).requires_grad_()
    loss = nets["vgg"](real, fake) if swapped else nets["vgg"](fake, real)
    got = reached(loss, {"fake": fake, "real": real, "vgg": nets["vgg"]})
    assert got == ({"real"} if swapped else {"fake"})
