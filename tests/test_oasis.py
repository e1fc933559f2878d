"""OASIS (Sushko et al., ICLR 2021): D as an (N + 1)-class segmenter, class balance, LabelMix, 3D noise."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from spade_lib.generator import SPADEGenerator, init_weights
from spade_lib.labels import LabelMap
from spade_lib.oasis import (OASISDiscriminator, OASISGenerator, class_balance_weights, encoder_widths, label_mix,
                             label_mix_consistency, label_mix_mask, n_plus_one_loss, oasis_discriminator_loss,
                             oasis_discriminator_terms, oasis_generator_loss, oasis_generator_terms,
                             oasis_num_blocks)

CLASSES, SIZE = 4, 32


def stripes(batch=2, size=SIZE, classes=CLASSES):
    """(batch, size, size) ids, every class present, with a different class order in each image."""
    base = torch.arange(size)[None, :].expand(size, size) * classes // size
    return torch.stack([(base + i) % classes for i in range(batch)])


def small_d(**kwargs):
    return OASISDiscriminator(CLASSES, ndf=8, num_blocks=oasis_num_blocks(SIZE), **kwargs)


# --- the discriminator --------------------------------------------------------------------------------------------

def test_discriminator_gives_n_plus_1_logits_per_pixel():
    for size in (32, 64):
        d = OASISDiscriminator(CLASSES, ndf=4, num_blocks=oasis_num_blocks(size))
        assert d(torch.randn(2, 3, size, size)).shape == (2, CLASSES + 1, size, size)
    assert oasis_num_blocks(256) == 6 and oasis_num_blocks(64) == 4


def test_official_widths_and_u_net_skips():
    assert encoder_widths(64, 6) == [128, 128, 256, 256, 512, 512]  # official OASIS_Discriminator.channels
    d = OASISDiscriminator(150, ndf=64, num_blocks=6)
    # decoder: 512 -> 512, then [skip; x] of 2 x 512 -> 256, ..., 2 x 128 -> 64, then 1x1 to 151 logits
    assert [b.conv_0.in_channels for b in d.up] == [512, 1024, 512, 512, 256, 256]
    assert [b.conv_1.out_channels for b in d.up] == [512, 256, 256, 128, 128, 64]
    assert d.classifier.out_channels == 151


def test_discriminator_sees_far_and_near():
    """The U-Net's bottleneck gives every output pixel a view of the whole image; the skips keep it local."""
    d = small_d().eval()
    image = torch.randn(1, 3, SIZE, SIZE, requires_grad=True)
    d(image)[0, :, 0, 0].sum().backward()
    grad = image.grad.abs().sum(1)[0]  # how much each input pixel moves the top-left output
    assert grad[-4:, -4:].sum() > 0  # the far corner counts
    assert grad[:4, :4].sum() > grad[-4:, -4:].sum()  # the near pixels count more


def test_gradient_reaches_every_discriminator_parameter():
    d = small_d()
    labels = stripes()
    terms = oasis_discriminator_terms(d, torch.rand(2, 3, SIZE, SIZE) * 2 - 1, torch.rand(2, 3, SIZE, SIZE) * 2 - 1,
                                      labels)
    sum(terms.values()).backward()
    assert not [n for n, p in d.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]


def test_bad_sizes_are_refused():
    d = small_d()
    with pytest.raises(ValueError, match="multiple of"):
        d(torch.randn(1, 3, 36, 36))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        d(torch.randn(1, 4, SIZE, SIZE))
    with pytest.raises(ValueError, match="power-of-two"):
        oasis_num_blocks(48)


# --- class balance and the N + 1 loss -------------------------------------------------------------------------------

HAND_LABELS = torch.tensor([[[0, 0], [0, 1]]])  # 3 pixels of class 0, 1 of class 1, class 2 absent


