r"""SPADE's fast path for label maps of class ids: the bridge between SPADE and CLADE (lesson 03).

SPADE computes its scale and shift with two convolutions, the first over a one-hot map ``m`` that has one
channel per class (151 for ADE20K):

.. math:: h = \text{ReLU}(W_s * m + b_s), \qquad [\gamma; \beta] = W_{\gamma\beta} * h + b_{\gamma\beta}

When the label map comes as class ids, two facts make most of this work unnecessary.

**Fact 1: a convolution over a one-hot map is a sum of looked-up weight columns.** At each pixel only the
channel of its class c is 1, so for the k x k taps t of the kernel

.. math:: (W_s * m)(p) = \sum_t W_s[:, c(p + t), t]

k*k lookups instead of k*k*151 multiply-adds per hidden value. The zero padding outside the image is one more
"class" whose column is zero. An instance-edge channel holds real numbers, so it stays a (small) product:
:math:`\sum_t W_s[:, \text{edge}, t]\, e(p + t)`.

**Fact 2: inside a region, SPADE is CLADE.** If the k x k window around p lies inside the image and holds one
class c and no edge, the hidden vector is the same for every such pixel:

.. math:: h_c = \text{ReLU}\Big(b_s + \sum_t W_s[:, c, t]\Big)

If the whole (2k-1) x (2k-1) window is like that, every hidden vector that gamma and beta see is :math:`h_c`,
and they are one row per class, a CLADE table (``CLADE.from_spade`` builds that layer):

.. math:: [\gamma_c; \beta_c] = b_{\gamma\beta} + \sum_t W_{\gamma\beta}[:, :, t]\, h_c

So only the *band* of pixels near class boundaries, instance edges and the image border needs the gamma/beta
convolution: 5 to 30% of the pixels of a real 256 x 256 label map. The path builds three tables:

1. ``find_regions``: the *mixed* pixels, whose k x k window is not one class, and the *band*, whose
   (2k-1) x (2k-1) window is not (the mixed pixels grown by a k x k window).
2. ``hidden_table``: the rows of the hidden map: a zero row (the padding of the gamma/beta convolution), one
   row :math:`h_c` per class (fact 2), and one row per *distinct* k x k window of the mixed pixels (fact 1;
   along a straight boundary the same window repeats, so it is computed once); plus each pixel's row.
3. ``gamma_beta_table``: one row per class (fact 2), and one per band pixel: the gamma/beta convolution there
   is :math:`b + \sum_t W[:, :, t]\, h(p + t)` where each :math:`h(p + t)` is a row of the hidden table, so
   one matmul gives every row times every tap's weight, and each band pixel sums k*k of those products.

``lookup`` then reads each pixel's row into (N, C, H, W) maps. Every step is a differentiable torch op
(sum, matmul, ``embedding_bag``, ``gather``), so autograd gives gradients to x and to all of SPADE's weights;
``tests/test_spade_fast.py`` checks outputs and gradients against the dense path.
"""
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Regions:
    """Which pixels need which part of SPADE (see the module docstring)."""

    mixed: torch.Tensor  # (N, H, W) bool: the k x k window leaves the image or holds 2+ classes or an edge
    band: torch.Tensor  # (N, H, W) bool: the (2k-1) x (2k-1) window does: gamma, beta need the convolution

    @property
    def band_fraction(self) -> float:
        """The share of pixels in the band: near 0 for large regions, 1 for noise."""
        return self.band.float().mean().item()


