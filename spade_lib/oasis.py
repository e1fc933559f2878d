r"""OASIS: the discriminator as a semantic segmenter (lesson 12).

Sushko, Schönfeld, Zhang, Gall, Schiele, Khoreva, "You Only Need Adversarial Supervision for Semantic Image
Synthesis", ICLR 2021 (https://arxiv.org/abs/2012.04781); official code: boschresearch/OASIS
(``models/discriminator.py``, ``models/losses.py``, ``models/models.py``, ``models/generator.py``). Four ideas, each
a few lines here:

1. **D segments.** ``OASISDiscriminator`` is a U-Net (an encoder of residual blocks down to a small grid, a
   decoder back up with skip connections) that sees only the image and gives, at every pixel, N + 1 logits:
   the N semantic classes, and one more, "fake". D learns the label map of real images and calls every pixel
   of a generated one fake; G must make pixels that D reads as their class.
2. **Class balance.** Small classes would count for little in a per-pixel cross-entropy; each class is
   weighted by its inverse frequency in the batch (``class_balance_weights``, ``n_plus_one_loss``).
3. **LabelMix.** D also sees a mix of the real and the fake image, cut along class regions, and must give
   the same mix of its outputs (``label_mix_mask``, ``label_mix``, ``label_mix_consistency``): D has to look
   at the content of each region, not at the seams.
4. **3D noise.** ``OASISGenerator`` concatenates a noise map to the label map at every SPADE layer, so one label
   map gives many images without a style encoder, and noise changed in one region changes that region.

OASIS trains with these losses alone: no feature matching (D has no intermediate features to match) and, in our
setting, no perceptual loss (the paper's point is that none is needed). ``oasis_discriminator_terms`` and
``oasis_generator_terms`` give the terms of one training step.

Where we differ from the official code, and why: the "fake" channel is the last (index N, as the paper's
:math:`c = N + 1`), not the first; LabelMix draws real-or-fake per class *and image* (the official draw is per
class for the whole batch); D runs once on the concatenated batch (its layers have no batch statistics, so
this gives the same outputs as separate calls, with one spectral-norm power iteration instead of three); the
generator is our ``SPADEGenerator`` (seven blocks, SPADE's start grid) rather than OASIS's six-block variant;
widths scale with ``ndf`` (``ndf=64`` gives the official 128, 128, 256, 256, 512, 512).
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .generator import SPADEGenerator
from .labels import LabelMap, Segmap, check_segmap, dense_segmap
from .layers import add_spectral_norm, init_weights

LAMBDA_LABELMIX = 10.0  # weight of the LabelMix consistency loss (official config.py: --lambda_labelmix 10)
NOISE_DIM = 64  # channels of the 3D noise (official config.py: --z_dim 64)


# ----------------------------------------------------------------------------------------------------------------
# 1. The discriminator: a U-Net segmenter with N + 1 outputs


def maybe_spectral(conv: nn.Conv2d, spectral_norm: bool) -> nn.Conv2d:
    return add_spectral_norm(conv) if spectral_norm else conv


class OASISBlock(nn.Module):
    r"""A residual block of D that halves ("down") or doubles ("up") the size (official ``residual_block_D``).

    .. math:: \text{down}: \text{out} = \text{pool}(s(x)) + \text{pool}(\text{conv}_1(\text{lrelu}(
              \text{conv}_0(\text{lrelu}(x))))), \qquad
              \text{up}: \text{out} = s(\text{up}(x)) + \text{conv}_1(\text{lrelu}(\text{conv}_0(\text{up}(
              \text{lrelu}(x)))))

    with ``pool`` a 2x2 average, ``up`` nearest x2, :math:`s` a 1x1 convolution when the width changes. The
    first block of the encoder reads the image itself, without the leading lrelu."""

    def __init__(self, fin: int, fout: int, direction: str, first: bool = False, spectral_norm: bool = True):
        super().__init__()
        if direction not in ("down", "up"):
            raise ValueError(f"direction must be 'down' or 'up', got {direction!r}")
        self.direction, self.first = direction, first
        self.conv_0 = maybe_spectral(nn.Conv2d(fin, fout, 3, padding=1), spectral_norm)
        self.conv_1 = maybe_spectral(nn.Conv2d(fout, fout, 3, padding=1), spectral_norm)
        self.conv_s = maybe_spectral(nn.Conv2d(fin, fout, 1), spectral_norm) if fin != fout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.leaky_relu(x, 0.2)
        if self.direction == "up":
            x, h = F.interpolate(x, scale_factor=2.0), F.interpolate(h, scale_factor=2.0)  # (N, fin, 2h, 2w)
        dx = self.conv_1(F.leaky_relu(self.conv_0(h), 0.2))
        # a 1x1 convolution and a 2x2 average commute: pooling first is the same, on 4 times fewer pixels
        x_s = self.conv_s(F.avg_pool2d(x, 2) if self.direction == "down" else x)
        return x_s + (F.avg_pool2d(dx, 2) if self.direction == "down" else dx)  # (N, fout, h/2 or 2h, ...)


def oasis_num_blocks(size: int) -> int:
    """Encoder blocks that bring a ``size`` x ``size`` image to 4x4, as the official 6 blocks do at 256x256."""
    if size < 8 or size & (size - 1):
        raise ValueError(f"the OASIS discriminator needs a power-of-two image size of at least 8, got {size}")
    return int(math.log2(size)) - 2


def encoder_widths(ndf: int, num_blocks: int) -> list[int]:
    """2ndf, 2ndf, 4ndf, 4ndf, 8ndf, 8ndf, ... (official at ndf 64: 128, 128, 256, 256, 512, 512), at most 8ndf."""
    return [min(ndf * 2 ** (1 + i // 2), 8 * ndf) for i in range(num_blocks)]


class OASISDiscriminator(nn.Module):
    """The OASIS discriminator (paper Sec. 3, Fig. 2; official ``OASIS_Discriminator``): image -> per-pixel logits.

    Args:
        num_classes: N, the semantic classes (with the "don't care" class if the data has one); the output has
            N + 1 channels, the last one meaning "fake".
        ndf: base width (official 64).
        num_blocks: encoder blocks = decoder blocks; the input size must be a multiple of 2**num_blocks.
            Official: 6 at 256x256; ``oasis_num_blocks(size)`` gives the 4x4 bottleneck at any size.
        spectral_norm: on every convolution but the last (official: yes).
    """

    def __init__(self, num_classes: int, ndf: int = 64, num_blocks: int = 6, spectral_norm: bool = True):
        super().__init__()
        if num_blocks < 2:
            raise ValueError(f"num_blocks must be at least 2 (one down, one up with a skip), got {num_blocks}")
        self.num_classes, self.num_blocks = num_classes, num_blocks
        w = encoder_widths(ndf, num_blocks)
        sn = dict(spectral_norm=spectral_norm)
        self.down = nn.ModuleList([OASISBlock(3, w[0], "down", first=True, **sn)] +
                                  [OASISBlock(w[i - 1], w[i], "down", **sn) for i in range(1, num_blocks)])
        # decoder block i reads the previous block's output, concatenated (except the first) with the encoder's
        # output of the same size: widths mirror the encoder's, and the last block gives ndf channels
        up = [OASISBlock(w[-1], w[-2], "up", **sn)]
        up += [OASISBlock(2 * w[-1 - i], w[-2 - i], "up", **sn) for i in range(1, num_blocks - 1)]
        up += [OASISBlock(2 * w[0], ndf, "up", **sn)]
        self.up = nn.ModuleList(up)
        self.classifier = nn.Conv2d(ndf, num_classes + 1, 1)
        init_weights(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """image: (N, 3, H, W) in [-1, 1] -> (N, num_classes + 1, H, W) logits (last channel: fake).
        Shape comments: 256x256, 6 blocks, ndf 64."""
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"the OASIS discriminator reads (N, 3, H, W) images, got {tuple(image.shape)}")
        if image.shape[-1] % 2 ** self.num_blocks or image.shape[-2] % 2 ** self.num_blocks:
            raise ValueError(f"image size {tuple(image.shape[-2:])} must be a multiple of 2**num_blocks = "
                             f"{2 ** self.num_blocks}: build D with num_blocks=oasis_num_blocks(size)")
        skips, x = [], image
        for block in self.down:
            x = block(x)
            skips.append(x)  # (N, 128, 128, 128), (N, 128, 64, 64), ..., (N, 512, 4, 4)
        x = self.up[0](x)  # (N, 512, 8, 8)
        for block, skip in zip(self.up[1:], reversed(skips[:-1])):
            x = block(torch.cat([skip, x], 1))  # (N, 256, 16, 16), ..., (N, 64, 256, 256)
        return self.classifier(x)  # (N, num_classes + 1, 256, 256)


# ----------------------------------------------------------------------------------------------------------------
# 2. The class-balanced N + 1 loss


def class_balance_weights(labels: torch.Tensor, num_classes: int, ignore_index: Optional[int] = None):
    r"""The weight :math:`\alpha_c` of each class in the batch's label map, (num_classes,).

    The paper's weight is the inverse frequency of the class,
    :math:`\alpha_c = \frac{H \times W}{\sum_{i,j} E_t[\mathbb{1}[t_{i,j,c} = 1]]}`; like the official code
    (``get_class_balancing``) we count over the batch and divide by the number of classes present, so that the
    weights' mean over the pixels is 1 and the loss keeps the scale of a plain cross-entropy. Absent classes
    (and ``ignore_index``, a "don't care" class) weigh 0."""
    counts = torch.bincount(labels.flatten(), minlength=num_classes).to(torch.float32)  # (num_classes,)
    if ignore_index is not None:
        counts[ignore_index] = 0
    present = (counts > 0).sum()
    # alpha_c = (N H W) / (number of classes present * number of pixels of class c)
    alpha = labels.numel() / (present * counts)
    return torch.where(counts > 0, alpha, torch.zeros_like(alpha))


def n_plus_one_loss(logits: torch.Tensor, labels: torch.Tensor, real: bool,
                    class_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    r"""The (N + 1)-class cross-entropy of D's logits (N, N + 1, H, W), a mean over the pixels.

    ``real=True``: every pixel's target is its class in ``labels`` (N, H, W), weighted by ``class_weights``
    (default: ``class_balance_weights``), the first term of D's loss and, on generated images, G's loss;
    ``real=False``: every pixel's target is "fake" (channel N), unweighted, the second term of D's loss."""
    if logits.dim() != 4 or labels.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(f"logits must be (N, classes + 1, H, W) and labels (N, H, W) of the same N, H, W; got "
                         f"{tuple(logits.shape)} and {tuple(labels.shape)}")
    num_classes = logits.shape[1] - 1
    logits = logits.float()  # the softmax in float32 under mixed precision
    if not real:
        # -sum_{i,j} log D(x_fake)_{i,j,c=N+1}
        return F.cross_entropy(logits, torch.full_like(labels, num_classes))
    if class_weights is None:
        class_weights = class_balance_weights(labels, num_classes)
    # -sum_c alpha_c sum_{i,j} t_{i,j,c} log D(x)_{i,j,c}: the cross-entropy of each pixel times alpha of its class
    per_pixel = F.cross_entropy(logits, labels, reduction="none")  # (N, H, W)
    return (per_pixel * class_weights[labels]).mean()


def oasis_discriminator_loss(d_fake: torch.Tensor, d_real: torch.Tensor, labels: torch.Tensor,
                             ignore_index: Optional[int] = None) -> dict[str, torch.Tensor]:
    r"""D's loss terms "d_real" and "d_fake" (``d_fake`` from a detached fake image):

    .. math:: \mathcal{L}_D = -E_{(x,t)}\Big[\sum_{c=1}^{N} \alpha_c \sum_{i,j} t_{i,j,c} \log D(x)_{i,j,c}\Big]
              - E_{(z,t)}\Big[\sum_{i,j} \log D(G(z,t))_{i,j,c=N+1}\Big]"""
    weights = class_balance_weights(labels, d_real.shape[1] - 1, ignore_index)
    return {"d_fake": n_plus_one_loss(d_fake, labels, real=False),
            "d_real": n_plus_one_loss(d_real, labels, real=True, class_weights=weights)}


def oasis_generator_loss(d_fake: torch.Tensor, labels: torch.Tensor,
                         ignore_index: Optional[int] = None) -> torch.Tensor:
    r"""G's loss: D must read each generated pixel as its class (``d_fake`` not detached).

    .. math:: \mathcal{L}_G = -E_{(z,t)}\Big[\sum_{c=1}^{N} \alpha_c \sum_{i,j} t_{i,j,c}
              \log D(G(z,t))_{i,j,c}\Big]"""
    weights = class_balance_weights(labels, d_fake.shape[1] - 1, ignore_index)
    return n_plus_one_loss(d_fake, labels, real=True, class_weights=weights)


# ----------------------------------------------------------------------------------------------------------------
# 3. LabelMix


def label_mix_mask(labels: torch.Tensor, num_classes: int, generator: Optional[torch.Generator] = None):
    """A binary (N, 1, H, W) mask that is 1 on the classes drawn "real" and 0 on those drawn "fake": a fair coin
    per class and image, so each region of one class is all real or all fake."""
    n = labels.shape[0]
    coins = torch.randint(0, 2, (n, num_classes), generator=generator, device="cpu").to(labels.device)
    mask = coins.gather(1, labels.flatten(1))  # (N, H * W): the coin of each pixel's class
    return mask.view(n, 1, *labels.shape[1:]).float()


def label_mix(real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r""":math:`\text{LabelMix}(x, \hat x, M) = M \odot x + (1 - M) \odot \hat x`, for images or D's logits."""
    return mask * real + (1 - mask) * fake


