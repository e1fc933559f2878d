r"""SPADE, spatially-adaptive normalization (Park et al. 2019), and its cheap cousin CLADE (lesson 03).

Conditional batch norm (lesson 02) gives each *image* a :math:`\gamma` and :math:`\beta`. SPADE gives each
*pixel* its own, computed from the label map by a small convolutional network, so that the label map steers
the features region by region. CLADE (Tan et al. 2021) keeps one :math:`\gamma, \beta` per *class*: a lookup
instead of two convolutions. ``spade_fast`` shows that inside large regions SPADE *is* CLADE, and uses that to
compute SPADE exactly but several times faster.

Papers: Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019
(https://arxiv.org/abs/1903.07291, official code https://github.com/NVlabs/SPADE, ``models/networks/normalization.py``);
Tan et al., "Efficient Semantic Image Synthesis via Class-Adaptive Normalization", TPAMI 2021.

Both layers accept the label map in three forms: a float one-hot map (N, label_channels, H, W) (plus extra
channels, as the official code builds it), a long (N, H, W) map of class ids, or a ``LabelMap`` (ids plus
instance edges, the edges being the last channel). The map is resized (nearest) to x's size.
"""
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..labels import LabelMap, Segmap, is_one_hot, resized_label_map, resized_one_hot
from .spade_fast import class_gamma_beta, class_hidden, find_regions, lookup, lookup_modulation

PATHS = ("auto", "fast", "dense")


def param_free_norm(norm: str, channels: int) -> nn.Module:
    """The normalization without affine parameters that SPADE and CLADE start with: "batch" or "instance"."""
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=False)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    raise ValueError(f"norm must be 'batch' or 'instance', got {norm!r}")


def check_path(path: str) -> str:
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    return path


