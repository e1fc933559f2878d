"""The SPADE generator (lesson 04): residual blocks of SPADE layers, upsampled from a tiny grid to the image.

Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019, Sec. 3.2 and Appendix A
(https://arxiv.org/abs/1903.07291); official code: NVlabs/SPADE, ``models/networks/generator.py`` and
``architecture.py``. Module names follow the official code, so official checkpoints load with
``spade_lib.official.load_official``. What the three networks share lives elsewhere: the label-map input
(``label_channels``, ``make_segmap``, ``check_segmap``) in ``spade_lib.labels``, the official init
(``init_weights``) and spectral norm in ``spade_lib.layers``.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .labels import LabelMap, Segmap, check_segmap, dense_segmap  # Segmap: one-hot, ids or LabelMap
from .layers import add_spectral_norm, init_weights
from .norms import CLADE, SPADE

# ----------------------------------------------------------------------------------------------------------------
# The generator

MODULATIONS = ("spade", "clade")  # how the label map modulates the normalized features of each residual block


def conditional_norm(modulation: str, channels: int, label_channels: int, hidden: int = 128, kernel_size: int = 3,
                     norm: str = "batch") -> nn.Module:
    """The residual block's label-driven normalization: ``SPADE`` (gamma and beta per pixel, from convolutions of
    the label map; paper Eq. 1) or ``CLADE`` (one gamma and beta per label channel, a lookup; Tan et al. 2021)."""
    if modulation == "spade":
        return SPADE(channels, label_channels, hidden, kernel_size, norm)
    if modulation == "clade":
        return CLADE(channels, label_channels, norm)
    raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")


def clade_segmap(segmap: Segmap) -> Segmap:
    """The label map as CLADE reads it. CLADE looks up one row per class and cannot take a LabelMap's edges, so
    a LabelMap with edges becomes the dense map, where the edge channel is one more row of CLADE's tables: on an
    edge pixel, gamma = gamma_class + gamma_edge (a 1x1 convolution of the map; our choice, not CLADE's paper)."""
    if isinstance(segmap, LabelMap) and segmap.edges is not None:
        return segmap.one_hot()  # (N, label_channels, H, W), made once for all the blocks
    return segmap


class SPADEResBlock(nn.Module):
    r"""SPADE residual block (paper Fig. 4 right; official ``SPADEResnetBlock``).

    .. math:: \text{out} = s(x) + \text{conv}_1(\text{lrelu}(\text{SPADE}_1(
              \text{conv}_0(\text{lrelu}(\text{SPADE}_0(x, m))), m)))

    with the shortcut :math:`s(x) = \text{conv}_s(\text{SPADE}_s(x, m))` (1x1, no bias) when ``fin != fout``,
    else :math:`s(x) = x`. Spectral norm on conv_0, conv_1, conv_s only; the SPADE convs have none.
    ``modulation="clade"`` puts CLADE layers where the SPADE layers are (same names), the CLADE generator."""

    def __init__(self, fin: int, fout: int, label_channels: int, hidden: int = 128, kernel_size: int = 3,
                 norm: str = "batch", spectral_norm: bool = True, modulation: str = "spade"):
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = nn.Conv2d(fin, fmiddle, 3, padding=1)
        self.conv_1 = nn.Conv2d(fmiddle, fout, 3, padding=1)
        self.norm_0 = conditional_norm(modulation, fin, label_channels, hidden, kernel_size, norm)
        self.norm_1 = conditional_norm(modulation, fmiddle, label_channels, hidden, kernel_size, norm)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, 1, bias=False)
            self.norm_s = conditional_norm(modulation, fin, label_channels, hidden, kernel_size, norm)
        if spectral_norm:
            self.conv_0, self.conv_1 = add_spectral_norm(self.conv_0), add_spectral_norm(self.conv_1)
            if self.learned_shortcut:
                self.conv_s = add_spectral_norm(self.conv_s)

    def forward(self, x: torch.Tensor, segmap: Segmap) -> torch.Tensor:
        # x: (N, fin, h, w); segmap at full resolution (each SPADE resizes it to h x w)
        x_s = self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x  # (N, fout, h, w)
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))  # (N, fmiddle, h, w)
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))  # (N, fout, h, w)
        # out = s(x) + conv_1(lrelu(SPADE_1(conv_0(lrelu(SPADE_0(x, m))), m)))
        return x_s + dx


NUM_UPSAMPLINGS = {"normal": 5, "more": 6, "most": 7}  # x2 upsamplings between the start grid and the image


