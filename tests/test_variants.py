"""The networks of the comparison, built by name (spade_lib.variants)."""
import pytest
import torch

from spade_lib.discriminator import MultiscaleDiscriminator
from spade_lib.generator import SPADEGenerator
from spade_lib.labels import LabelMap
from spade_lib.norms import CLADE
from spade_lib.oasis import OASISDiscriminator, OASISGenerator
from spade_lib.pix2pixhd import Pix2PixHDGenerator
from spade_lib.variants import build_discriminator, build_generator, check_variant

CLASSES, SIZE = 4, 32
SEGMAP = LabelMap(torch.randint(0, CLASSES, (2, SIZE, SIZE)), CLASSES, torch.zeros(2, SIZE, SIZE))


@pytest.mark.parametrize("name,noise_3d,kind", [
    ("spade", 0, SPADEGenerator), ("clade", 0, SPADEGenerator), ("pix2pixhd", 0, Pix2PixHDGenerator),
    ("spade", 8, OASISGenerator)])
def test_each_generator_by_name(name, noise_3d, kind):
    g = build_generator(name, CLASSES + 1, width=SIZE, ngf=4, spade_hidden=8, noise_3d=noise_3d)
    assert type(g) is kind and g.label_channels == CLASSES + 1 and g.use_vae is False
    assert any(isinstance(m, CLADE) for m in g.modules()) == (name == "clade")
    assert g(SEGMAP).shape == (2, 3, SIZE, SIZE)


def test_spade_with_the_style_encoder():
    g = build_generator("spade", CLASSES + 1, width=SIZE, ngf=4, spade_hidden=8, use_vae=True, z_dim=16)
    assert g.use_vae and g.z_dim == 16


def test_each_discriminator_by_name():
    multiscale = build_discriminator("multiscale", CLASSES + 1, CLASSES, size=SIZE, ndf=4, num_d=2)
    assert isinstance(multiscale, MultiscaleDiscriminator)
    oasis = build_discriminator("oasis", CLASSES + 1, CLASSES, size=SIZE, ndf=4)
    assert isinstance(oasis, OASISDiscriminator) and oasis.num_blocks == 3  # 32 -> 4x4
    assert oasis(torch.zeros(2, 3, SIZE, SIZE)).shape == (2, CLASSES + 1, SIZE, SIZE)


@pytest.mark.parametrize("options,message", [
    (dict(generator="stylegan"), "generator must be one of"),
    (dict(discriminator="patch"), "discriminator must be one of"),
    (dict(generator="pix2pixhd", use_vae=True), "neither a style vector"),
    (dict(generator="pix2pixhd", noise_3d=64), "neither a style vector"),
    (dict(generator="clade", noise_3d=64), "CLADE looks up"),
    (dict(use_vae=True, noise_3d=64), "choose one"),
    (dict(noise_3d=-1), "noise_3d must be"),
])
def test_meaningless_combinations_are_refused_with_the_fix(options, message):
    with pytest.raises(ValueError, match=message):
        check_variant(**options)


def test_the_valid_combinations_pass():
    for generator in ("spade", "clade", "pix2pixhd"):
        for discriminator in ("multiscale", "oasis"):
            check_variant(generator, discriminator)
    check_variant("spade", "oasis", noise_3d=64)
    check_variant("clade", "multiscale", use_vae=True)