def check_inputs(layer: str, x: torch.Tensor, channels: int, segmap: Segmap) -> None:
    """Explain, with a ValueError, every way x and segmap can fail to fit a SPADE or CLADE layer."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != channels:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{layer} expects x of shape (N, {channels}, H, W), got {shape}")
    if not isinstance(segmap, (torch.Tensor, LabelMap)):
        raise ValueError(f"segmap must be a tensor (one-hot map or class ids) or a LabelMap, "
                         f"got {type(segmap).__name__}")
    batch = (segmap.labels if isinstance(segmap, LabelMap) else segmap).shape[0]
    if batch != x.shape[0]:
        raise ValueError(f"x has batch size {x.shape[0]} but segmap has batch size {batch}: give one label map "
                         f"per image")


def memory_format_of(x: torch.Tensor):
    """channels_last if x is stored pixel by pixel (and not also channel by channel), else contiguous_format."""
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def convolutions_are_faster(device: torch.device) -> bool:
    """Whether path "auto" takes the dense path whatever the label map: on a GPU, where cuDNN's convolutions beat
    the lookups' many small kernels (benchmarks/results/spade.md), and on a CPU under autocast (bfloat16 mixed
    precision), where oneDNN's convolutions run twice as fast as in float32 but the lookups do not (a classroom
    training step 1.08x faster than with the lookups, benchmarks/results/train_step.md)."""
    return device.type != "cpu" or torch.is_autocast_enabled("cpu")


class Modulate(torch.autograd.Function):
    r"""Eq. 1 of the SPADE paper, with scale = :math:`1 + \gamma` and shift = :math:`\beta`:

    .. math:: \text{out} = \text{norm}(x) \cdot (1 + \gamma) + \beta

    Forward in one pass (``addcmul``); backward by its three derivatives,
    :math:`\partial\text{out}/\partial\,\text{norm}(x) = 1 + \gamma`,
    :math:`\partial\text{out}/\partial(1 + \gamma) = \text{norm}(x)`, :math:`\partial\text{out}/\partial\beta = 1`:
    two multiplications, where autograd's rule for ``addcmul`` makes four (it also multiplies by addcmul's
    ``value``, here 1). Over a (1, 128, 256, 256) map each pass is 32 MB."""

    @staticmethod
    def forward(ctx, normalized: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(normalized, scale)
        # out = norm(x) * (1 + gamma) + beta, with scale = 1 + gamma and shift = beta
        return torch.addcmul(shift, normalized, scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        normalized, scale = ctx.saved_tensors
        return grad * scale, grad * normalized, grad


def modulate(normalized: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """out = normalized * scale + shift, each (N, C, H, W) (see ``Modulate``)."""
    return Modulate.apply(normalized, scale, shift)


class SPADE(nn.Module):
    r"""Spatially-adaptive normalization (Park et al. 2019, Eq. 1). Lesson 03 builds it.

    .. math:: \text{out} = \text{norm}(x) \cdot (1 + \gamma(m)) + \beta(m), \qquad
              h = \text{ReLU}(W_s * m + b_s), \quad \gamma = W_\gamma * h + b_\gamma, \quad
              \beta = W_\beta * h + b_\beta

    ``norm`` is batch or instance norm without parameters; the three convolutions are k x k with padding k//2;
    m is the label map at x's size (nearest resize of the full-resolution map). Submodule names are the
    official ones (``param_free_norm``, ``mlp_shared.0``, ``mlp_gamma``, ``mlp_beta``).

    For class ids (a long tensor or a ``LabelMap``) on the CPU, ``path="auto"`` computes the same result with the
    lookup path of ``spade_fast`` (several times faster) unless the label map is so fragmented that the band of
    boundary pixels exceeds ``max_band_fraction``; float one-hot maps, GPUs and CPU autocast (bfloat16) take the
    dense path (``convolutions_are_faster``).
    ``last_path`` and ``last_band_fraction`` tell what the last call did. Gamma and beta are made in x's memory
    format (channels_last or not), so that the modulation reads all three in the same order.
    """

    max_band_fraction = 0.5  # above it the dense path is faster: measured in benchmarks/results/spade.md

    def __init__(self, channels: int, label_channels: int, hidden: int = 128, kernel_size: int = 3,
                 norm: str = "batch", path: str = "auto"):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (padding k // 2 keeps the size), got {kernel_size}")
        self.channels, self.label_channels = channels, label_channels
        self.hidden, self.kernel_size = hidden, kernel_size
        self.path = check_path(path)
        self.param_free_norm = param_free_norm(norm, channels)
        pad = kernel_size // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_channels, hidden, kernel_size, padding=pad), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, kernel_size, padding=pad)
        self.mlp_beta = nn.Conv2d(hidden, channels, kernel_size, padding=pad)
        self.last_path: Optional[str] = None
        self.last_band_fraction: Optional[float] = None

    def forward(self, x: torch.Tensor, segmap: Segmap) -> torch.Tensor:
        check_inputs("SPADE", x, self.channels, segmap)
        normalized = self.param_free_norm(x)  # (N, C, H, W)
        scale, shift = self.modulation(segmap, x.shape[-2:], memory_format=memory_format_of(x))
        return modulate(normalized, scale, shift)  # (N, C, H, W)

    def modulation(self, segmap: Segmap, size, path: Optional[str] = None, memory_format=torch.contiguous_format):
        r"""Scale :math:`1 + \gamma` and shift :math:`\beta` at ``size`` = (H, W), each (N, C, H, W).

        path: "dense" (the convolutions), "fast" (the lookups; class ids only), "auto" (fast unless the band
        is too large); default ``self.path``. memory_format: how to store them (torch.channels_last or not)."""
        path = self.path if path is None else check_path(path)
        self.last_band_fraction = None
        if is_one_hot(segmap):
            if path == "fast":
                raise ValueError("the fast path needs class ids (a long (N, H, W) tensor or a LabelMap), not a "
                                 "float one-hot map; pass segmap.argmax(1) or use path='dense'")
            return self.dense_modulation(resized_one_hot(segmap, self.label_channels, size), memory_format)
        labels = resized_label_map(segmap, self.label_channels, size)
        if path == "dense" or (path == "auto" and convolutions_are_faster(labels.labels.device)):
            return self.dense_modulation(labels.one_hot(), memory_format)
        regions = find_regions(labels.labels, labels.edges, self.kernel_size)
        self.last_band_fraction = regions.band_fraction
        if path == "auto" and self.last_band_fraction > self.max_band_fraction:
            return self.dense_modulation(labels.one_hot(), memory_format)
        self.last_path = "fast"
        return lookup_modulation(self.mlp_shared[0], self.mlp_gamma, self.mlp_beta, labels.labels, labels.edges,
                                 regions, memory_format)

    def dense_modulation(self, m: torch.Tensor, memory_format=torch.contiguous_format):
        """The official computation: convolutions over the (N, label_channels, H, W) map m."""
        self.last_path = "dense"
        m = m.to(self.mlp_gamma.weight.dtype).contiguous(memory_format=memory_format)
        # h = ReLU(W_s * m + b_s)
        hidden = self.mlp_shared(m)  # (N, hidden, H, W)
        # gamma = W_gamma * h + b_gamma, beta = W_beta * h + b_beta
        return 1 + self.mlp_gamma(hidden), self.mlp_beta(hidden)  # (N, C, H, W) each

    def cost(self, size=(256, 256)) -> "Cost":
        """Parameters and multiply-accumulates of this layer at x's ``size``; see ``spade_cost``."""
        return spade_cost(self.channels, self.label_channels, self.hidden, self.kernel_size, size)