def test_class_balance_weights_on_a_hand_made_map():
    # alpha_c = N H W / (classes present * pixels of c) = 4 / (2 * 3), 4 / (2 * 1), 0 (absent)
    torch.testing.assert_close(class_balance_weights(HAND_LABELS, 3), torch.tensor([2 / 3, 2.0, 0.0]))
    # the weights' mean over the pixels is 1
    labels = torch.randint(0, 7, (3, 9, 11))
    assert math.isclose(class_balance_weights(labels, 9)[labels].mean().item(), 1.0, rel_tol=1e-6)
    # a "don't care" class weighs 0 and does not count as present
    torch.testing.assert_close(class_balance_weights(HAND_LABELS, 3, ignore_index=1), torch.tensor([4 / 3, 0, 0]))


def test_n_plus_1_loss_on_a_hand_made_case():
    logits = torch.zeros(1, 4, 2, 2)  # classes 0, 1, 2 and "fake" (channel 3)
    logits[0, 1, 1, 1] = math.log(4)  # pixel (1, 1): p(class 1) = 4 / 7, p(fake) = 1 / 7; elsewhere all 1 / 4
    # real: mean of alpha * -log p = (3 * 2/3 * log 4 + 2 * log 7/4) / 4 = log(7) / 2
    real = (3 * 2 / 3 * math.log(4) + 2 * math.log(7 / 4)) / 4
    assert math.isclose(real, math.log(7) / 2)
    assert math.isclose(n_plus_one_loss(logits, HAND_LABELS, real=True).item(), real, rel_tol=1e-6)
    # fake: mean of -log p(fake) = (3 * log 4 + log 7) / 4, unweighted
    fake = (3 * math.log(4) + math.log(7)) / 4
    assert math.isclose(n_plus_one_loss(logits, HAND_LABELS, real=False).item(), fake, rel_tol=1e-6)
    d_terms = oasis_discriminator_loss(logits, logits, HAND_LABELS)
    assert math.isclose(d_terms["d_real"].item(), real, rel_tol=1e-6)
    assert math.isclose(d_terms["d_fake"].item(), fake, rel_tol=1e-6)
    assert math.isclose(oasis_generator_loss(logits, HAND_LABELS).item(), real, rel_tol=1e-6)


def test_n_plus_1_loss_is_the_formula_on_random_logits():
    logits, labels = torch.randn(2, CLASSES + 1, 5, 6), torch.randint(0, CLASSES, (2, 5, 6))
    log_p = logits.log_softmax(1)
    alpha = class_balance_weights(labels, CLASSES)
    t = F.one_hot(labels, CLASSES).permute(0, 3, 1, 2).float()  # (N, classes, H, W)
    real = -(alpha[None, :, None, None] * t * log_p[:, :CLASSES]).sum(1).mean()
    torch.testing.assert_close(n_plus_one_loss(logits, labels, real=True), real)
    torch.testing.assert_close(n_plus_one_loss(logits, labels, real=False), -log_p[:, CLASSES].mean())


def test_loss_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="labels"):
        n_plus_one_loss(torch.zeros(1, 4, 2, 2), torch.zeros(1, 3, 3, dtype=torch.long), real=True)


# --- LabelMix -----------------------------------------------------------------------------------------------------

def test_label_mix_mask_is_binary_and_constant_on_each_class_region():
    labels = stripes(batch=3)
    masks = [label_mix_mask(labels, CLASSES) for _ in range(50)]
    for mask in masks:
        assert mask.shape == (3, 1, SIZE, SIZE) and set(mask.unique().tolist()) <= {0.0, 1.0}
        for n in range(3):
            for c in range(CLASSES):
                region = mask[n, 0][labels[n] == c]
                assert (region == region[0]).all()  # one coin per class and image
    # each class of each image is real about half of the time
    real_share = torch.stack([m[:, 0, 0, :] for m in masks]).mean(0)  # the first row holds every class
    assert ((real_share > 0.2) & (real_share < 0.8)).all()
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(label_mix_mask(labels, CLASSES, g1), label_mix_mask(labels, CLASSES, g2))


