"""The networks of the comparison (lesson 12), built by name: what the trainer's configuration chooses.

Generators: "spade" (official, ``generator.SPADEGenerator``), "clade" (the same with CLADE layers,
``modulation="clade"``), "pix2pixhd" (the paper's baseline: the label map at the input only,
``pix2pixhd.Pix2PixHDGenerator``); any SPADE generator may add OASIS's 3D noise (``noise_3d`` channels,
``oasis.OASISGenerator``). Discriminators: "multiscale" (official PatchGANs, ``discriminator.MultiscaleDiscriminator``)
or "oasis" (a U-Net segmenter with N + 1 outputs, ``oasis.OASISDiscriminator``). ``check_variant`` refuses the
combinations that mean nothing, with the reason, before anything is built.
"""
import torch.nn as nn

from .discriminator import MultiscaleDiscriminator
from .generator import SPADEGenerator
from .oasis import OASISDiscriminator, OASISGenerator, oasis_num_blocks
from .pix2pixhd import Pix2PixHDGenerator

GENERATORS = ("spade", "clade", "pix2pixhd")
DISCRIMINATORS = ("multiscale", "oasis")


def check_variant(generator: str = "spade", discriminator: str = "multiscale", use_vae: bool = False,
                  noise_3d: int = 0) -> None:
    """A ValueError naming the option and the fix for a choice or combination that cannot be built."""
    if generator not in GENERATORS:
        raise ValueError(f"generator must be one of {GENERATORS}, got {generator!r}")
    if discriminator not in DISCRIMINATORS:
        raise ValueError(f"discriminator must be one of {DISCRIMINATORS}, got {discriminator!r}")
    if noise_3d < 0:
        raise ValueError(f"noise_3d must be 0 (no noise) or a number of noise channels, got {noise_3d}")
    if generator == "pix2pixhd" and (use_vae or noise_3d):
        raise ValueError("the pix2pixhd generator takes neither a style vector nor 3D noise: turn off use_vae "
                         "and set noise_3d to 0 (the comparison runs every generator without them)")
    if generator == "clade" and noise_3d:
        raise ValueError("3D noise needs SPADE's convolutions (CLADE looks up one row per class): use "
                         "generator 'spade' with noise_3d, or noise_3d 0 with 'clade'")
    if use_vae and noise_3d:
        raise ValueError("use_vae and noise_3d are two ways to get many images per label map: choose one "
                         "(OASIS: noise_3d 64 and no style encoder)")


def build_generator(generator: str, label_channels: int, width: int = 256, upsampling: str = "normal",
                    ngf: int = 64, norm: str = "batch", spade_hidden: int = 128, use_vae: bool = False,
                    z_dim: int = 256, noise_3d: int = 0) -> nn.Module:
    """The generator named ``generator`` (see ``GENERATORS``) for ``label_channels``-channel label maps."""
    check_variant(generator, use_vae=use_vae, noise_3d=noise_3d)
    size = dict(width=width, upsampling=upsampling, ngf=ngf, norm=norm)
    if generator == "pix2pixhd":
        return Pix2PixHDGenerator(label_channels, **size)
    if noise_3d:
        return OASISGenerator(label_channels, noise_dim=noise_3d, spade_hidden=spade_hidden, **size)
    return SPADEGenerator(label_channels, use_vae=use_vae, z_dim=z_dim, spade_hidden=spade_hidden,
                          modulation=generator, **size)


def build_discriminator(discriminator: str, label_channels: int, num_classes: int, size: int = 256, ndf: int = 64,
                        num_d: int = 2, n_layers_d: int = 4) -> nn.Module:
    """The discriminator named ``discriminator`` (see ``DISCRIMINATORS``).

    label_channels: the segmap's channels (the multiscale D reads them with the image); num_classes: the classes
    OASIS's D predicts (the segmap's classes with "don't care", without the edge channel); size: the images'."""
    check_variant(discriminator=discriminator)
    if discriminator == "oasis":
        return OASISDiscriminator(num_classes, ndf=ndf, num_blocks=oasis_num_blocks(size))
    return MultiscaleDiscriminator(label_channels + 3, num_d=num_d, n_layers=n_layers_d, ndf=ndf)