def label_mix_consistency(d_mixed: torch.Tensor, d_real: torch.Tensor, d_fake: torch.Tensor,
                          mask: torch.Tensor) -> torch.Tensor:
    r"""LabelMix's consistency loss on D's logits, a mean over the values (official ``loss_labelmix``):

    .. math:: \mathcal{L}_{cons} = \big\| D_{logits}(\text{LabelMix}(x, \hat x, M))
              - \text{LabelMix}(D_{logits}(x), D_{logits}(\hat x), M) \big\|^2"""
    return F.mse_loss(d_mixed, label_mix(d_real, d_fake, mask))


# ----------------------------------------------------------------------------------------------------------------
# 4. The generator with 3D noise


class OASISGenerator(nn.Module):
    """The SPADE generator with 3D noise: every SPADE layer reads [label map; noise] (official
    ``OASIS_Generator``), so one label map gives many images without a style encoder.

    The noise is a (N, noise_dim, H, W) map. By default it is one N(0, I) vector per image, the same at every
    pixel (as the official code draws it); ``forward`` also takes a noise map that varies per pixel, e.g. to
    re-draw the noise of one region only. The noise joins the one-hot map, so the SPADE layers take their
    dense path. Args: ``label_channels`` and the rest as ``SPADEGenerator`` (no style encoder), plus
    ``noise_dim`` (official 64).
    """

    use_vae, z_dim = False, 0

    def __init__(self, label_channels: int, width: int = 256, aspect_ratio: float = 1.0, upsampling: str = "normal",
                 ngf: int = 64, noise_dim: int = NOISE_DIM, spade_hidden: int = 128, spade_kernel_size: int = 3,
                 norm: str = "batch", spectral_norm: bool = True):
        super().__init__()
        if noise_dim < 1:
            raise ValueError(f"noise_dim must be at least 1, got {noise_dim}")
        self.label_channels, self.noise_dim = label_channels, noise_dim
        self.body = SPADEGenerator(label_channels + noise_dim, width, aspect_ratio, upsampling, ngf,
                                   spade_hidden=spade_hidden, spade_kernel_size=spade_kernel_size, norm=norm,
                                   spectral_norm=spectral_norm)
        self.width, self.height = self.body.width, self.body.height

    def noise_map(self, n: int, noise: Optional[torch.Tensor], device, dtype) -> torch.Tensor:
        """The (N, noise_dim, H, W) noise: drawn, or from a (N, noise_dim) vector, or given per pixel."""
        size = (self.height, self.width)
        if noise is None:
            noise = torch.randn(n, self.noise_dim, device=device, dtype=dtype)
        if noise.dim() == 2 and noise.shape == (n, self.noise_dim):
            return noise[:, :, None, None].expand(n, self.noise_dim, *size)
        if noise.shape != (n, self.noise_dim, *size):
            raise ValueError(f"noise must be ({n}, {self.noise_dim}) or ({n}, {self.noise_dim}, {size[0]}, "
                             f"{size[1]}), got {tuple(noise.shape)}")
        return noise

    def forward(self, segmap: Segmap, noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """segmap as for ``SPADEGenerator``; noise: None (drawn), (N, noise_dim) or (N, noise_dim, H, W).
        Returns (N, 3, H, W) in [-1, 1]."""
        device, dtype = self.body.conv_img.weight.device, self.body.conv_img.weight.dtype
        n, h, w = check_segmap(segmap, self.label_channels, device, size=(self.height, self.width))
        m = dense_segmap(segmap, self.label_channels, (h, w)).to(dtype)  # (N, label_channels, H, W)
        noise = self.noise_map(n, noise, device, dtype).to(device, dtype)  # (N, noise_dim, H, W)
        return self.body(torch.cat([m, noise], 1))


# ----------------------------------------------------------------------------------------------------------------
# One training step's terms, for the trainer


def class_ids(labels) -> torch.Tensor:
    """The (N, H, W) class ids D must predict: of a LabelMap (its edges are not a class), or ids as given."""
    ids = labels.labels if isinstance(labels, LabelMap) else labels
    if not isinstance(ids, torch.Tensor) or ids.is_floating_point() or ids.dim() != 3:
        raise ValueError("OASIS's losses need the class ids: a LabelMap or a long (N, H, W) tensor, not "
                         f"{type(labels).__name__} {tuple(getattr(labels, 'shape', ()))}; for a one-hot map "
                         f"pass onehot[:, :num_classes].argmax(1)")
    return ids


def oasis_discriminator_terms(discriminator: OASISDiscriminator, fake: torch.Tensor, real: torch.Tensor,
                              labels, label_mixing: bool = True,
                              lambda_labelmix: float = LAMBDA_LABELMIX, ignore_index: Optional[int] = None,
                              generator: Optional[torch.Generator] = None) -> dict[str, torch.Tensor]:
    r"""D's loss terms of one step: "d_fake", "d_real" and, with LabelMix, "d_labelmix"
    (:math:`\lambda_{LM} \mathcal{L}_{cons}`); their sum is the loss to minimise.

    fake: G's images (detached here), real: the batch's images, labels: (N, H, W) class ids or the batch's
    LabelMap; ignore_index: a "don't care" class id. D runs once on [fake; real; mixed]; ``generator`` draws
    LabelMix's coins (default: torch's global generator, which checkpoints save)."""
    fake, n, labels = fake.detach(), real.shape[0], class_ids(labels)
    if not label_mixing:
        d_fake, d_real = discriminator(torch.cat([fake, real])).split(n)
        return oasis_discriminator_loss(d_fake, d_real, labels, ignore_index)
    num_classes = getattr(discriminator, "module", discriminator).num_classes  # also under DDP
    mask = label_mix_mask(labels, num_classes, generator).to(real.dtype)  # (N, 1, H, W)
    d_fake, d_real, d_mixed = discriminator(torch.cat([fake, real, label_mix(real, fake, mask)])).split(n)
    terms = oasis_discriminator_loss(d_fake, d_real, labels, ignore_index)
    # L_D <- L_D + lambda_LM * L_cons
    terms["d_labelmix"] = lambda_labelmix * label_mix_consistency(d_mixed.float(), d_real.float(), d_fake.float(),
                                                                  mask)
    return terms


def oasis_generator_terms(discriminator: OASISDiscriminator, fake: torch.Tensor, labels,
                          ignore_index: Optional[int] = None) -> dict[str, torch.Tensor]:
    """G's loss terms of one step: {"gan": the class-balanced loss of D on the (not detached) fake}; labels as
    for ``oasis_discriminator_terms``. Run D frozen (no gradients for its weights), as the trainer does."""
    return {"gan": oasis_generator_loss(discriminator(fake), class_ids(labels), ignore_index)}
