"""The multi-scale PatchGAN discriminator (lesson 05), as in pix2pixHD and SPADE.

Park et al. 2019, Appendix A (Fig. 13); Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation
with Conditional GANs" (pix2pixHD), CVPR 2018; official code: NVlabs/SPADE, ``models/networks/discriminator.py``.
Each scale returns every block's output: the last is the real/fake prediction per patch, the others are the
features that the feature-matching loss compares.
"""
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .labels import LabelMap, Segmap, check_segmap, is_one_hot
from .layers import add_spectral_norm, init_weights


def kernel_taps(labels: torch.Tensor, kernel_size: Tuple[int, int], stride: Tuple[int, int],
                padding: Tuple[int, int], fill: int) -> List[torch.Tensor]:
    """The ids under each tap of a sliding kernel: kh*kw maps of shape (N, Ho, Wo), one per tap (i, j).

    Tap (i, j) of output pixel (y, x) reads input pixel (sy*y + i - py, sx*x + j - px); outside the image it
    reads ``fill``."""
    (kh, kw), (sy, sx), (py, px) = kernel_size, stride, padding
    n, h, w = labels.shape
    ho, wo = (h + 2 * py - kh) // sy + 1, (w + 2 * px - kw) // sx + 1
    padded = F.pad(labels, (px, px, py, py), value=fill)  # (N, H + 2py, W + 2px)
    return [padded[:, i:i + sy * (ho - 1) + 1:sy, j:j + sx * (wo - 1) + 1:sx] for i in range(kh) for j in range(kw)]


def one_hot_conv2d(labels: torch.Tensor, weight: torch.Tensor, stride: Tuple[int, int],
                   padding: Tuple[int, int]) -> torch.Tensor:
    r"""``conv2d(one_hot(labels), weight)`` without building the one-hot map: (N, H, W) ids -> (N, O, Ho, Wo).

    Under every tap (i, j) of the kernel a one-hot map holds a single 1, in the channel of the class there, so
    the convolution picks one weight column per tap and adds them up:

    .. math:: \text{out}[:, y, x] = \sum_{i, j} W[:, \ell(s y + i - p,\ s x + j - p), i, j]

    Taps in the zero padding add nothing: they look up an extra all-zero class C. ``F.embedding_bag(mode="sum")``
    does the look-up-and-sum in one call, with gradients for ``weight``."""
    out_channels, num_classes, kh, kw = weight.shape
    taps = kernel_taps(labels, (kh, kw), stride, padding, fill=num_classes)  # kh*kw x (N, Ho, Wo)
    n, ho, wo = taps[0].shape
    # row of the look-up table for (tap t, class c): t * (C + 1) + c
    offsets = (num_classes + 1) * torch.arange(kh * kw, device=labels.device)
    rows = torch.stack(taps, -1) + offsets  # (N, Ho, Wo, kh*kw)
    table = F.pad(weight, (0, 0, 0, 0, 0, 1))  # (O, C + 1, kh, kw), class C all zero
    table = table.permute(2, 3, 1, 0).reshape(kh * kw * (num_classes + 1), out_channels)  # (kh*kw*(C+1), O)
    # out[:, y, x] = sum over taps (i, j) of W[:, label(s y + i - p, s x + j - p), i, j]
    out = F.embedding_bag(rows.reshape(-1, kh * kw), table, mode="sum")  # (N*Ho*Wo, O)
    return out.view(n, ho, wo, out_channels).permute(0, 3, 1, 2)  # (N, O, Ho, Wo), channels-last in memory


def pooled_one_hot(labels: torch.Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``MultiscaleDiscriminator.downsample(one_hot(labels))`` without the one-hot map: (N, H, W) -> (N, C, Ho, Wo).

    Average-pooling a one-hot map gives, per output pixel, the fraction of each class among the (up to 9) input
    pixels of its 3x3 window: count them, then divide by the window's pixels inside the image."""
    taps = kernel_taps(labels, (3, 3), (2, 2), (1, 1), fill=num_classes)  # 9 x (N, Ho, Wo), padding = class C
    n, ho, wo = taps[0].shape
    counts = torch.zeros(n, num_classes + 1, ho, wo, dtype=dtype, device=labels.device)  # (N, C + 1, Ho, Wo)
    for tap in taps:
        counts.scatter_add_(1, tap[:, None], torch.ones(n, 1, ho, wo, dtype=dtype, device=labels.device))
    return counts[:, :num_classes] / (9 - counts[:, num_classes:])  # count_include_pad=False


class PatchDiscriminator(nn.Module):
    """A PatchGAN (Isola et al. 2017; official ``NLayerDiscriminator``): every output pixel judges one patch.

    Kernel 4, padding 2. ``conv_in`` (stride 2) + LReLU; ``n_layers - 1`` blocks of spectral-normed conv (no bias)
    + InstanceNorm + LReLU with widths min(ndf * 2**k, 512) and strides 2, ..., 2, 1; ``conv_out`` to 1 channel."""

    def __init__(self, input_channels: int, n_layers: int = 4, ndf: int = 64):
        super().__init__()
        widths = [min(ndf * 2 ** k, 512) for k in range(n_layers)]  # 64, 128, 256, 512
        self.conv_in = nn.Conv2d(input_channels, widths[0], 4, stride=2, padding=2)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                add_spectral_norm(nn.Conv2d(fin, fout, 4, stride=1 if k == n_layers - 1 else 2, padding=2,
                                            bias=False)),
                nn.InstanceNorm2d(fout, affine=False),
                nn.LeakyReLU(0.2),
            )
            for k, (fin, fout) in enumerate(zip(widths[:-1], widths[1:]), start=1))
        self.conv_out = nn.Conv2d(widths[-1], 1, 4, stride=1, padding=2)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        # x: (N, C, 256, 256) -> features of 129, 65, 33, 34, 35 pixels per side (n_layers = 4)
        return self.features_from_first_conv(self.conv_in(x))

    def features_from_first_conv(self, h: torch.Tensor) -> List[torch.Tensor]:
        """The rest of ``forward``, from ``conv_in``'s output h (N, ndf, 129, 129)."""
        features = [F.leaky_relu(h, 0.2)]  # (N, 64, 129, 129)
        for block in self.blocks:
            features.append(block(features[-1]))  # (N, 128, 65, 65), (N, 256, 33, 33), (N, 512, 34, 34)
        features.append(self.conv_out(features[-1]))  # (N, 1, 35, 35): real/fake logit per patch
        return features