def test_label_mix_takes_real_where_the_mask_is_1():
    real, fake = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    mask = (torch.rand(2, 1, 4, 4) > 0.5).float()
    mixed = label_mix(real, fake, mask)
    m = mask.expand_as(real).bool()
    assert torch.equal(mixed[m], real[m]) and torch.equal(mixed[~m], fake[~m])


def test_consistency_is_zero_for_a_per_pixel_d_and_not_for_the_u_net():
    real, fake = torch.randn(2, 3, SIZE, SIZE), torch.randn(2, 3, SIZE, SIZE)
    mask = label_mix_mask(stripes(), CLASSES)
    per_pixel = nn.Conv2d(3, CLASSES + 1, 1)  # sees one pixel: D(mix) = mix(D(real), D(fake)) exactly
    loss = label_mix_consistency(per_pixel(label_mix(real, fake, mask)), per_pixel(real), per_pixel(fake), mask)
    assert loss.item() < 1e-10
    d = small_d()
    with torch.no_grad():
        d.classifier.weight.normal_(0, 1.0)  # logits away from the near-zero init
        loss = label_mix_consistency(d(label_mix(real, fake, mask)), d(real), d(fake), mask)
    assert loss.item() > 1e-6


def test_discriminator_terms_with_and_without_label_mix():
    d, labels = small_d(), stripes()
    fake = (torch.rand(2, 3, SIZE, SIZE) * 2 - 1).requires_grad_()
    real = torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    terms = oasis_discriminator_terms(d, fake, real, labels, generator=torch.Generator().manual_seed(0))
    assert set(terms) == {"d_fake", "d_real", "d_labelmix"}
    sum(terms.values()).backward()
    assert fake.grad is None  # D's loss does not reach the generator
    # the terms are the losses of separate D calls, LabelMix with the same coins
    mask = label_mix_mask(labels, CLASSES, torch.Generator().manual_seed(0))
    with torch.no_grad():
        d_fake, d_real, d_mixed = d(fake), d(real), d(label_mix(real, fake, mask))
        torch.testing.assert_close(terms["d_fake"], n_plus_one_loss(d_fake, labels, real=False))
        torch.testing.assert_close(terms["d_real"], n_plus_one_loss(d_real, labels, real=True))
        torch.testing.assert_close(terms["d_labelmix"], 10 * label_mix_consistency(d_mixed, d_real, d_fake, mask))
    assert set(oasis_discriminator_terms(d, fake, real, labels, label_mixing=False)) == {"d_fake", "d_real"}
    # the batch's LabelMap (with instance edges) gives the same terms: its edges are not a class
    segmap = LabelMap(labels, CLASSES, torch.ones(labels.shape))
    again = oasis_discriminator_terms(d, fake, real, segmap, generator=torch.Generator().manual_seed(0))
    for name in terms:
        torch.testing.assert_close(again[name], terms[name])
    with pytest.raises(ValueError, match="class ids"):
        oasis_discriminator_terms(d, fake, real, segmap.one_hot())


# --- the generator with 3D noise ----------------------------------------------------------------------------------

def small_g(label_channels=CLASSES, **kwargs):
    return OASISGenerator(label_channels, width=SIZE, ngf=8, noise_dim=8, spade_hidden=16, **kwargs)


def as_if_trained(g):
    """The official init (gain 0.02) makes outputs of about 1e-6; gain 0.5 gives images of a useful size
    without saturating tanh, as a trained generator would."""
    init_weights(g, 0.5)
    return g.eval()