class CLADE(nn.Module):
    r"""Class-adaptive normalization (Tan et al. 2021): one :math:`\gamma, \beta` per class. Lesson 03 builds it.

    .. math:: \text{out} = \text{norm}(x) \cdot (1 + \gamma_{c(p)}) + \beta_{c(p)}

    with :math:`c(p)` the class at pixel p and :math:`\gamma, \beta` two (num_classes, C) tables (embeddings,
    starting at zero: the layer starts as a plain normalization). We keep SPADE's :math:`1 + \gamma` form so
    that a SPADE layer's per-class constants are a CLADE layer's tables (``CLADE.from_spade``); the CLADE
    paper writes :math:`\gamma_c` for our :math:`1 + \gamma_c`. Same label-map forms as ``SPADE`` without
    edge channels; a one-hot (or soft) map mixes the rows by its weights, a 1 x 1 convolution.
    """

    def __init__(self, channels: int, num_classes: int, norm: str = "batch"):
        super().__init__()
        self.channels, self.num_classes = channels, num_classes
        self.param_free_norm = param_free_norm(norm, channels)
        self.gamma = nn.Embedding(num_classes, channels)
        self.beta = nn.Embedding(num_classes, channels)
        nn.init.zeros_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, segmap: Segmap) -> torch.Tensor:
        check_inputs("CLADE", x, self.channels, segmap)
        normalized = self.param_free_norm(x)  # (N, C, H, W)
        scale, shift = self.modulation(segmap, x.shape[-2:], memory_format=memory_format_of(x))
        # out = norm(x) * (1 + gamma[c(p)]) + beta[c(p)], c(p) the class at pixel p
        return modulate(normalized, scale, shift)  # (N, C, H, W)

    def modulation(self, segmap: Segmap, size, memory_format=torch.contiguous_format):
        r"""Scale :math:`1 + \gamma_{c(p)}` and shift :math:`\beta_{c(p)}` at ``size``, each (N, C, H, W)."""
        if is_one_hot(segmap):
            m = resized_one_hot(segmap, self.num_classes, size).to(self.gamma.weight.dtype)
            m = m.contiguous(memory_format=memory_format)  # (N, num_classes, H, W)
            gamma = F.conv2d(m, self.gamma.weight.t()[:, :, None, None])  # a 1 x 1 convolution mixes the rows
            return 1 + gamma, F.conv2d(m, self.beta.weight.t()[:, :, None, None])
        if isinstance(segmap, LabelMap) and segmap.edges is not None:
            raise ValueError("CLADE looks up one row per class and has no instance-edge channel; pass "
                             "LabelMap(labels, num_classes) without edges")
        labels = resized_label_map(segmap, self.num_classes, size).labels  # (N, H, W)
        return lookup(1 + self.gamma.weight, labels, memory_format), lookup(self.beta.weight, labels, memory_format)

    @classmethod
    def from_spade(cls, spade: SPADE, num_classes: Optional[int] = None) -> "CLADE":
        r"""The CLADE layer that equals ``spade`` wherever the (2k-1) x (2k-1) window holds one class (fact 2 of
        ``spade_fast``): :math:`[\gamma_c; \beta_c] = b + \sum_t W_{\gamma\beta}[:, :, t]\, h_c`. Same
        normalization and running statistics. num_classes: default ``spade.label_channels`` (give fewer when
        the last channels are not classes, e.g. instance edges)."""
        num_classes = spade.label_channels if num_classes is None else num_classes
        norm = "instance" if isinstance(spade.param_free_norm, nn.InstanceNorm2d) else "batch"
        clade = cls(spade.channels, num_classes, norm).to(spade.mlp_gamma.weight)
        clade.param_free_norm.load_state_dict(spade.param_free_norm.state_dict())
        shared = spade.mlp_shared[0]
        weight = torch.cat([spade.mlp_gamma.weight, spade.mlp_beta.weight])  # (2C, hidden, k, k)
        bias = torch.cat([spade.mlp_gamma.bias, spade.mlp_beta.bias])
        with torch.no_grad():
            rows = class_gamma_beta(weight, bias, class_hidden(shared.weight, shared.bias, num_classes))
            clade.gamma.weight.copy_(rows[:, :spade.channels])
            clade.beta.weight.copy_(rows[:, spade.channels:])
        return clade

    def cost(self, size=(256, 256)) -> "Cost":
        """Parameters and multiply-accumulates of this layer at x's ``size``; see ``clade_cost``."""
        return clade_cost(self.channels, self.num_classes, size)


