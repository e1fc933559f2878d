r"""The paper's baseline: the label map enters at the first layer only (pix2pixHD++, lesson 12).

Park et al. 2019 (https://arxiv.org/abs/1903.07291) argue in Sec. 3 ("Why does SPADE work better?") and Fig. 2
that a network which takes the label map as its *input* loses it in its normalization layers, and measure it in
Table 1 (pix2pixHD: ADE20K mIoU 20.3 against SPADE's 38.5) and Table 3 (the ablation: "pix2pixHD++", pix2pixHD with
the paper's improvements, against the same networks with SPADE). ``Pix2PixHDGenerator`` is that baseline at any
size, built so that it differs from our ``SPADEGenerator`` in one thing only, where the label map enters:

- **encoder** (pix2pixHD's global generator, Wang et al. 2018): a 7x7 convolution of the full-resolution label
  map (one-hot + instance edges), then stride-2 3x3 convolutions, doubling the width up to 16 nf, down to the
  SPADE generator's start grid (8x8 at 256x256, 2x2 at 64x64);
- **decoder**: the SPADE generator's trunk, block for block and upsampling for upsampling (``head_0`` ...
  ``up_3``, ``conv_img``), with the same convolutions, spectral norm and init, but each SPADE layer replaced by a
  batch norm with its own learned (per-channel, not per-pixel) scale and shift. Under DDP the trainer turns
  these into synchronized batch norms, as it does for SPADE's.

What differs from the official pix2pixHD global generator (and from NVlabs/SPADE ``models/networks/generator.py``,
``Pix2PixHDGenerator``, which follows it): there, 4 downsamplings to 1/16 of the size, 9 residual blocks of
constant width, transposed convolutions up, instance norm, no spectral norm on the decoder. Here the decoder is
SPADE's (nearest upsampling, residual blocks that change width, 5 downsamplings to SPADE's start grid), so the
comparison with SPADE isolates "label map at the input + batch norm" against "label map in every normalization".
Like pix2pixHD++ it is trained with SPADE's recipe (hinge loss, feature matching, TTUR, spectral norm). No style
encoder: the comparison is run without the VAE for every generator.

Parameter budget: the encoder takes the place of the SPADE layers' convolutions. Where SPADE's hidden width is
2 ngf (official, classroom) the total is close to the SPADE generator's: 0.88 times at the classroom size (ngf 16,
hidden 32, 13 label channels), 0.86 at the official ADE20K size (ngf 64, hidden 128, 151 channels); with a wider
SPADE (the colab preset: ngf 32, hidden 128) 0.70. ``tests/test_pix2pixhd.py`` checks 0.8-1.0 at hidden = 2 ngf.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .generator import NUM_UPSAMPLINGS
from .labels import Segmap, check_segmap, dense_segmap
from .layers import add_spectral_norm, init_weights


def affine_norm(norm: str, channels: int) -> nn.Module:
    """The plain normalization that replaces SPADE: batch norm (official) or instance norm, each with a learned
    per-channel scale and shift (SPADE's gamma and beta, but the same at every pixel of every image)."""
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    raise ValueError(f"norm must be 'batch' or 'instance', got {norm!r}")


def maybe_spectral(conv: nn.Conv2d, spectral_norm: bool) -> nn.Conv2d:
    return add_spectral_norm(conv) if spectral_norm else conv


class NormResBlock(nn.Module):
    r"""SPADE's residual block (``generator.SPADEResBlock``) with plain normalization in place of SPADE.

    .. math:: \text{out} = s(x) + \text{conv}_1(\text{lrelu}(\text{BN}_1(\text{conv}_0(\text{lrelu}(\text{BN}_0(x))))))

    with :math:`s(x) = \text{conv}_s(\text{BN}_s(x))` when ``fin != fout``, else :math:`s(x) = x`: the same
    convolutions (names, shapes, spectral norm) as the SPADE block, and no label map."""

    def __init__(self, fin: int, fout: int, norm: str = "batch", spectral_norm: bool = True):
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = maybe_spectral(nn.Conv2d(fin, fmiddle, 3, padding=1), spectral_norm)
        self.conv_1 = maybe_spectral(nn.Conv2d(fmiddle, fout, 3, padding=1), spectral_norm)
        self.norm_0, self.norm_1 = affine_norm(norm, fin), affine_norm(norm, fmiddle)
        if self.learned_shortcut:
            self.conv_s = maybe_spectral(nn.Conv2d(fin, fout, 1, bias=False), spectral_norm)
            self.norm_s = affine_norm(norm, fin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x)) if self.learned_shortcut else x  # (N, fout, h, w)
        dx = self.conv_0(F.leaky_relu(self.norm_0(x), 0.2))  # (N, fmiddle, h, w)
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx), 0.2))  # (N, fout, h, w)
        return x_s + dx


def encoder_widths(ngf: int, num_down: int) -> list[int]:
    """Widths of the encoder's layers: nf at full size, doubling at each downsampling up to the trunk's 16 nf."""
    return [min(ngf * 2 ** i, 16 * ngf) for i in range(num_down + 1)]