def test_generator_reads_label_map_and_noise_at_every_spade():
    g = small_g(CLASSES + 1)
    assert g.label_channels == CLASSES + 1 and g.use_vae is False
    assert g.body.head_0.norm_0.label_channels == CLASSES + 1 + 8  # [label map; noise]
    segmap = LabelMap(stripes(), CLASSES, torch.zeros(2, SIZE, SIZE))
    assert g(segmap).shape == (2, 3, SIZE, SIZE)
    count = lambda m: sum(p.numel() for p in m.parameters())
    plain = SPADEGenerator(CLASSES + 1, width=SIZE, ngf=8, spade_hidden=16)
    assert 1.0 < count(g) / count(plain) < 1.3  # the noise adds inputs to SPADE's first convolutions only


def test_noise_changes_the_image_and_the_same_noise_gives_the_same_image():
    g, labels = as_if_trained(small_g()), stripes()
    with torch.no_grad():
        z = torch.randn(2, 8)
        torch.testing.assert_close(g(labels, z), g(labels, z))
        assert (g(labels, z) - g(labels, torch.randn(2, 8))).abs().mean() > 1e-2
        assert (g(labels) - g(labels)).abs().mean() > 1e-2  # drawn anew at every call
        # a vector per image is the same as that vector at every pixel
        torch.testing.assert_close(g(labels, z), g(labels, z[:, :, None, None].expand(2, 8, SIZE, SIZE)))


def test_noise_changed_in_one_region_changes_that_region_most():
    g, labels = as_if_trained(small_g()), stripes()
    with torch.no_grad():
        noise = torch.randn(2, 8)[:, :, None, None].expand(2, 8, SIZE, SIZE).clone()
        before = g(labels, noise)
        noise[:, :, :, : SIZE // 2] = torch.randn(2, 8, SIZE, SIZE // 2)  # new noise per pixel, left half
        change = (g(labels, noise) - before).abs().mean((0, 1))  # (H, W)
    assert change[:, : SIZE // 2].mean() > 2 * change[:, SIZE // 2:].mean()  # measured: 4 times


def test_gradient_reaches_every_generator_parameter_through_the_oasis_loss():
    g, d, labels = small_g(), small_d(), stripes(4)
    d.requires_grad_(False)
    terms = oasis_generator_terms(d, g(labels), labels)
    assert set(terms) == {"gan"}
    terms["gan"].backward()
    assert not [n for n, p in g.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]


def test_generator_refuses_bad_noise():
    g = small_g()
    with pytest.raises(ValueError, match="noise must be"):
        g(stripes(), torch.randn(2, 7))
    with pytest.raises(ValueError, match="noise_dim"):
        OASISGenerator(CLASSES, width=SIZE, noise_dim=0)


# --- a few steps of training --------------------------------------------------------------------------------------

def test_a_few_steps_reduce_the_losses_on_a_tiny_batch():
    labels = stripes()
    colours = torch.rand(CLASSES, 3) * 2 - 1
    real = colours[labels].permute(0, 3, 1, 2)  # (2, 3, H, W): a colour per class
    # At this tiny scale the official init (gain 0.02) with spectral norm makes Adam's first steps turn the
    # weights faster than the one power iteration per step follows: the loss spikes (measured up to 75) before
    # it falls. Gain 1 keeps this test about the losses, not about that transient.
    d = small_d()
    init_weights(d, 1.0)
    fake = torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    optimizer = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.0, 0.999))
    d_losses = []
    for _ in range(10):
        loss = sum(oasis_discriminator_terms(d, fake, real, labels).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        d_losses.append(loss.item())
    assert d_losses[-1] < 0.8 * d_losses[0], d_losses  # measured over 5 seeds: 0.55-0.68
    # G against this (fixed) D: it learns to make pixels that D reads as their class
    g = small_g()
    d.requires_grad_(False)
    optimizer = torch.optim.Adam(g.parameters(), lr=3e-3, betas=(0.0, 0.999))
    g_losses = []
    for _ in range(12):
        loss = oasis_generator_terms(d, g(labels, torch.zeros(2, 8)), labels)["gan"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        g_losses.append(loss.item())
    assert sum(g_losses[-3:]) / 3 < 0.9 * g_losses[0], g_losses  # measured over 5 seeds: 0.6-0.8