def window_max(values: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """(N, H, W) -> (N, H, W): the largest value in each pixel's k x k window (inside the image)."""
    return F.max_pool2d(values[:, None], kernel_size, stride=1, padding=kernel_size // 2)[:, 0]


def find_regions(labels: torch.Tensor, edges: Optional[torch.Tensor], kernel_size: int) -> Regions:
    """Mixed pixels and band of an (N, H, W) label map (with optional (N, H, W) edges) for a k x k SPADE."""
    k, r = kernel_size, kernel_size // 2
    ids = labels.float()  # (N, H, W); exact for ids below 2**24
    mixed = window_max(ids, k) != -window_max(-ids, k)  # largest id != smallest id: two or more classes
    if edges is not None:
        mixed |= window_max(edges.abs(), k) > 0
    height, width = labels.shape[-2:]
    leaves_image = torch.ones(height, width, dtype=torch.bool, device=labels.device)
    leaves_image[r:height - r, r:width - r] = False  # the k x k windows of the outer r rows and columns
    mixed |= leaves_image
    band = window_max(mixed.float(), k) > 0  # (N, H, W)
    return Regions(mixed, band)


def window_index(pixels, shape, kernel_size: int) -> torch.Tensor:
    """For pixels = (image, y, x) (as ``mask.nonzero(as_tuple=True)`` gives them) of an (N, H, W) map, the flat
    indices of their k x k windows in the map padded by k // 2 on each side: (P, k*k), tap t = row * k + col."""
    k = kernel_size
    image, y, x = pixels
    padded_height, padded_width = shape[-2] + k - 1, shape[-1] + k - 1
    corner = (image * padded_height + y) * padded_width + x  # (P,) top-left pixel of the window
    dy, dx = torch.meshgrid(torch.arange(k, device=x.device), torch.arange(k, device=x.device), indexing="ij")
    return corner[:, None] + (dy * padded_width + dx).flatten()  # (P, k*k)


def padded_windows(values: torch.Tensor, windows: torch.Tensor, kernel_size: int, fill) -> torch.Tensor:
    """(N, H, W) values -> (P, k*k): the values in the windows of ``window_index``, ``fill`` outside the image."""
    r = kernel_size // 2
    return F.pad(values, (r, r, r, r), value=fill).flatten()[windows]


def class_hidden(weight: torch.Tensor, bias: torch.Tensor, num_classes: int) -> torch.Tensor:
    r"""Fact 2 for the shared layer, for every class c: :math:`h_c = \text{ReLU}(b_s + \sum_t W_s[:, c, t])`.

    weight: (hidden, label_channels, k, k); returns (num_classes, hidden)."""
    return F.relu(bias + weight[:, :num_classes].sum((2, 3)).t())


def class_gamma_beta(weight: torch.Tensor, bias: torch.Tensor, hidden_rows: torch.Tensor) -> torch.Tensor:
    r"""Fact 2 for the gamma/beta layer: :math:`[\gamma_c; \beta_c] = b + \sum_t W[:, :, t]\, h_c`.

    weight: (2C, hidden, k, k); hidden_rows: (num_classes, hidden); returns (num_classes, 2C)."""
    return bias + hidden_rows @ weight.sum((2, 3)).t()


def distinct_windows(labels: torch.Tensor, edges: Optional[torch.Tensor], windows: torch.Tensor, kernel_size: int,
                     num_classes: int):
    """The given k x k windows, each distinct one once: class ids (U, k*k) (``num_classes`` outside the image),
    edge values (U, k*k) or None, and for each window the number of its distinct one (P,)."""
    ids = padded_windows(labels, windows, kernel_size, fill=num_classes)  # (P, k*k)
    if edges is None:
        distinct, which = torch.unique(ids, dim=0, return_inverse=True)
        return distinct, None, which
    values = padded_windows(edges, windows, kernel_size, fill=0.0)  # (P, k*k)
    distinct, which = torch.unique(torch.cat([ids.to(values.dtype), values], 1), dim=0, return_inverse=True)
    taps = kernel_size * kernel_size
    return distinct[:, :taps].long(), distinct[:, taps:], which


def hidden_table(shared: nn.Conv2d, labels: torch.Tensor, edges: Optional[torch.Tensor], mixed: torch.Tensor):
    r"""The rows of SPADE's hidden map :math:`h = \text{ReLU}(W_s * m + b_s)` and each pixel's row.

    Rows: 0 is zero (outside the image), 1 + c is :math:`h_c` (fact 2), 1 + num_classes + u is the u-th
    distinct window of the mixed pixels, where fact 1 gives

    .. math:: h = \text{ReLU}\Big(b_s + \sum_t W_s[:, c(p+t), t] + \sum_t W_s[:, \text{edge}, t]\, e(p+t)\Big)

    Returns rows (1 + num_classes + U, hidden) and index (N, H, W) long."""
    weight, bias = shared.weight, shared.bias  # (hidden, label_channels, k, k), (hidden,)
    hidden, label_channels, k, _ = weight.shape
    num_classes = label_channels - (edges is not None)
    pixels = mixed.nonzero(as_tuple=True)
    window_ids, window_edges, which = distinct_windows(labels, edges, window_index(pixels, labels.shape, k), k,
                                                       num_classes)
    # row t * (num_classes + 1) + c of ``columns`` is W_s[:, c, t]; c = num_classes (outside the image) is zero
    columns = F.pad(weight[:, :num_classes].permute(2, 3, 1, 0), (0, 0, 0, 1)).reshape(-1, hidden)
    taps = torch.arange(k * k, device=labels.device) * (num_classes + 1)  # (k*k,)
    pre = bias + F.embedding_bag(window_ids + taps, columns, mode="sum")  # (U, hidden)
    if edges is not None:
        pre = pre + window_edges @ weight[:, num_classes].reshape(hidden, k * k).t()
    rows = torch.cat([pre.new_zeros(1, hidden), class_hidden(weight, bias, num_classes), F.relu(pre)])
    index = labels + 1  # (N, H, W)
    index[pixels] = 1 + num_classes + which
    return rows, index


def gamma_beta_table(weight: torch.Tensor, bias: torch.Tensor, hidden_rows: torch.Tensor,
                     hidden_index: torch.Tensor, labels: torch.Tensor, band: torch.Tensor, num_classes: int):
    r"""The rows of :math:`[\gamma; \beta] = W * h + b` and each pixel's row.

    Rows: c is :math:`[\gamma_c; \beta_c]` (fact 2), num_classes + i is the i-th band pixel p, where

    .. math:: [\gamma; \beta](p) = b + \sum_t W[:, :, t]\, h(p + t), \qquad h(p + t) = \text{rows}[j(p + t)]

    so after one matmul ``per_tap[j, t] = W[:, :, t] @ rows[j]`` it is a sum of k*k looked-up rows.
    weight: (2C, hidden, k, k). Returns rows (num_classes + B, 2C) and index (N, H, W) long."""
    out, hidden, k, _ = weight.shape
    per_tap = (hidden_rows @ weight.permute(1, 2, 3, 0).reshape(hidden, k * k * out)).view(-1, out)  # (J*k*k, 2C)
    pixels = band.nonzero(as_tuple=True)
    # the hidden row at each tap of each band pixel's window; row 0 (zeros) outside the image
    rows_in_window = padded_windows(hidden_index, window_index(pixels, band.shape, k), k, fill=0)  # (B, k*k)
    taps = torch.arange(k * k, device=labels.device)
    band_rows = bias + F.embedding_bag(rows_in_window * (k * k) + taps, per_tap, mode="sum")  # (B, 2C)
    class_rows = class_gamma_beta(weight, bias, hidden_rows[1:1 + num_classes])  # (num_classes, 2C)
    index = labels.clone()  # (N, H, W)
    index[pixels] = num_classes + torch.arange(band_rows.shape[0], device=labels.device)
    return torch.cat([class_rows, band_rows]), index


def lookup(table: torch.Tensor, index: torch.Tensor, memory_format=torch.contiguous_format) -> torch.Tensor:
    """(R, C) rows, (N, H, W) row numbers -> (N, C, H, W) map with ``out[n, :, y, x] = table[index[n, y, x]]``.

    Stored like x (``memory_format``), so that the modulation reads both in the same order: channel by channel
    (a ``gather`` along a (C, R) copy of the table) or, for channels_last, pixel by pixel (``embedding``).
    CLADE's modulation is exactly this lookup."""
    if memory_format == torch.channels_last:
        return F.embedding(index, table).permute(0, 3, 1, 2)  # (N, H, W, C) in memory
    n, height, width = index.shape
    channels = table.shape[1]
    flat = index.reshape(1, -1).expand(channels, -1)  # (C, N*H*W), no copy
    return torch.gather(table.t().contiguous(), 1, flat).view(channels, n, height, width).permute(1, 0, 2, 3)


def lookup_modulation(shared: nn.Conv2d, gamma: nn.Conv2d, beta: nn.Conv2d, labels: torch.Tensor,
                      edges: Optional[torch.Tensor], regions: Regions, memory_format=torch.contiguous_format):
    r"""SPADE's scale :math:`1 + \gamma` and shift :math:`\beta`, each (N, C, H, W), by the three tables above.

    Equal to the dense path (up to rounding) for the same weights. labels: (N, H, W) ids at x's size; edges:
    (N, H, W) or None, the last channel of ``shared``'s input."""
    if edges is not None:
        edges = edges.to(shared.weight.dtype)
    hidden_rows, hidden_index = hidden_table(shared, labels, edges, regions.mixed)
    weight = torch.cat([gamma.weight, beta.weight])  # (2C, hidden, k, k): both convolutions at once
    bias = torch.cat([gamma.bias, beta.bias])  # (2C,)
    num_classes = shared.in_channels - (edges is not None)
    rows, index = gamma_beta_table(weight, bias, hidden_rows, hidden_index, labels, regions.band, num_classes)
    gamma_rows, beta_rows = rows.split(gamma.out_channels, dim=1)  # (num_classes + B, C) each
    return lookup(1 + gamma_rows, index, memory_format), lookup(beta_rows, index, memory_format)