class LabelEncoder(nn.Module):
    """pix2pixHD's front end: the full-resolution label map -> (N, 16nf, sh, sw) features at the start grid.

    A 7x7 convolution (reflection padding, as pix2pixHD), then ``num_down`` stride-2 3x3 convolutions, each
    followed by the normalization and a ReLU; convolutions followed by a normalization have no bias."""

    def __init__(self, label_channels: int, ngf: int, num_down: int, norm: str = "batch",
                 spectral_norm: bool = True):
        super().__init__()
        widths = encoder_widths(ngf, num_down)
        layers = [nn.ReflectionPad2d(3), maybe_spectral(nn.Conv2d(label_channels, ngf, 7, bias=False), spectral_norm),
                  affine_norm(norm, ngf), nn.ReLU()]
        for fin, fout in zip(widths[:-1], widths[1:]):
            conv = nn.Conv2d(fin, fout, 3, stride=2, padding=1, bias=False)
            layers += [maybe_spectral(conv, spectral_norm), affine_norm(norm, fout), nn.ReLU()]
        self.layers = nn.Sequential(*layers)

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        return self.layers(m)  # (N, label_channels, H, W) -> (N, 16nf, H / 2**num_down, W / 2**num_down)


class Pix2PixHDGenerator(nn.Module):
    """pix2pixHD++ at SPADE's size and width (paper Sec. 3 and Fig. 2, Tables 1 and 3; see the module docstring).

    Args (as ``SPADEGenerator``'s, minus those of SPADE and of the style encoder):
        label_channels: channels of the segmap (``generator.label_channels()``).
        width, aspect_ratio, upsampling: the output size and the trunk's start grid, as in ``SPADEGenerator``.
        ngf: base width nf; encoder nf up to 16nf, trunk 16nf down to nf.
        norm: "batch" (official, synchronized under DDP) or "instance"; with learned scale and shift.
        spectral_norm: spectral norm on every convolution but the last (official pix2pixHD++: "spectral" norms).

    ``use_vae`` is False and ``z_dim`` 0: this generator makes one image per label map.
    """

    use_vae, z_dim = False, 0

    def __init__(self, label_channels: int, width: int = 256, aspect_ratio: float = 1.0, upsampling: str = "normal",
                 ngf: int = 64, norm: str = "batch", spectral_norm: bool = True):
        super().__init__()
        if upsampling not in NUM_UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {list(NUM_UPSAMPLINGS)}, got {upsampling!r}")
        num_up = NUM_UPSAMPLINGS[upsampling]
        if width % 2 ** num_up:
            raise ValueError(f"width {width} must be a multiple of 2**{num_up} = {2 ** num_up} for upsampling "
                             f"{upsampling!r}, as in SPADEGenerator")
        self.sw = width // 2 ** num_up
        self.sh = round(self.sw / aspect_ratio)
        if self.sh < 1:
            raise ValueError(f"aspect_ratio {aspect_ratio} leaves no rows at width {width}: use a larger width")
        self.width, self.height = width, self.sh * 2 ** num_up
        self.label_channels, self.upsampling = label_channels, upsampling
        nf = ngf

        self.encoder = LabelEncoder(label_channels, nf, num_up, norm, spectral_norm)
        block = dict(norm=norm, spectral_norm=spectral_norm)
        self.head_0 = NormResBlock(16 * nf, 16 * nf, **block)
        self.G_middle_0 = NormResBlock(16 * nf, 16 * nf, **block)
        self.G_middle_1 = NormResBlock(16 * nf, 16 * nf, **block)
        self.up_0 = NormResBlock(16 * nf, 8 * nf, **block)
        self.up_1 = NormResBlock(8 * nf, 4 * nf, **block)
        self.up_2 = NormResBlock(4 * nf, 2 * nf, **block)
        self.up_3 = NormResBlock(2 * nf, 1 * nf, **block)
        if upsampling == "most":
            self.up_4 = NormResBlock(1 * nf, nf // 2, **block)
        self.conv_img = nn.Conv2d(nf // 2 if upsampling == "most" else nf, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        init_weights(self)

    def forward(self, segmap: Segmap, z: Optional[torch.Tensor] = None) -> torch.Tensor:
        """segmap: (N, label_channels, H, W) one-hot, (N, H, W) ids or a LabelMap, at the output size. Returns
        (N, 3, H, W) in [-1, 1]. Shape comments: 256x256 "normal", start grid 8x8."""
        if z is not None:
            raise ValueError("Pix2PixHDGenerator takes no style vector z (it has no style encoder)")
        device = self.conv_img.weight.device
        check_segmap(segmap, self.label_channels, device, size=(self.height, self.width))
        # the label map enters here, and only here: (N, label_channels, 256, 256)
        m = dense_segmap(segmap, self.label_channels, (self.height, self.width)).to(self.conv_img.weight.dtype)
        x = self.encoder(m)  # (N, 16nf, 8, 8)
        x = self.head_0(x)  # (N, 16nf, 8, 8)
        x = self.G_middle_0(self.up(x))  # (N, 16nf, 16, 16)
        if self.upsampling in ("more", "most"):
            x = self.up(x)
        x = self.G_middle_1(x)  # (N, 16nf, 16, 16)
        x = self.up_0(self.up(x))  # (N, 8nf, 32, 32)
        x = self.up_1(self.up(x))  # (N, 4nf, 64, 64)
        x = self.up_2(self.up(x))  # (N, 2nf, 128, 128)
        x = self.up_3(self.up(x))  # (N, nf, 256, 256)
        if self.upsampling == "most":
            x = self.up_4(self.up(x))  # (N, nf/2, H, W)
        x = self.conv_img(F.leaky_relu(x, 0.2))  # (N, 3, 256, 256)
        return torch.tanh(x)