class SPADEGenerator(nn.Module):
    """The SPADE generator (paper Appendix A, Fig. 12; official ``SPADEGenerator``), lesson 04.

    From a tiny (sh, sw) grid, seven SPADE residual blocks and five (normal), six (more) or seven (most) nearest x2
    upsamplings grow the image; every SPADE sees the label map. The grid comes from the label map downsampled
    (``fc`` = 3x3 conv), or, with ``use_vae``, from a style vector z (``fc`` = Linear).

    Args:
        label_channels: channels of the segmap (see ``label_channels()``).
        width: output width; height = sh * 2**num_up with sw = width // 2**num_up, sh = round(sw / aspect_ratio).
        aspect_ratio: width / height (Cityscapes: 2.0).
        upsampling: "normal" (5 upsamplings), "more" (6) or "most" (7, adds block ``up_4``).
        ngf: base width nf; the blocks have 16nf down to nf channels.
        use_vae, z_dim: start from a z vector (style) instead of the downsampled label map.
        spade_hidden, spade_kernel_size, norm: SPADE's hidden width, conv kernel, and parameter-free norm
            ("batch" or "instance").
        spectral_norm: spectral norm on the residual blocks' convs (official: yes).
        instance_edges: the last label channel is the instance-edge map (official: unless ``--no_instance``);
            plain class ids are then refused, since they carry no edges (use ``make_segmap`` with instances).
        modulation: "spade" (official) or "clade": CLADE layers in the blocks (Tan et al., "Efficient Semantic
            Image Synthesis via Class-Adaptive Normalization", TPAMI 2021): one gamma and beta per class, no
            convolutions over the label map; ``spade_hidden`` and ``spade_kernel_size`` are then unused.
    """

    def __init__(self, label_channels: int, width: int = 256, aspect_ratio: float = 1.0, upsampling: str = "normal",
                 ngf: int = 64, use_vae: bool = False, z_dim: int = 256, spade_hidden: int = 128,
                 spade_kernel_size: int = 3, norm: str = "batch", spectral_norm: bool = True,
                 instance_edges: bool = False, modulation: str = "spade"):
        super().__init__()
        if modulation not in MODULATIONS:
            raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
        if upsampling not in NUM_UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {list(NUM_UPSAMPLINGS)}, got {upsampling!r}")
        num_up = NUM_UPSAMPLINGS[upsampling]
        if width % 2 ** num_up:
            raise ValueError(f"width {width} must be a multiple of 2**{num_up} = {2 ** num_up} for upsampling "
                             f"{upsampling!r}: use a width such as {max(1, round(width / 2 ** num_up)) * 2 ** num_up}"
                             f", or fewer upsamplings")
        self.sw = width // 2 ** num_up  # start grid, e.g. 8x8 for 256x256 "normal"
        self.sh = round(self.sw / aspect_ratio)
        if self.sh < 1:
            raise ValueError(f"aspect_ratio {aspect_ratio} leaves no rows at width {width}: use a larger width")
        self.width, self.height = width, self.sh * 2 ** num_up
        self.label_channels, self.upsampling, self.use_vae, self.z_dim = label_channels, upsampling, use_vae, z_dim
        self.instance_edges = instance_edges
        self.modulation = modulation
        nf = ngf

        if use_vae:
            self.fc = nn.Linear(z_dim, 16 * nf * self.sh * self.sw)
        else:
            self.fc = nn.Conv2d(label_channels, 16 * nf, 3, padding=1)
        block = dict(label_channels=label_channels, hidden=spade_hidden, kernel_size=spade_kernel_size, norm=norm,
                     spectral_norm=spectral_norm, modulation=modulation)
        self.head_0 = SPADEResBlock(16 * nf, 16 * nf, **block)
        self.G_middle_0 = SPADEResBlock(16 * nf, 16 * nf, **block)
        self.G_middle_1 = SPADEResBlock(16 * nf, 16 * nf, **block)
        self.up_0 = SPADEResBlock(16 * nf, 8 * nf, **block)
        self.up_1 = SPADEResBlock(8 * nf, 4 * nf, **block)
        self.up_2 = SPADEResBlock(4 * nf, 2 * nf, **block)
        self.up_3 = SPADEResBlock(2 * nf, 1 * nf, **block)
        if upsampling == "most":
            self.up_4 = SPADEResBlock(1 * nf, nf // 2, **block)
        self.conv_img = nn.Conv2d(nf // 2 if upsampling == "most" else nf, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        init_weights(self)

    def forward(self, segmap: Segmap, z: Optional[torch.Tensor] = None) -> torch.Tensor:
        """segmap: (N, label_channels, H, W) one-hot, (N, H, W) ids or a LabelMap, at the output size (H, W);
        z: (N, z_dim) style, with ``use_vae`` only (drawn from N(0, I) when not given). Returns (N, 3, H, W) in
        [-1, 1]. Shape comments: 256x256 "normal", nf = ngf, start grid (sh, sw) = (8, 8)."""
        device = self.conv_img.weight.device
        n, _, _ = check_segmap(segmap, self.label_channels, device, (self.height, self.width), self.instance_edges)
        if self.use_vae:
            if z is None:
                z = torch.randn(n, self.z_dim, device=device, dtype=self.fc.weight.dtype)
            if z.shape != (n, self.z_dim) or z.device != device:
                raise ValueError(f"z must be a ({n}, {self.z_dim}) tensor on {device}, got {tuple(z.shape)} on "
                                 f"{z.device}")
            x = self.fc(z).view(n, -1, self.sh, self.sw)  # (N, 16nf, 8, 8)
        elif z is not None:
            raise ValueError("z is only used by a generator built with use_vae=True")
        else:
            # (N, label_channels, 8, 8): at this tiny size the one-hot map costs nothing
            m = dense_segmap(segmap, self.label_channels, (self.sh, self.sw))
            x = self.fc(m.to(self.fc.weight.dtype))  # (N, 16nf, 8, 8)
        if self.modulation == "clade":
            segmap = clade_segmap(segmap)

        x = self.head_0(x, segmap)  # (N, 16nf, 8, 8)
        x = self.G_middle_0(self.up(x), segmap)  # (N, 16nf, 16, 16)
        if self.upsampling in ("more", "most"):
            x = self.up(x)
        x = self.G_middle_1(x, segmap)  # (N, 16nf, 16, 16)
        x = self.up_0(self.up(x), segmap)  # (N, 8nf, 32, 32)
        x = self.up_1(self.up(x), segmap)  # (N, 4nf, 64, 64)
        x = self.up_2(self.up(x), segmap)  # (N, 2nf, 128, 128)
        x = self.up_3(self.up(x), segmap)  # (N, nf, 256, 256)
        if self.upsampling == "most":
            x = self.up_4(self.up(x), segmap)  # (N, nf/2, H, W)
        x = self.conv_img(F.leaky_relu(x, 0.2))  # (N, 3, 256, 256)
        return torch.tanh(x)
