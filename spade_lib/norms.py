"""Normalization layers, from BatchNorm to SPADE (lessons 01-03).

STUB written by the lead so that other modules can build on the SPADE interface; the norms work fills in the
rest (BatchNorm from the formula, conditional norms, CLADE, the fast SPADE path) without changing this API.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .labels import LabelMap, check_labels, one_hot


class SPADE(nn.Module):
    r"""Spatially-adaptive normalization (Park et al. 2019, Eq. 1):

    .. math:: \text{out} = \text{norm}(x) \cdot (1 + \gamma(m)) + \beta(m),\quad
              \gamma, \beta = \text{conv}(\text{ReLU}(\text{conv}(m)))

    ``segmap`` is either a float (N, label_channels, H, W) one-hot map (+ extra channels), a long (N, H, W)
    map of class ids in [0, label_channels), or a ``LabelMap`` (ids + instance edges). It is resized (nearest)
    to x's size from the full-resolution map.
    """

    def __init__(self, channels: int, label_channels: int, hidden: int = 128, kernel_size: int = 3,
                 norm: str = "batch"):
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ValueError(f"norm must be 'batch' or 'instance', got {norm!r}")
        self.label_channels = label_channels
        self.param_free_norm = (nn.BatchNorm2d(channels, affine=False) if norm == "batch"
                                else nn.InstanceNorm2d(channels, affine=False))
        pad = kernel_size // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_channels, hidden, kernel_size, padding=pad), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, kernel_size, padding=pad)
        self.mlp_beta = nn.Conv2d(hidden, channels, kernel_size, padding=pad)

    def dense_segmap(self, segmap, size) -> torch.Tensor:
        if isinstance(segmap, LabelMap):
            return segmap.resize(size).one_hot()
        if not segmap.is_floating_point():
            return one_hot(F.interpolate(segmap[:, None].float(), size=size, mode="nearest")[:, 0].long(),
                           self.label_channels)
        return F.interpolate(segmap, size=size, mode="nearest")

    def forward(self, x: torch.Tensor, segmap) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        m = self.dense_segmap(segmap, x.shape[-2:])
        hidden = self.mlp_shared(m)
        return normalized * (1 + self.mlp_gamma(hidden)) + self.mlp_beta(hidden)