@dataclass(frozen=True)
class Cost:
    """Size and work of a normalization layer: learned parameters, multiply-accumulates (MACs) per pixel of x,
    and MACs per image at the given size."""

    params: int
    macs_per_pixel: int
    macs: int


def pixels(size) -> int:
    height, width = (size, size) if isinstance(size, int) else size
    return height * width


def spade_cost(channels: int, label_channels: int, hidden: int = 128, kernel_size: int = 3,
               size=(256, 256)) -> Cost:
    r"""Parameters and MACs of a dense SPADE layer (lesson 03), for x of ``size`` (an int or (H, W)).

    Per pixel: the shared convolution :math:`k^2 L h`, the gamma and beta convolutions :math:`2 k^2 h C`, and
    the modulation :math:`\hat x (1 + \gamma) + \beta`, one multiply-add per channel (C). Parameters: the three
    convolutions' weights and biases. The normalization's statistics are left out (a few operations per value,
    the same for every layer here)."""
    k2 = kernel_size * kernel_size
    shared, gamma_beta = k2 * label_channels * hidden, 2 * k2 * hidden * channels
    per_pixel = shared + gamma_beta + channels
    return Cost(params=shared + hidden + gamma_beta + 2 * channels, macs_per_pixel=per_pixel,
                macs=per_pixel * pixels(size))


def clade_cost(channels: int, num_classes: int, size=(256, 256)) -> Cost:
    r"""Parameters and MACs of a CLADE layer (lesson 03), counted as in ``spade_cost``: two (num_classes, C)
    tables; per pixel only the modulation (C multiply-adds), the lookups cost no arithmetic."""
    return Cost(params=2 * num_classes * channels, macs_per_pixel=channels, macs=channels * pixels(size))