class MultiscaleDiscriminator(nn.Module):
    """``num_d`` PatchGANs; discriminator k sees the input downsampled k times (official
    ``MultiscaleDiscriminator``), so the coarse one judges global layout and the fine one details. Lesson 05.

    The input is concat(segmap channels, image): ``input_channels`` = label channels + 3."""

    def __init__(self, input_channels: int, num_d: int = 2, n_layers: int = 4, ndf: int = 64):
        super().__init__()
        self.input_channels = input_channels
        self.discriminators = nn.ModuleList(PatchDiscriminator(input_channels, n_layers, ndf) for _ in range(num_d))
        init_weights(self)

    @staticmethod
    def downsample(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)  # (N, C, H/2, W/2)

    def forward(self, segmap: Segmap, image: torch.Tensor) -> List[List[torch.Tensor]]:
        """segmap: (N, C, H, W) one-hot, (N, H, W) ids or a LabelMap; image: (N, 3, H, W).

        Returns, per scale, the list of every block's output (the last is the prediction). With ids or a
        LabelMap, no one-hot map is built (``one_hot_conv2d``, ``pooled_one_hot``); the result is the same."""
        device = self.discriminators[0].conv_in.weight.device
        if not isinstance(image, torch.Tensor) or image.dim() != 4:
            raise ValueError(f"image must be an (N, 3, H, W) tensor, got "
                             f"{tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__}")
        if image.device != device:
            raise ValueError(f"the image is on {image.device} but the discriminator is on {device}: "
                             f"move the batch with .to({str(device)!r})")
        label_channels = self.input_channels - image.shape[1]  # so that concat(segmap, image) fits conv_in
        n, _, _ = check_segmap(segmap, label_channels, device, size=tuple(image.shape[-2:]))
        if n != image.shape[0]:
            raise ValueError(f"the label map holds {n} maps but the image batch {image.shape[0]} images")

        if is_one_hot(segmap):  # the official, dense path
            x = torch.cat([segmap.to(image.dtype), image], 1)  # (N, label_channels + 3, H, W)
            outputs = [self.discriminators[0](x)]
            x = self.downsample(x)  # (N, label_channels + 3, H/2, W/2)
        else:  # the same without the one-hot map
            ids, num_classes, rest = self.split_input(segmap, image)
            conv = self.discriminators[0].conv_in
            # a convolution sums over input channels: conv(concat(one-hot, rest)) = conv(one-hot) + conv(rest)
            first = (one_hot_conv2d(ids, conv.weight[:, :num_classes], conv.stride, conv.padding)
                     + F.conv2d(rest, conv.weight[:, num_classes:], conv.bias, conv.stride, conv.padding))
            outputs = [self.discriminators[0].features_from_first_conv(first)]  # first: (N, ndf, H/2 + 1, W/2 + 1)
            x = torch.cat([pooled_one_hot(ids, num_classes, image.dtype), self.downsample(rest)], 1)
        for discriminator in self.discriminators[1:]:
            outputs.append(discriminator(x))
            x = self.downsample(x)  # the input of the next, coarser scale
        return outputs

    def split_input(self, segmap: Segmap, image: torch.Tensor) -> Tuple[torch.Tensor, int, torch.Tensor]:
        """ids (N, H, W), their class count, and the input's other channels: concat(edges, image) (N, 3 or 4, H, W)."""
        if isinstance(segmap, LabelMap):
            ids, num_classes, edges = segmap.labels, segmap.num_classes, segmap.edges
        else:
            ids, num_classes, edges = segmap, self.input_channels - image.shape[1], None
        rest = image if edges is None else torch.cat([edges[:, None].to(image.dtype), image], 1)
        return ids, num_classes, rest
